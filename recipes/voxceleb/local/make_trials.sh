#!/usr/bin/env bash
# Official VoxCeleb1 / VoxSRC trial list -> speakernet/Kaldi trials with the data dir's
# utterance ids (speaker-net's get_trials.sh naming: "/" -> "-", extension dropped).
#   in : 1 id10270/x6uYqmx31kE/00001.wav id10270/8jEAjG6SegY/00008.wav
#   out: id10270-x6uYqmx31kE-00001 id10270-8jEAjG6SegY-00008 target
# VoxSRC-2022 dev lists also name their own audio: VoxSRC2022_dev/dev_00000.wav ->
# VoxSRC2022_dev-dev_00000 (local/add_voxsrc22.sh gives those ids).
#
#   make_trials.sh LIST OUT_FILE [DATA_DIR]
# With DATA_DIR, every trial utterance must be in DATA_DIR/wav.scp (else an error naming it).
set -euo pipefail
export LC_ALL=C
[[ $# -ge 2 ]] || { echo "usage: make_trials.sh LIST OUT_FILE [DATA_DIR]" >&2; exit 2; }
list=$1 out=$2 data=${3:-}
[[ -s $list ]] || { echo "make_trials.sh: error: trial list $list is missing or empty" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
awk 'function id(p,   n, a) { sub(/\.(wav|m4a|flac)$/, "", p); n = split(p, a, "/")
       if (n == 2 && a[1] ~ /^VoxSRC2022_dev$/) return a[1] "-" a[2]
       if (n != 3) { print "make_trials.sh: error: " FILENAME ":" FNR ": expected spk/video/n.wav or VoxSRC2022_dev/name.wav, got " p > "/dev/stderr"; exit 1 }
       return a[1] "-" a[2] "-" a[3] }
     NF == 0 { next }
     NF != 3 || ($1 != "0" && $1 != "1") { print "make_trials.sh: error: " FILENAME ":" FNR ": expected \"1|0 enroll test\"" > "/dev/stderr"; exit 1 }
     { print id($2), id($3), ($1 == "1" ? "target" : "nontarget") }' "$list" > "$out.tmp"
if [[ -n $data ]]; then
  missing=$(awk 'NR == FNR { have[$1] = 1; next } !($1 in have) { print $1 } !($2 in have) { print $2 }' \
    "$data/wav.scp" "$out.tmp" | sort -u)
  if [[ -n $missing ]]; then
    rm -f "$out.tmp"
    echo "make_trials.sh: error: $(wc -l <<< "$missing") utterances of $list are not in $data/wav.scp, e.g. $(head -3 <<< "$missing" | tr '\n' ' ')" >&2
    exit 1
  fi
fi
mv "$out.tmp" "$out"
awk '{ n[$3]++ } END { printf "make_trials.sh: %s: %d trials (%d target, %d nontarget)\n", FILENAME, NR, n["target"], n["nontarget"] }' "$out"
