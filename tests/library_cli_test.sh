#!/usr/bin/env bash
# Command-line test of the commands built on the public API, on a tiny tone corpus and model:
#   * `embed` (printed, .npy and .ark) gives the embeddings `extract` gives for the same wavs;
#   * `verify`'s score is the cosine of the mean of the enrolment embeddings printed by `embed`
#     with the test embedding (computed in numpy), and accept/reject follows --threshold;
#   * `package` writes a model file that gives the experiment's embeddings (embed, extract --exp,
#     bit for bit), Python's torch.load reads its weights, and its calibrated threshold (stored
#     in speakernet/meta.yaml, read back by verify) sits at the equal error rate of the
#     calibration trials (|FNR - FPR| within one trial of each kind, computed in numpy);
#   * bad input gives an "error:" line naming the culprit.
#
#   bash tests/library_cli_test.sh SPEAKERNET_BINARY [SOURCE_DIR]
# Needs /usr/bin/python3 with numpy and torch; exit 77 (skip) without.
set -uo pipefail
export LC_ALL=C

source "$(dirname "${BASH_SOURCE[0]}")/lib/cli_test_lib.sh"
cli_test_init library_cli "$@"
cli_test_require_python numpy torch

data=$work/data
cli_test_tone_corpus "$data"
cli_test_tiny_train "$data" --trainer.epochs=1
exp=$work/exp
run "train" "$bin" train "${tiny[@]}" --exp "$exp"
mapfile -t wavs < <(awk '{print $2}' "$data/wav.scp")

# --- embed == extract ------------------------------------------------------------------------
run "extract" "$bin" extract --exp "$exp" --data "$data" --out "$work/extract" --npy --threads 1
run "embed to npy" "$bin" embed --model "$exp" "${wavs[@]}" --out "$work/embed.npy" --threads 1
run "embed equals extract" "$py" "$src/tests/lib/close_embeddings.py" \
  "$work/extract/embeddings.npy" "$work/embed.npy" 1e-5 1e-7 "embed - extract"
cmp -s <(printf '%s\n' "${wavs[@]}") "$work/embed.npy.txt" || fail "embed.npy.txt lists other files"
pass
run "embed to ark" "$bin" embed --model "$exp" "${wavs[0]}" "${wavs[5]}" --out "$work/two.ark"
equal "$(awk '{print $1}' "$work/two.scp" | tr '\n' ' ')" "${wavs[0]} ${wavs[5]} " "ark keys"

# --- verify == cosine of embed's vectors -------------------------------------------------------
run "embed printed" "$bin" embed --model "$exp" "${wavs[0]}" "${wavs[1]}" "${wavs[4]}" --threads 1
cp "$work/last.out" "$work/printed.txt"
equal "$(lines "$work/printed.txt")" 3 "printed lines"
run "printed equals npy" "$py" - "$work/printed.txt" "$work/embed.npy" <<'PY'
import sys, numpy as np
rows = [np.array(l.split("[")[1].split("]")[0].split(), dtype=np.float32)
        for l in open(sys.argv[1])]
npy = np.load(sys.argv[2])
for r, i in zip(rows, [0, 1, 4]):
    assert np.abs(r - npy[i]).max() <= 1e-5 * max(1, np.abs(npy[i]).max()), i
PY
run "verify, 2 enrolment files" "$bin" verify --model "$exp" "${wavs[0]}" "${wavs[1]}" \
  "${wavs[4]}" --threshold 0.5 --threads 1
cp "$work/last.out" "$work/verify.txt"
run "verify score == cosine(mean(e1, e2), e3)" "$py" - "$work/printed.txt" "$work/verify.txt" <<'PY'
import sys, numpy as np
e = [np.array(l.split("[")[1].split("]")[0].split(), dtype=np.float64) for l in open(sys.argv[1])]
enrol, test = (e[0] + e[1]) / 2, e[2]
ref = enrol @ test / np.linalg.norm(enrol) / np.linalg.norm(test)
f = open(sys.argv[2]).read().split()
assert f[0] == "score" and f[2] == "threshold" and f[3] == "0.5", f
score = float(f[1])
assert abs(score - ref) < 1e-5, (score, ref)
assert f[4] == ("accept" if score >= 0.5 else "reject"), f
PY
score=$(awk '{print $2}' "$work/verify.txt")
run "verify, threshold just above the score" "$bin" verify --model "$exp" "${wavs[0]}" \
  "${wavs[1]}" "${wavs[4]}" --threshold "$("$py" -c "print($score + 1e-4)")"
contains "$work/last.out" " reject" "reject above the score"
run "verify, threshold just below the score" "$bin" verify --model "$exp" "${wavs[0]}" \
  "${wavs[1]}" "${wavs[4]}" --threshold "$("$py" -c "print($score - 1e-4)")"
contains "$work/last.out" " accept" "accept below the score"

# --- package ---------------------------------------------------------------------------------
# Calibration trials: every pair of utterances, labelled by speaker.
awk '{print $1, $2}' "$data/utt2spk" >"$work/u2s"
awk 'NR==FNR {u[NR]=$1; s[NR]=$2; n=NR; next} END {for (i=1;i<=n;i++) for (j=i+1;j<=n;j++)
  print (s[i]==s[j] ? "target" : "nontarget"), u[i], u[j]}' "$work/u2s" "$work/u2s" |
  awk '{print $2, $3, $1}' >"$work/trials"
run "package, calibrated" "$bin" package --exp "$exp" --out "$work/model.snm" \
  --calib-trials "$work/trials" --calib-data "$data"
run "embed with the package" "$bin" embed --model "$work/model.snm" "${wavs[@]}" \
  --out "$work/embed_pkg.npy" --threads 1
cmp "$work/embed.npy" "$work/embed_pkg.npy" || fail "package and experiment embed differently"
pass
run "extract --exp model.snm" "$bin" extract --exp "$work/model.snm" --data "$data" \
  --out "$work/extract_pkg" --npy --threads 1
cmp "$work/extract/embeddings.npy" "$work/extract_pkg/embeddings.npy" ||
  fail "extract from the package differs"
pass
run "verify with the stored threshold" "$bin" verify --model "$work/model.snm" "${wavs[0]}" \
  "${wavs[4]}"
cp "$work/last.out" "$work/verify_pkg.txt"
cat "$work/verify_pkg.txt"
run "threshold at the EER; torch.load reads the weights" "$py" - "$work/model.snm" \
  "$work/embed.npy" "$work/trials" "$work/verify_pkg.txt" "$exp" <<'PY'
import sys, zipfile, glob, numpy as np, torch
pkg, npy, trials, verify, exp = sys.argv[1:]
z = zipfile.ZipFile(pkg)
meta = {n.split("/", 1)[1]: z.read(n).decode() for n in z.namelist() if "/speakernet/" in n}
assert meta["speakernet/format"] == "speakernet-model 1\n", meta.keys()
t = float([l.split(":")[1] for l in meta["speakernet/meta.yaml"].splitlines()
           if l.startswith("threshold")][0])
assert np.float32(float(open(verify).read().split()[3])) == np.float32(t), (open(verify).read(), t)
emb = np.load(npy).astype(np.float64)
emb /= np.linalg.norm(emb, axis=1, keepdims=True)
index = {f"spk{s}-u{u}": 4 * s + u for s in range(3) for u in range(4)}
tar, non = [], []
for l in open(trials):
    a, b, lab = l.split()
    (tar if lab == "target" else non).append(emb[index[a]] @ emb[index[b]])
tar, non = np.array(tar), np.array(non)
fnr, fpr = (tar <= t).mean(), (non > t).mean()
assert abs(fnr - fpr) <= 1 / len(tar) + 1 / len(non), (fnr, fpr, t)
w = torch.load(pkg, weights_only=True)
ck = sorted(glob.glob(f"{exp}/checkpoints/epoch-*/model.pt"))[-1]
ref = {k: v for k, v in torch.load(ck, weights_only=True).items() if not k.startswith("loss.")}
assert list(w) == list(ref) and all(torch.equal(w[k], ref[k]) for k in w)
print(f"threshold {t}: FNR {fnr:.3f} FPR {fpr:.3f}")
PY
cat "$work/last.out"
run "package with a given threshold" "$bin" package --exp "$exp" --out "$work/t.snm" \
  --threshold 0.125
run "verify reads it" "$bin" verify --model "$work/t.snm" "${wavs[0]}" "${wavs[4]}"
equal "$(awk '{print $4}' "$work/last.out")" 0.125 "stored threshold"
run "export --exp model.snm" "$bin" export --exp "$work/t.snm" --out "$work/exported.pt"
run "export --exp EXP" "$bin" export --exp "$exp" --out "$work/exported_exp.pt" --no-classifier
run "exports equal" "$py" "$src/tests/lib/same_state_dicts.py" "$work/exported.pt" \
  "$work/exported_exp.pt"

# --- errors ----------------------------------------------------------------------------------
expect_error "verify without a threshold" "stores no threshold" \
  "$bin" verify --model "$exp" "${wavs[0]}" "${wavs[4]}"
expect_failure "verify with one file" "At least 2 required" "$bin" verify --model "$exp" "${wavs[0]}" \
  --threshold 0.1
expect_error "embed --out .txt" "must end in .ark or .npy" \
  "$bin" embed --model "$exp" "${wavs[0]}" --out "$work/x.txt"
expect_error "embed a missing file" "$work/missing.wav" \
  "$bin" embed --model "$exp" "$work/missing.wav"
expect_error "package a missing experiment" "$work/no_exp" \
  "$bin" package --exp "$work/no_exp" --out "$work/x.snm"
awk '{print $1, $2}' "$work/trials" >"$work/unlabelled"
expect_error "package with unlabelled trials" "labelled" \
  "$bin" package --exp "$exp" --out "$work/x.snm" --calib-data "$data" \
  --calib-trials "$work/unlabelled"
head -c 2000 "$work/model.snm" >"$work/cut.snm"
expect_error "a truncated model file" "$work/cut.snm" \
  "$bin" embed --model "$work/cut.snm" "${wavs[0]}"
expect_error "a checkpoint is no model file" "speakernet/format" \
  "$bin" embed --model "$(ls -d "$exp"/checkpoints/epoch-* | tail -1)/model.pt" "${wavs[0]}"

echo "library_cli_test: all $checks checks passed in $((SECONDS - start)) s"
