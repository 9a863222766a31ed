#!/usr/bin/env bash
# Writes the model_package_fuzzer seed fuzz/corpus/model_package/tiny_resnet.snm: a real .snm
# of the tests' tiny ResNet (tests/lib/cli_test_lib.sh), trained for one epoch on the tone
# corpus and packaged with a threshold. Needs the normal build and Debian's python3 + numpy.
#   bash fuzz/make_snm_seed.sh build/bin/speakernet
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../tests/lib/cli_test_lib.sh"
cli_test_init make_snm_seed "${1:?usage: fuzz/make_snm_seed.sh SPEAKERNET_BINARY}" "$here/.."
cli_test_tone_corpus "$work/tones"
cli_test_tiny_train "$work/tones" --trainer.epochs=1
run "train" "$bin" train "${tiny[@]}" --exp "$work/exp"
mkdir -p "$here/corpus/model_package"
run "package" "$bin" package --exp "$work/exp" --out "$here/corpus/model_package/tiny_resnet.snm" \
  --threshold 0.5
ls -l "$here/corpus/model_package/tiny_resnet.snm"
