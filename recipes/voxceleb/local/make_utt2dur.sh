#!/usr/bin/env bash
# DATA_DIR/utt2dur ("utt seconds") for every wav.scp entry, NJ parallel jobs.
# Plain files: soxi -D (header only). Sample ranges ("utt path start end", speaker-net's form):
# (end - start) / the file's rate. Pipes ("cmd |", e.g. ffmpeg for m4a): the pipe is run and
# its output decoded with sox, so the duration is exactly what speakernet will read (a container
# header estimate of AAC can be a few ms off, and a chunk past the real end is an error).
#   make_utt2dur.sh DATA_DIR [NJ]
# Skips when utt2dur already has one line per wav.scp entry.
set -euo pipefail
export LC_ALL=C
[[ $# -ge 1 ]] || { echo "usage: make_utt2dur.sh DATA_DIR [NJ]" >&2; exit 2; }
data=$1 nj=${2:-4}
[[ -s $data/wav.scp ]] || { echo "make_utt2dur.sh: error: $data/wav.scp is missing" >&2; exit 1; }
if [[ -s $data/utt2dur ]] && cmp -s <(cut -d' ' -f1 "$data/wav.scp") <(cut -d' ' -f1 "$data/utt2dur"); then
  echo "make_utt2dur.sh: $data/utt2dur is up to date"; exit 0
fi
command -v sox > /dev/null || { echo "make_utt2dur.sh: error: sox/soxi not installed (apt-get install sox)" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/utt2dur.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
awk -v nj="$nj" -v t="$tmp" '{ print > (t "/part." (NR % nj)) }' "$data/wav.scp"
job() {  # one part: "utt spec..." lines -> "utt seconds" lines
  local part=$1 utt spec d
  # plain files: one soxi per 500 files (header reads), order kept
  local range='NF == 4 && $3 ~ /^[0-9]+$/ && $4 ~ /^[0-9]+$/'
  awk "\$NF != \"|\" && !($range)" "$part" > "$part.files"
  if [[ -s $part.files ]]; then
    cut -d' ' -f2- "$part.files" | tr '\n' '\0' | xargs -0 -n 500 soxi -D > "$part.files.d" ||
      { echo "make_utt2dur.sh: error: soxi failed on a file of $data/wav.scp" >&2; return 1; }
    paste -d' ' <(cut -d' ' -f1 "$part.files") "$part.files.d" > "$part.dur"
  else
    : > "$part.dur"
  fi
  # sample ranges: the length is in the line, the rate in the header
  awk "$range" "$part" | while read -r utt path first end; do
    d=$(soxi -r "$path") || { echo "make_utt2dur.sh: error: soxi failed on $path" >&2; exit 1; }
    awk -v u="$utt" -v a="$first" -v b="$end" -v r="$d" 'BEGIN { printf "%s %.6f\n", u, (b - a) / r }'
  done >> "$part.dur"
  # pipes: run and decode
  awk '$NF == "|"' "$part" | while read -r utt spec; do
    d=$(bash -c "${spec%|}" | sox -t wav - -n stat 2>&1 | awk '/^Length \(seconds\)/ { print $3 }')
    [[ $d =~ ^[0-9.]+$ ]] || { echo "make_utt2dur.sh: error: cannot read the duration of $utt ($spec)" >&2; exit 1; }
    echo "$utt $d"
  done >> "$part.dur"
  awk 'NF != 2 || $2 !~ /^[0-9.]+$/ { print "make_utt2dur.sh: error: bad duration line: " $0 > "/dev/stderr"; exit 1 }' "$part.dur"
}
pids=()
for part in "$tmp"/part.[0-9]*; do job "$part" & pids+=($!); done
fail=0
for p in "${pids[@]}"; do wait "$p" || fail=1; done
(( fail == 0 )) || { echo "make_utt2dur.sh: error: failed for $data (see above)" >&2; exit 1; }
cat "$tmp"/part.[0-9]*.dur | sort -k1,1 > "$tmp/utt2dur"
# keep wav.scp order (sorted data dirs give the same)
awk 'NR == FNR { d[$1] = $2; next } { print $1, d[$1] }' "$tmp/utt2dur" "$data/wav.scp" > "$data/utt2dur.tmp"
mv "$data/utt2dur.tmp" "$data/utt2dur"
awk '{ t += $2 } END { printf "make_utt2dur.sh: %s: %d utterances, %.2f hours\n", FILENAME, NR, t / 3600 }' "$data/utt2dur"
