#!/usr/bin/env bash
# MUSAN -> data dirs OUT/musan_noise, OUT/musan_music, OUT/musan_speech (wav.scp of the
# MUSAN_ROOT/{noise,music,speech}/*/*.wav files; MUSAN_ROOT may also be a folder holding musan/).
# speaker-net: noise + music for additive noise, speech for babble (spec §1.4). speaker-net pre-cuts
# noise into 2.015 s / 6.015 s pieces; speakernet takes a random crop of the whole file instead.
#   make_musan.sh MUSAN_ROOT OUT_PARENT
set -euo pipefail
[[ $# -eq 2 ]] || { echo "usage: make_musan.sh MUSAN_ROOT OUT_PARENT" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
root=$1 out=$2
[[ -d $root/musan ]] && root=$root/musan
for sub in noise music speech; do
  [[ -d $root/$sub ]] || { echo "make_musan.sh: error: $root/$sub not found (expected the MUSAN folder with noise/ music/ speech/)" >&2; exit 1; }
  find -L "$root/$sub" -type f -name '*.wav' | bash "$here/make_files_dir.sh" "$out/musan_$sub" "$root/$sub" "musan-$sub-"
done
