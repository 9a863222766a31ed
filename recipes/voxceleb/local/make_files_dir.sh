#!/usr/bin/env bash
# A wav.scp-only data dir from a list of audio files (one path per line on stdin), for the
# augmentation sets (speakernet reads a set as a data dir with wav.scp, or as a plain folder).
# Ids: PREFIX + the path below BASE with "/" -> "-" and the extension removed.
#   find ... | make_files_dir.sh OUT_DIR BASE PREFIX
set -euo pipefail
export LC_ALL=C
[[ $# -eq 3 ]] || { echo "usage: ... | make_files_dir.sh OUT_DIR BASE PREFIX" >&2; exit 2; }
out=$1 base=${2%/} prefix=$3
mkdir -p "$out"
awk -v base="$base/" -v prefix="$prefix" '
  NF == 0 { next }
  /[[:space:]]/ { print "make_files_dir.sh: error: white space in " $0 > "/dev/stderr"; exit 1 }
  { rel = $0; if (index(rel, base) == 1) rel = substr(rel, length(base) + 1)
    sub(/\.[A-Za-z0-9]+$/, "", rel); gsub("/", "-", rel); print prefix rel, $0 }' |
  sort -u -k1,1 > "$out/wav.scp.tmp"
[[ -s $out/wav.scp.tmp ]] || { rm -f "$out/wav.scp.tmp"; echo "make_files_dir.sh: error: no files for $out" >&2; exit 1; }
mv "$out/wav.scp.tmp" "$out/wav.scp"
echo "make_files_dir.sh: $out: $(wc -l < "$out/wav.scp") files"
