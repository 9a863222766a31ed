#!/usr/bin/env bash
# Command-line test of `speakernet score` against direct numpy references (Debian python3,
# float64), on synthetic embeddings with a large common offset (|m| ~ 17, the case of issue 15):
#   * submean + AS-norm / S-norm, default cohort form (m subtracted from every cohort utterance
#     before it is normalised and averaged) and --cohort-mean speaker-net (m subtracted from the
#     speaker averages of unit vectors, speaker-net's score.py): scores to 1e-5 of max(1, |s|)
#     (speaker-net's ill-conditioned scores: 5e-3);
#   * EER: AS-norm does not degrade submean cosine by default, speaker-net's form does;
#   * --enroll-spk2utt (multi-utterance enrolment models), cosine and AS-norm: scores to 1e-5;
#   * the errors of a bad enrolment list.
#
#   bash tests/score_cli_test.sh SPEAKERNET_BINARY [SOURCE_DIR]     (exit 77 = skipped)
set -uo pipefail
export LC_ALL=C

source "$(dirname "${BASH_SOURCE[0]}")/lib/cli_test_lib.sh"
cli_test_init score_cli "$@"
cli_test_require_python numpy

# e = 3 + c_speaker + noise (32-d). train: the cohort and submean set; test: held-out speakers,
# all utterance pairs as trials; models: the first 3 utterances of each test speaker, scored
# against the other 3 of every speaker. ref.py computes the references from the same files.
"$py" - "$work" <<'PY' || fail "making the synthetic data"
import os, sys
import numpy as np
work = sys.argv[1]
rng = np.random.default_rng(15)
dim = 32
def make(name, speakers, utts):
    d = os.path.join(work, name); os.makedirs(d)
    keys, embs, u2s = [], [], []
    for s in range(speakers):
        c = rng.normal(size=dim)
        for u in range(utts):
            keys.append("%s-s%02d-u%d" % (name, s, u))
            embs.append(3.0 + c + rng.normal(size=dim))
            u2s.append((keys[-1], "%s-s%02d" % (name, s)))
    np.save(os.path.join(d, "embeddings.npy"), np.array(embs, dtype=np.float32))
    open(os.path.join(d, "utts.txt"), "w").write("".join(k + "\n" for k in keys))
    open(os.path.join(d, "utt2spk"), "w").write("".join("%s %s\n" % p for p in u2s))
    return keys, dict(u2s)
make("train", 60, 4)
keys, spk = make("test", 24, 6)
with open(os.path.join(work, "trials"), "w") as f:
    for a in range(len(keys)):
        for b in range(a + 1, len(keys)):
            f.write("%s %s %s\n" % (keys[a], keys[b], "target" if spk[keys[a]] == spk[keys[b]] else "nontarget"))
speakers = sorted(set(spk.values()))
with open(os.path.join(work, "enroll_spk2utt"), "w") as f:
    for s in speakers:
        f.write("model-%s %s\n" % (s, " ".join("%s-u%d" % (s, u) for u in range(3))))
with open(os.path.join(work, "model_trials"), "w") as f:
    for s in speakers:
        for k in keys:
            if int(k[-1]) >= 3:
                f.write("model-%s %s %s\n" % (s, k, "target" if spk[k] == s else "nontarget"))
PY

cat >"$work/ref.py" <<'PY'
# ref.py WORK FORM METHOD TOP_N TRIALS [ENROLL_SPK2UTT] > scores: the definitions, in float64.
import sys
import numpy as np
work, form, method, top_n, trials = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
def load(name):
    e = np.load("%s/%s/embeddings.npy" % (work, name)).astype(np.float64)
    keys = [l.split()[0] for l in open("%s/%s/utts.txt" % (work, name))]
    return dict(zip(keys, e))
def unit(v): return v / np.linalg.norm(v, axis=-1, keepdims=True)
train, test = load("train"), load("test")
m = np.mean(list(train.values()), axis=0)           # --submean-emb train
x = {k: v - m for k, v in test.items()}              # every scored embedding, centred
if len(sys.argv) > 6:                                # models: mean of unit(e - m)
    for line in open(sys.argv[6]):
        f = line.split()
        x[f[0]] = np.mean([unit(test[u] - m) for u in f[1:]], axis=0)
by_spk = {}
for line in open("%s/train/utt2spk" % work):
    u, s = line.split()
    by_spk.setdefault(s, []).append(train[u])
if form == "per-utterance":
    cohort = np.array([np.mean([unit(e - m) for e in es], axis=0) for s, es in sorted(by_spk.items())])
else:  # speaker-net: spk_xvector = mean of unit(e); mean_emb subtracted from it
    cohort = np.array([np.mean([unit(e) for e in es], axis=0) for s, es in sorted(by_spk.items())]) - m
cu = unit(cohort)
def stats(v):
    c = np.sort(cu @ unit(v))[::-1]
    c = c if method == "snorm" else c[:top_n]
    return c.mean(), c.std()
for line in open(trials):
    e, t = line.split()[:2]
    s = float(unit(x[e]) @ unit(x[t]))
    if method != "cosine":
        (me, se), (mt, st) = stats(x[e]), stats(x[t])
        s = 0.5 * ((s - me) / se + (s - mt) / st)
    print(e, t, "%.10f" % s)
PY

# max |a - b| (REL=1: divided by max(1, |b|)) over two score files of the same trials, after
# checking the pairs agree.
max_diff() {
  paste "$1" "$2" | awk -v rel="$3" '$1 != $4 || $2 != $5 { print "pair mismatch at line " NR; exit 1 }
    { d = $3 - $6; if (d < 0) d = -d; b = $6 < 0 ? -$6 : $6; if (rel && b > 1) d /= b
      if (d > m) m = d } END { printf "%.3g\n", m }'
}
# same_scores NAME GOT REF TOL [REL]
same_scores() {
  local d
  d=$(max_diff "$2" "$3" "${5:-0}") || fail "$1: $d"
  echo "$1: max |speakernet - numpy|${5:+ (relative)} = $d"
  awk -v d="$d" -v t="$4" 'BEGIN { exit !(d <= t) }' || fail "$1: differs from numpy by $d"
  pass
}
eer_of() {  # eer_of STAGE: the EER the last run logged for that stage
  sed -n "s/.*\] $1: EER \([0-9.]*\)%.*/\1/p" "$work/last.err" | tail -n 1
}

common=(--emb "$work/test/embeddings.npy" --submean-emb "$work/train/embeddings.npy"
  --cohort-emb "$work/train/embeddings.npy" --cohort-data "$work/train" --precision 9)

# --- both cohort forms, AS-norm and S-norm, against numpy --------------------------------------
for form in per-utterance speaker-net; do
  for method in asnorm snorm; do
    run "score $method ($form)" "$bin" score --trials "$work/trials" "${common[@]}" \
      --score-norm "$method" --top-n 10 --cohort-mean "$form" --results "$work/r.txt" \
      --out "$work/$method-$form.score"
    if [[ $method == asnorm ]]; then
      eval "eer_cos_${form//-/_}=$(eer_of submean) eer_as_${form//-/_}=$(eer_of asnorm)"
    fi
    "$py" "$work/ref.py" "$work" "$form" "$method" 10 "$work/trials" >"$work/ref.score" ||
      fail "numpy reference"
    # speaker-net's collapsed cohort gives sigma ~ 1e-4 and scores in the hundreds: float32
    # cosines times 1/sigma (and, for S-norm, the cancelling E[x^2] - E[x]^2) leave ~1e-3 of
    # the score (score_norm_test checks that form in double precision to 1e-9).
    same_scores "$method, $form" "$work/$method-$form.score" "$work/ref.score" \
      "$([[ $form == per-utterance ]] && echo 1e-5 || echo 5e-3)" 1
  done
done
echo "EER submean cosine $eer_cos_per_utterance %, AS-norm $eer_as_per_utterance % (per-utterance)," \
  "$eer_as_speaker_net % (speaker-net)"
equal "$eer_cos_speaker_net" "$eer_cos_per_utterance" "the cosine stage does not depend on the form"
awk -v a="$eer_as_per_utterance" -v c="$eer_cos_per_utterance" 'BEGIN { exit !(a <= c + 1) }' ||
  fail "AS-norm (per-utterance) EER $eer_as_per_utterance % degrades submean cosine's $eer_cos_per_utterance %"
pass
awk -v a="$eer_as_speaker_net" -v c="$eer_cos_per_utterance" 'BEGIN { exit !(a >= c + 3) }' ||
  fail "speaker-net's AS-norm EER $eer_as_speaker_net % should be worse than $eer_cos_per_utterance %"
pass
# Without a mean the two forms give the same scores.
for form in per-utterance speaker-net; do
  run "asnorm without a mean ($form)" "$bin" score --trials "$work/trials" \
    --emb "$work/test/embeddings.npy" --cohort-emb "$work/train/embeddings.npy" \
    --cohort-data "$work/train" --score-norm asnorm --top-n 10 --cohort-mean "$form" \
    --out "$work/nomean-$form.score"
done
cmp -s "$work/nomean-per-utterance.score" "$work/nomean-speaker-net.score" ||
  fail "without a mean the cohort forms differ"
pass

# --- multi-utterance enrolment -----------------------------------------------------------------
run "score models: submean cosine" "$bin" score --trials "$work/model_trials" \
  --emb "$work/test/embeddings.npy" --submean-emb "$work/train/embeddings.npy" \
  --enroll-spk2utt "$work/enroll_spk2utt" --precision 9 --out "$work/models_cos.score"
"$py" "$work/ref.py" "$work" per-utterance cosine 0 "$work/model_trials" \
  "$work/enroll_spk2utt" >"$work/ref.score" || fail "numpy reference"
same_scores "models, cosine" "$work/models_cos.score" "$work/ref.score" 1e-6
run "score models: submean asnorm" "$bin" score --trials "$work/model_trials" "${common[@]}" \
  --enroll-spk2utt "$work/enroll_spk2utt" --score-norm asnorm --top-n 10 \
  --out "$work/models_as.score"
"$py" "$work/ref.py" "$work" per-utterance asnorm 10 "$work/model_trials" \
  "$work/enroll_spk2utt" >"$work/ref.score" || fail "numpy reference"
same_scores "models, asnorm" "$work/models_as.score" "$work/ref.score" 1e-5 1

# --- errors ------------------------------------------------------------------------------------
echo "test-s00-u0 test-s01-u1" >"$work/bad_spk2utt"
expect_error "model id equal to an utterance id" "model 'test-s00-u0' is also an utterance id" \
  "$bin" score --trials "$work/model_trials" --emb "$work/test/embeddings.npy" \
  --enroll-spk2utt "$work/bad_spk2utt" --out "$work/x.score"
echo "model-x test-s00-u0 nope" >"$work/bad_spk2utt"
expect_error "enrolment utterance without an embedding" "no embedding for utterance 'nope'" \
  "$bin" score --trials "$work/model_trials" --emb "$work/test/embeddings.npy" \
  --enroll-spk2utt "$work/bad_spk2utt" --out "$work/x.score"
expect_failure "unknown cohort form" "--cohort-mean: raw not in" "$bin" score --trials "$work/trials" \
  "${common[@]}" --score-norm asnorm --top-n 10 --cohort-mean raw --out "$work/x.score"
[[ ! -e $work/x.score ]] || fail "score wrote output after an error"

echo "score_cli_test: $checks checks passed"
