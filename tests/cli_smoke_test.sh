#!/usr/bin/env bash
# End-to-end smoke test of the `speakernet` program on a tiny synthetic corpus: every subcommand
# once (model-info, compute-fbank, train, train --resume, extract, score, eval) with a tiny model,
# plus the error behaviour a user meets first (missing data dir, unknown config key, malformed
# trials, corrupt audio): non-zero exit and an "error:" line on stderr naming the culprit.
#
#   bash tests/cli_smoke_test.sh SPEAKERNET_BINARY [SOURCE_DIR]
#
# Registered in ctest as cli_smoke_test. Needs espeak-ng and sox (recipes/demo/make_corpus.sh).
set -uo pipefail
export LC_ALL=C

source "$(dirname "${BASH_SOURCE[0]}")/lib/cli_test_lib.sh"
cli_test_init cli_smoke "$@"
cli_test_require espeak-ng sox  # the corpus

# --- help ------------------------------------------------------------------------------------
run "speakernet --version" "$bin" --version
contains "$work/last.out" "LibTorch " "--version names the LibTorch"
if [[ -n ${SN_EXPECT_JEMALLOC:-} ]]; then  # set by CMake when jemalloc was linked
  contains "$work/last.out" "allocator: jemalloc" "jemalloc is really in the binary"
fi
run "speakernet --help" "$bin" --help
contains "$work/last.out" "compute-fbank" "top-level help"
for cmd in compute-fbank train extract score eval model-info; do
  run "$cmd --help" "$bin" "$cmd" --help
  contains "$work/last.out" "$cmd" "$cmd --help"
  contains "$work/last.out" "--" "$cmd --help lists options"
done
expect_error_nocmd() {
  echo "== error case: no subcommand"
  "$bin" >"$work/last.out" 2>"$work/last.err" && fail "no subcommand: exit status 0"
  pass
}
expect_error_nocmd

# --- corpus ----------------------------------------------------------------------------------
cli_test_demo_corpus "$work/corpus" --train-speakers 6 --test-speakers 4 --utts-per-speaker 4 \
  --seed 3
train=$work/corpus/train
test=$work/corpus/test
equal "$(lines "$train/wav.scp")" 24 "train utterances"
equal "$(lines "$test/wav.scp")" 16 "test utterances"

# One torch thread per process: ctest runs tests side by side (-j 2), and OpenMP threads that
# outnumber the free cores slow small work down many times over.

# --- model-info ------------------------------------------------------------------------------
config=$src/recipes/demo/config.yaml
tiny=('--model.resnet.layers=[1,1,1,1]' '--model.resnet.planes=[4,8,8,8]'
  --model.pooling.num_head=2 --model.emb_dim=16)
run "model-info" "$bin" model-info --config "$config" "${tiny[@]}"
contains "$work/last.out" "embedding dim: 16" "model-info"
contains "$work/last.out" "parameters" "model-info"

# --- compute-fbank ---------------------------------------------------------------------------
run "compute-fbank" "$bin" compute-fbank --data "$train" --out "$work/fbank" --threads 2
equal "$(lines "$work/fbank/feats.scp")" "$(lines "$train/wav.scp")" "feats.scp lines"
equal "$(cut -d' ' -f1 "$work/fbank/feats.scp")" "$(cut -d' ' -f1 "$train/wav.scp")" \
  "feats.scp keys"
[[ -s $work/fbank/feats.ark && -s $work/fbank/fbank.yaml ]] || fail "compute-fbank outputs"
pass

# --- train -----------------------------------------------------------------------------------
exp=$work/exp
overrides=("${tiny[@]}" --trainer.epochs=1 --loader.batch_size=4 --loader.chunk_seconds=1.0
  --margin_schedule.enabled=false --lr_schedule.warmup_epoch=0
  --trainer.report_interval_iters=5 --trainer.ckpt_interval_minutes=0 --runtime.threads=1)
train_args=(--data "$train" --exp "$exp" "${overrides[@]}")
run "train" "$bin" train --config "$config" "${train_args[@]}"
for f in config.yaml speakers.txt train_log.csv train.log checkpoints/epoch-1/model.pt \
  checkpoints/epoch-1/optimizer.pt checkpoints/epoch-1/state.yaml; do
  [[ -s $exp/$f ]] || fail "train: $exp/$f missing"
done
pass
equal "$(lines "$exp/speakers.txt")" 6 "speakers.txt"
contains "$exp/config.yaml" "emb_dim: 16" "resolved config keeps overrides"
[[ $(lines "$exp/train_log.csv") -ge 2 ]] || fail "train_log.csv has no rows"
pass

# --resume of a finished run succeeds and changes nothing.
# train.log is excluded: every run, even one with nothing left to do, appends to it.
snapshot() { (cd "$exp" && find . -type f ! -name train.log | sort | xargs md5sum); }
before=$(snapshot)
run "train --resume (finished)" "$bin" train --resume "${train_args[@]}"
equal "$(snapshot)" "$before" "experiment files after resuming a finished run"
contains "$work/last.err" "0 steps in this run" "train --resume"

# A fresh train into an experiment with checkpoints is refused.
expect_error "train over an existing exp" "$exp" \
  "$bin" train --config "$config" "${train_args[@]}"

# --- extract (relative --out, read later from another directory) -----------------------------
cd "$work" || fail "cd $work"
run "extract" "$bin" extract --exp "$exp" --data "$test" --out emb --npy --threads 1
cd / || fail "cd /"
emb=$work/emb
equal "$(lines "$emb/embeddings.scp")" "$(lines "$test/wav.scp")" "embeddings.scp lines"
equal "$(cut -d' ' -f1 "$emb/embeddings.scp")" "$(cut -d' ' -f1 "$test/wav.scp")" \
  "embeddings.scp keys"
equal "$(cat "$emb/utts.txt")" "$(cut -d' ' -f1 "$test/wav.scp")" "utts.txt"
[[ -s $emb/embeddings.ark && -s $emb/embeddings.npy ]] || fail "extract outputs"
pass

# --- score -----------------------------------------------------------------------------------
trials=$test/trials
run "score" "$bin" score --trials "$trials" --emb "$emb" --out "$work/scores/test.score"
equal "$(lines "$work/scores/test.score")" "$(lines "$trials")" "score lines"
equal "$(awk 'NF != 3 || $3 !~ /^-?[0-9]+\.[0-9]+$/' "$work/scores/test.score")" "" \
  "score lines are 'enroll test score'"
equal "$(awk '{print $1, $2}' "$work/scores/test.score")" "$(awk '{print $2, $3}' "$trials")" \
  "score pairs follow the trials"
# The .npy output holds the same embeddings as the ark.
run "score from .npy" "$bin" score --trials "$trials" --emb "$emb/embeddings.npy" \
  --out "$work/scores/npy.score"
cmp -s "$work/scores/test.score" "$work/scores/npy.score" || fail "scores from .npy != from .scp"
pass
run "score with submean" "$bin" score --trials "$trials" --emb "$emb" \
  --submean-emb "$emb" --out "$work/scores/submean.score"
equal "$(lines "$work/scores/submean.score")" "$(lines "$trials")" "submean score lines"

# --- eval ------------------------------------------------------------------------------------
run "eval" "$bin" eval --trials "$trials" --scores "$work/scores/test.score"
contains "$work/last.out" "EER" "eval"
contains "$work/last.out" "minDCF" "eval"
contains "$work/last.out" "trials $(lines "$trials")" "eval counts every trial"
cat "$work/last.out"

# --- errors ----------------------------------------------------------------------------------
missing=$work/no_such_data
expect_error "train: missing --data dir" "$missing" \
  "$bin" train --config "$config" --data "$missing" --exp "$work/exp2" "${tiny[@]}"
expect_error "extract: missing --data dir" "$missing" \
  "$bin" extract --exp "$exp" --data "$missing" --out "$work/emb2"
expect_error "compute-fbank: missing --data dir" "$missing" \
  "$bin" compute-fbank --data "$missing" --out "$work/fbank2"
expect_error "extract: missing --exp dir" "$work/no_such_exp" \
  "$bin" extract --exp "$work/no_such_exp" --data "$test" --out "$work/emb2"
expect_error "train: unknown override key" "optimizer.lrr" \
  "$bin" train --config "$config" --data "$train" --exp "$work/exp3" "${overrides[@]}" \
  --optimizer.lrr=1
[[ ! -e $work/exp3/checkpoints ]] || fail "a rejected config still trained"
pass
expect_error "model-info: unknown override key" "optimizer.lrr" \
  "$bin" model-info --config "$config" --optimizer.lrr=1
expect_error "train: missing config file" "$work/no_such.yaml" \
  "$bin" train --config "$work/no_such.yaml" --data "$train" --exp "$work/exp4"

bad_trials=$work/bad_trials
{
  head -n 3 "$trials"
  echo "spk003-001 spk003-002 maybe"
} >"$bad_trials"
expect_error "eval: malformed trials" "$bad_trials:4" \
  "$bin" eval --trials "$bad_trials" --scores "$work/scores/test.score"
expect_error "score: malformed trials" "$bad_trials:4" \
  "$bin" score --trials "$bad_trials" --emb "$emb" --out "$work/scores/bad.score"
[[ ! -e $work/scores/bad.score ]] || fail "score wrote output for malformed trials"
pass
head -n 5 "$work/scores/test.score" >"$work/scores/short.score"
expect_error "eval: scores missing a trial" "$work/scores/short.score" \
  "$bin" eval --trials "$trials" --scores "$work/scores/short.score"

# A data dir whose second utterance is a corrupt wav file.
bad=$work/bad_data
mkdir -p "$bad"
printf 'RIFF\x24\x00\x00\x00WAVEjunk-not-audio' >"$work/corrupt.wav"
{
  head -n 1 "$test/wav.scp"
  echo "corrupt-utt $work/corrupt.wav"
} >"$bad/wav.scp"
expect_error "extract: corrupt wav" "corrupt-utt" \
  "$bin" extract --exp "$exp" --data "$bad" --out "$work/emb_bad"
contains "$work/last.err" "$work/corrupt.wav" "extract error names the file"
[[ ! -e $work/emb_bad/embeddings.scp ]] || fail "extract left an scp after failing"
pass
expect_error "compute-fbank: corrupt wav" "corrupt-utt" \
  "$bin" compute-fbank --data "$bad" --out "$work/fbank_bad"
[[ ! -e $work/fbank_bad/feats.scp ]] || fail "compute-fbank left an scp after failing"
pass

echo "cli_smoke_test: all $checks checks passed in $((SECONDS - start)) s"
