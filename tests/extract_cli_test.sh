#!/usr/bin/env bash
# Command-line test of `speakernet extract` (batched, threaded, resumable) and `speakernet plot`
# on a tiny synthetic corpus and a tiny model:
#   * batched extraction with worker threads equals one-by-one extraction (--batch-size 1
#     --workers 0) within float rounding (compared with numpy on the .npy outputs);
#   * a run stopped after some shards (--stop-after-shards), then re-run, gives an ark
#     byte-identical to an uninterrupted run's; a finished run is not redone;
#   * plot writes a DET plot and score histograms: the SVG parses as XML, the PNGs have the PNG
#     signature and the requested size; bad arguments give an "error:" naming the culprit.
#
#   bash tests/extract_cli_test.sh SPEAKERNET_BINARY [SOURCE_DIR]
# Needs espeak-ng and sox (the corpus) and /usr/bin/python3 with numpy; exit 77 (skip) without.
set -uo pipefail
export LC_ALL=C

source "$(dirname "${BASH_SOURCE[0]}")/lib/cli_test_lib.sh"
cli_test_init extract_cli "$@"
cli_test_require espeak-ng sox  # the corpus
cli_test_require_python numpy

# --- corpus and a tiny model -----------------------------------------------------------------
cli_test_demo_corpus "$work/corpus" --train-speakers 4 --test-speakers 4 --utts-per-speaker 4 \
  --seed 5
test=$work/corpus/test
exp=$work/exp
run "train" "$bin" train --config "$src/recipes/demo/config.yaml" --data "$work/corpus/train" \
  --exp "$exp" '--model.resnet.layers=[1,1,1,1]' '--model.resnet.planes=[4,8,8,8]' \
  --model.pooling.num_head=2 --model.emb_dim=16 --trainer.epochs=1 --loader.batch_size=4 \
  --loader.chunk_seconds=1.0 --margin_schedule.enabled=false --lr_schedule.warmup_epoch=0 \
  --trainer.ckpt_interval_minutes=0 --runtime.threads=1
# Every test utterance gets a twin of identical length (a copy under another id), so that the
# batched run really batches.
data=$work/data
mkdir -p "$data"
awk '{print; print $1 "-twin", $2}' "$test/wav.scp" >"$data/wav.scp"
n=$(wc -l <"$data/wav.scp")

# --- batched == one by one -------------------------------------------------------------------
run "extract one by one" "$bin" extract --exp "$exp" --data "$data" --out "$work/single" \
  --batch-size 1 --workers 0 --npy --threads 1
run "extract batched" "$bin" extract --exp "$exp" --data "$data" --out "$work/batched" \
  --batch-size 8 --workers 2 --npy --threads 1
grep -qE "largest batch [2-8]" "$work/last.err" || fail "the twins did not share a forward pass"
pass
contains "$work/last.err" "utts/s" "progress lines with a rate"
# Float rounding only (the tolerance is relative to each embedding's largest element).
run "batched equals one by one" $py "$src/tests/lib/close_embeddings.py" \
  "$work/single/embeddings.npy" "$work/batched/embeddings.npy" 1e-4 1e-7 "batched - one-by-one"
cat "$work/last.out"
cmp -s "$work/single/utts.txt" "$work/batched/utts.txt" || fail "utts.txt differ"
pass
# Worker threads change nothing: one utterance per pass with 2 workers is bit-identical.
run "extract one by one, 2 workers" "$bin" extract --exp "$exp" --data "$data" \
  --out "$work/single2" --batch-size 1 --workers 2 --npy --threads 1
cmp "$work/single/embeddings.ark" "$work/single2/embeddings.ark" || fail "workers changed the ark"
pass

# --- resumable -------------------------------------------------------------------------------
args=(--exp "$exp" --data "$data" --shard-size 5 --batch-size 8 --threads 1)
run "extract uninterrupted" "$bin" extract "${args[@]}" --out "$work/full"
run "extract, stopped after 2 shards" "$bin" extract "${args[@]}" --out "$work/resumed" \
  --stop-after-shards 2
[[ ! -e $work/resumed/embeddings.scp && -s $work/resumed/shards/shard-00001.ark ]] ||
  fail "an unfinished run must leave shards and no embeddings.scp"
pass
# A damaged (truncated) shard is redone.
truncate -s 100 "$work/resumed/shards/shard-00000.ark"
run "extract, resumed" "$bin" extract "${args[@]}" --out "$work/resumed"
contains "$work/last.err" "1 of" "resume reports the finished shards"
cmp "$work/full/embeddings.ark" "$work/resumed/embeddings.ark" || fail "resumed ark differs"
pass
[[ $(sed "s|$work/resumed/|X/|" "$work/resumed/embeddings.scp") == \
   $(sed "s|$work/full/|X/|" "$work/full/embeddings.scp") ]] || fail "resumed scp differs"
pass
[[ $(wc -l <"$work/resumed/embeddings.scp") -eq $n && ! -e $work/resumed/shards ]] ||
  fail "resumed output incomplete or shards left"
pass
run "extract, finished already" "$bin" extract "${args[@]}" --out "$work/resumed"
contains "$work/last.err" "up to date" "a finished extraction is not redone"

# --- score and plot --------------------------------------------------------------------------
trials=$test/trials
run "score" "$bin" score --trials "$trials" --emb "$work/full" --out "$work/a.score"
awk '{print $1, $2, $3 * 0.5 + 0.1 * (NR % 7)}' "$work/a.score" >"$work/b.score"  # a 2nd system
run "plot svg + hist png" "$bin" plot --scores "$work/a.score,$work/b.score" --trials "$trials" \
  --out "$work/det.svg" --hist "$work/hist.png" --names "tiny,noisy" --title "extract_cli_test"
run "plot png" "$bin" plot --scores "$work/a.score" --trials "$trials" --out "$work/det.png" \
  --width 500 --height 400
cat >"$work/check_images.py" <<'EOF'
import struct, sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag.endswith("svg"), root.tag
for path, w, h in ((sys.argv[2], 640, 1200), (sys.argv[3], 500, 400)):
    b = open(path, "rb").read()
    assert b[:8] == b"\x89PNG\r\n\x1a\n", path + ": no PNG signature"
    assert b[12:16] == b"IHDR"
    size = struct.unpack(">II", b[16:24])
    assert size == (w, h), f"{path}: {size} != {(w, h)}"
print("images ok")
EOF
run "images are valid" $py "$work/check_images.py" "$work/det.svg" "$work/hist.png" "$work/det.png"
expect_error "plot: unknown image format" "det.jpg" \
  "$bin" plot --scores "$work/a.score" --trials "$trials" --out "$work/det.jpg"
expect_error "plot: missing score file" "$work/none.score" \
  "$bin" plot --scores "$work/none.score" --trials "$trials" --out "$work/x.svg"
expect_error "plot: names do not match" "--names" \
  "$bin" plot --scores "$work/a.score" --trials "$trials" --out "$work/x.svg" --names a,b

echo "extract_cli_test: $checks checks passed in $((SECONDS - start)) s"
