#!/usr/bin/env bash
# Command-line test of the scoring back end on synthetic embeddings (numpy, Debian python3):
# make-calib-trials -> score (cosine, submean, AS-norm, QMF with duration + imposter + embedding
# quality, stage files, results table) -> calibrate/fuse -> eval (several score files, several
# priors, results table), plus the errors a user meets first.
#
#   bash tests/backend_cli_test.sh SPEAKERNET_BINARY [SOURCE_DIR]     (exit 77 = skipped)
set -uo pipefail
export LC_ALL=C

source "$(dirname "${BASH_SOURCE[0]}")/lib/cli_test_lib.sh"
cli_test_init backend_cli "$@"
cli_test_require_python numpy

# Synthetic sets: embedding = speaker centroid + offset + noise whose scale grows as the
# utterance gets shorter, so short trials score lower and QMF on duration has work to do.
"$py" - "$work" <<'PY' || fail "making the synthetic data"
import os, sys
import numpy as np
work = sys.argv[1]
rng = np.random.default_rng(3)
dim = 32
def make(name, speakers, utts, dur_lo, dur_hi):
    d = os.path.join(work, name); os.makedirs(d)
    keys, embs, u2s, u2d = [], [], [], []
    for s in range(speakers):
        c = rng.normal(size=dim)
        for u in range(utts):
            key = "%s-s%03d-u%02d" % (name, s, u)
            dur = rng.uniform(dur_lo, dur_hi)
            e = 2.0 + c + rng.normal(size=dim) * 3.0 / np.sqrt(dur)
            keys.append(key); embs.append(e); u2s.append((key, "%s-s%03d" % (name, s)))
            u2d.append((key, dur))
    np.save(os.path.join(d, "embeddings.npy"), np.array(embs, dtype=np.float32))
    open(os.path.join(d, "utts.txt"), "w").write("".join(k + "\n" for k in keys))
    open(os.path.join(d, "utt2spk"), "w").write("".join("%s %s\n" % p for p in u2s))
    open(os.path.join(d, "utt2dur"), "w").write("".join("%s %.3f\n" % p for p in u2d))
    open(os.path.join(d, "wav.scp"), "w").write("".join("%s sox %s.wav -t wav - |\n" % (k, k) for k in keys))
    return keys, u2s
make("train", 120, 12, 1.0, 12.0)
keys, u2s = make("test", 50, 8, 1.5, 12.0)
spk = dict(u2s)
trials = []
for i in range(3000):
    a, b = rng.choice(len(keys), 2, replace=False)
    if i % 2 == 0:  # a target: another utterance of a's speaker
        same = [k for k in keys if spk[k] == spk[keys[a]] and k != keys[a]]
        b = keys.index(same[rng.integers(len(same))])
    trials.append("%s %s %s\n" % (keys[a], keys[b], "target" if spk[keys[a]] == spk[keys[b]] else "nontarget"))
open(os.path.join(work, "test", "trials"), "w").write("".join(trials))
PY
train=$work/train
test=$work/test
trials=$test/trials

# --- make-calib-trials -----------------------------------------------------------------------
run "make-calib-trials" "$bin" make-calib-trials --data-dir "$train" --out-dir "$work/cal" \
  --per-condition 100
equal "$(lines "$work/cal/cali_trials")" 600 "3 conditions x (100 target + 100 non-target)"
equal "$(grep -c ' target$' "$work/cal/cali_trials")" 300 "target calibration trials"
equal "$(awk '{print $1; print $2}' "$work/cal/cali_trials" | sort -u | wc -l | tr -d ' ')" \
  "$(lines "$work/cal/utt2spk")" "the calibration dir lists exactly the utterances used"
equal "$(lines "$work/cal/wav.scp")" "$(lines "$work/cal/utt2spk")" "wav.scp filtered"
contains "$work/cal/wav.scp" "sox " "wav.scp lines kept verbatim"
# Every trial pairs utterances of >= 2 s.
equal "$(awk 'NR == FNR { d[$1] = $2; next } d[$1] < 2 || d[$2] < 2' "$train/utt2dur" \
  "$work/cal/cali_trials")" "" "calibration utterances are >= 2 s"

# --- score: the whole chain --------------------------------------------------------------------
run "score: submean + asnorm + qmf" "$bin" score --trials "$trials" --emb "$test/embeddings.npy" \
  --submean-emb "$train/embeddings.npy" --score-norm asnorm --top-n 20 \
  --cohort-emb "$train/embeddings.npy" --cohort-data "$train" \
  --calib-trials "$work/cal/cali_trials" --calib-emb "$train/embeddings.npy" \
  --quality-measures "duration imposter embedding" --utt2dur "$test/utt2dur" \
  --calib-utt2dur "$train/utt2dur" --stage-dir "$work/stages" --results "$work/full.results" \
  --out "$work/final.score"
equal "$(lines "$work/final.score")" "$(lines "$trials")" "final score lines"
for f in cosine_trials cosine_trials_submean cosine_trials_submean_asnorm_top20 \
  cosine_trials_submean_asnorm_top20_qmf; do
  [[ -s $work/stages/$f.score ]] || fail "stage file $f.score missing"
done
cmp -s "$work/final.score" "$work/stages/cosine_trials_submean_asnorm_top20_qmf.score" ||
  fail "--out is not the last stage"
equal "$(awk '{print NF}' "$work/stages/trials.qual" | sort -u)" 8 "quality file: 2 ids + 6 values"
for stage in cosine submean asnorm qmf; do contains "$work/full.results" "$stage " "results row"; done
contains "$work/last.out" "EER%   │ minDCF(0.01)" "results table printed"
contains "$work/last.err" "duration_short" "the calibrator is logged"

# Without mean subtraction the cosine stage equals plain `score`.
run "score: cosine" "$bin" score --trials "$trials" --emb "$test/embeddings.npy" \
  --out "$work/cosine.score"
run "score: asnorm, stages" "$bin" score --trials "$trials" --emb "$test/embeddings.npy" \
  --score-norm asnorm --top-n 20 --cohort-emb "$train/embeddings.npy" --cohort-data "$train" \
  --stage-dir "$work/stages2" --out "$work/asnorm.score"
cmp -s "$work/cosine.score" "$work/stages2/cosine_trials.score" || fail "cosine stage differs"

# QMF (duration) must beat a duration-blind linear calibration of the same scores on Cllr.
run "score: linear calibration" "$bin" score --trials "$trials" --emb "$test/embeddings.npy" \
  --calib-trials "$work/cal/cali_trials" --calib-emb "$train/embeddings.npy" \
  --out "$work/linear.score"
run "score: qmf duration" "$bin" score --trials "$trials" --emb "$test/embeddings.npy" \
  --calib-trials "$work/cal/cali_trials" --calib-emb "$train/embeddings.npy" \
  --quality-measures duration --utt2dur "$test/utt2dur" --calib-utt2dur "$train/utt2dur" \
  --calib-line-search --stage-dir "$work/stages3" --out "$work/qmf.score"
run "eval --llr linear" "$bin" eval --trials "$trials" --scores "$work/linear.score" --llr
cllr_lin=$(awk '/Cllr/ {for (i = 1; i < NF; ++i) if ($i == "Cllr") print $(i + 1)}' "$work/last.out")
run "eval --llr qmf" "$bin" eval --trials "$trials" --scores "$work/qmf.score" --llr
cllr_qmf=$(awk '/Cllr/ {for (i = 1; i < NF; ++i) if ($i == "Cllr") print $(i + 1)}' "$work/last.out")
echo "Cllr linear $cllr_lin, QMF(duration) $cllr_qmf"
awk -v a="$cllr_qmf" -v b="$cllr_lin" 'BEGIN { exit !(a < b - 0.01) }' ||
  fail "QMF Cllr $cllr_qmf is not below the linear calibration's $cllr_lin"

# --- calibrate / fuse --------------------------------------------------------------------------
run "score calibration trials (cosine)" "$bin" score --trials "$work/cal/cali_trials" \
  --emb "$train/embeddings.npy" --stage-dir "$work/cal_stages" --out "$work/cal_cos.score"
run "score calibration trials (asnorm)" "$bin" score --trials "$work/cal/cali_trials" \
  --emb "$train/embeddings.npy" --score-norm asnorm --top-n 20 \
  --cohort-emb "$train/embeddings.npy" --cohort-data "$train" --out "$work/cal_as.score"
awk 'NR == FNR { d[$1] = $2; next } { a = d[$1]; b = d[$2]; print $1, $2, (a < b ? a : b), (a < b ? b : a) }' \
  "$train/utt2dur" "$work/cal/cali_trials" >"$work/cal.qual"
run "fuse two systems with duration quality" "$bin" fuse \
  --calib-trials "$work/cal/cali_trials" --calib-scores "$work/cal_cos.score" "$work/cal_as.score" \
  --calib-quality "$work/cal.qual" --trials "$trials" \
  --scores "$work/cosine.score" "$work/asnorm.score" --quality "$work/stages3/trials.qual" \
  --out "$work/fused.score"
equal "$(lines "$work/fused.score")" "$(lines "$trials")" "fused score lines"
contains "$work/last.err" "score2" "two system weights"
# calibrate with the cosine system and the same duration features reproduces score's QMF stage
# (same model fitted, to convergence, on the same numbers written with 5 decimals).
run "calibrate one system" "$bin" calibrate --line-search --calib-trials "$work/cal/cali_trials" \
  --calib-scores "$work/cal_cos.score" --calib-quality "$work/cal.qual" --trials "$trials" \
  --scores "$work/cosine.score" --quality "$work/stages3/trials.qual" --out "$work/recal.score"
paste "$work/recal.score" "$work/qmf.score" |
  awk '{ d = $3 - $6; if (d < 0) d = -d; if (d > m) m = d } END { exit !(m < 2e-3) }' ||
  fail "calibrate on the score files differs from score --calib-trials"
pass

# --- eval: several score files and priors, results table -------------------------------------
run "eval: table" "$bin" eval --trials "$trials" --scores "$work/cosine.score" \
  "$work/asnorm.score" "$work/qmf.score" --names cosine asnorm qmf --p-target 0.01 0.001 0.05 \
  --results "$work/eval.results"
contains "$work/eval.results" "EER%   │ minDCF(0.01) │ minDCF(0.001) │ minDCF(0.05)" "units"
for stage in cosine asnorm qmf; do contains "$work/eval.results" "$stage " "eval row"; done
contains "$work/last.out" "minDCF(p=0.001)" "second prior printed"
run "eval: one file (old form)" "$bin" eval --trials "$trials" --scores "$work/cosine.score"
contains "$work/last.out" "trials 3000 " "eval counts"

# --- errors ----------------------------------------------------------------------------------
expect_error "imposter without a cohort" "needs a cohort" "$bin" score --trials "$trials" \
  --emb "$test/embeddings.npy" --calib-trials "$work/cal/cali_trials" \
  --quality-measures imposter --out "$work/x.score"
expect_error "unknown quality measure" "'snr'" "$bin" score --trials "$trials" \
  --emb "$test/embeddings.npy" --calib-trials "$work/cal/cali_trials" \
  --quality-measures "duration snr" --utt2dur "$test/utt2dur" --out "$work/x.score"
awk '{print $1, $2}' "$work/cal/cali_trials" >"$work/unlabelled"
expect_error "unlabelled calibration trials" "has no target/nontarget label" "$bin" score \
  --trials "$trials" --emb "$test/embeddings.npy" --calib-trials "$work/unlabelled" \
  --calib-emb "$train/embeddings.npy" --out "$work/x.score"
head -n 100 "$test/utt2dur" >"$work/short_utt2dur"
expect_error "missing duration" "no duration for" "$bin" score --trials "$trials" \
  --emb "$test/embeddings.npy" --calib-trials "$work/cal/cali_trials" \
  --calib-emb "$train/embeddings.npy" --quality-measures duration --utt2dur "$work/short_utt2dur" \
  --calib-utt2dur "$train/utt2dur" --out "$work/x.score"
[[ ! -e $work/x.score ]] || fail "score wrote output after an error"
expect_error "fuse: system counts" "2 --scores for 1 --calib-scores" "$bin" fuse \
  --calib-trials "$work/cal/cali_trials" --calib-scores "$work/cal_cos.score" --trials "$trials" \
  --scores "$work/cosine.score" "$work/asnorm.score" --out "$work/x.score"
expect_error "eval: trial lists vs score files" "2 trial lists for 3 score files" "$bin" eval \
  --trials "$trials" "$trials" --scores "$work/cosine.score" "$work/asnorm.score" \
  "$work/qmf.score"

echo "backend_cli_test: $checks checks passed"
