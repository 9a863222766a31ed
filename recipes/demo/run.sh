#!/usr/bin/env bash
# The embedded demo, end to end: make a synthetic multi-speaker corpus (espeak-ng + sox),
# train the small ResNet of config.yaml, extract embeddings of held-out speakers, score their
# trials, print EER / minDCF and draw the DET curve and score histograms (det.png, hist.png).
# Re-running resumes or skips finished stages.
#   bash recipes/demo/run.sh [WORK_DIR]        (default: recipes/demo/work)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=${1:-$here/work}
bin=${SPEAKERNET:-$root/build/bin/speakernet}
[[ -x $bin ]] || { echo "demo: $bin not found; build first (bash tools/build.sh)" >&2; exit 1; }
mkdir -p "$work"
start=$(date +%s)

echo "== demo: corpus"
bash "$here/make_corpus.sh" "$work/corpus"

echo "== demo: train"
if [[ -f $work/exp/config.yaml ]]; then
  "$bin" train --data "$work/corpus/train" --exp "$work/exp" --resume
else
  "$bin" train --config "$here/config.yaml" --data "$work/corpus/train" --exp "$work/exp"
fi

echo "== demo: extract"
"$bin" extract --exp "$work/exp" --data "$work/corpus/test" --out "$work/embeddings/test"

echo "== demo: score"
"$bin" score --trials "$work/corpus/test/trials" --emb "$work/embeddings/test" --out "$work/scores/test.score"

echo "== demo: eval"
"$bin" eval --trials "$work/corpus/test/trials" --scores "$work/scores/test.score" | tee "$work/result.txt"

echo "== demo: plot"
"$bin" plot --scores "$work/scores/test.score" --trials "$work/corpus/test/trials" --names demo \
  --title "demo (held-out speakers)" --out "$work/det.png" --hist "$work/hist.png"
echo "demo: DET curve $work/det.png, score histograms $work/hist.png"
echo "demo: finished in $(( $(date +%s) - start )) s (work dir $work)"
