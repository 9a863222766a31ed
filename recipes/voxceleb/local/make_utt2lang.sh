#!/usr/bin/env bash
# DATA_DIR/utt2lang ("utt language") from the VoxSRC-2021 workshop's VoxCeleb2 language labels
# (lang_vox2_final.csv: "id00012/21Uxsk56VDQ/00001.wav,en,<score>" lines), as speaker-net's
# preprocess.sh builds it for the *_paired configs: ids "/" -> "-" without ".wav"; an utterance
# the file does not label gets "other". Lines whose first field has no "/" (a header) are skipped.
#
#   make_utt2lang.sh LANG_CSV DATA_DIR
set -euo pipefail
export LC_ALL=C
[[ $# -eq 2 ]] || { echo "usage: make_utt2lang.sh LANG_CSV DATA_DIR" >&2; exit 2; }
csv=$1 data=$2
[[ -s $csv ]] || { echo "make_utt2lang.sh: error: $csv is missing or empty" >&2; exit 1; }
[[ -s $data/utt2spk ]] || { echo "make_utt2lang.sh: error: $data/utt2spk is missing" >&2; exit 1; }
awk -F, 'NR == FNR { if ($1 !~ /\//) next
                     if (NF < 2 || $2 == "") { print "make_utt2lang.sh: error: " FILENAME ":" FNR ": expected \"path,language[,score]\"" > "/dev/stderr"; exit 1 }
                     u = $1; gsub(/\//, "-", u); sub(/\.(wav|m4a)$/, "", u); lang[u] = $2; next }
         { split($0, f, " "); print f[1], (f[1] in lang ? lang[f[1]] : "other") }' \
  "$csv" "$data/utt2spk" > "$data/utt2lang.tmp"
mv "$data/utt2lang.tmp" "$data/utt2lang"
awk '{ n[$2]++ } END { for (l in n) printf "%s %d\n", l, n[l] }' "$data/utt2lang" | sort -k2,2nr |
  head -5 | paste -sd, - | sed "s|^|make_utt2lang.sh: $data/utt2lang: $(wc -l < "$data/utt2lang") utterances; most frequent: |"
