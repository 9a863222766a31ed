#!/usr/bin/env bash
# Kaldi data dir (wav.scp, utt2spk, spk2utt) from VoxCeleb-layout folders:
#   VoxCeleb1: ROOT/idXXXXX/<video>/<n>.wav        (ROOT = .../wav)
#   VoxCeleb2: ROOT/idXXXXX/<video>/<n>.m4a        (ROOT = .../dev/aac)
# Utterance ids as speaker-net's/Kaldi's make_voxceleb*.pl: <spk>-<video>-<n>
# (e.g. id10001-1zcIwhmdeo4-00001), speaker = <spk>. Everything sorted with LC_ALL=C.
#
#   make_voxceleb.sh [--ext wav|m4a] OUT_DIR ROOT [ROOT ...]
#
# --ext m4a writes a pipe entry per file, since libsndfile cannot read AAC:
#   <utt> ffmpeg -v 8 -i FILE -f wav -acodec pcm_s16le -ar 16000 -ac 1 - |
# (ffmpeg is needed when the audio is read, not here). No Python; find + awk + sort.
set -euo pipefail
export LC_ALL=C
ext=wav
while [[ $# -gt 0 && $1 == --* ]]; do
  case $1 in
    --ext) ext=$2; shift 2 ;;
    *) echo "make_voxceleb.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[[ $# -ge 2 ]] || { echo "usage: make_voxceleb.sh [--ext wav|m4a] OUT_DIR ROOT [ROOT ...]" >&2; exit 2; }
[[ $ext == wav || $ext == m4a ]] || { echo "make_voxceleb.sh: --ext must be wav or m4a, got '$ext'" >&2; exit 2; }
out=$1; shift
for root in "$@"; do
  [[ -d $root ]] || { echo "make_voxceleb.sh: error: $root is not a directory" >&2; exit 1; }
  [[ $root != *[[:space:]]* ]] || { echo "make_voxceleb.sh: error: '$root' contains white space (not allowed in wav.scp)" >&2; exit 1; }
done
mkdir -p "$out"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/make_voxceleb.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

for root in "$@"; do
  find -L "$root" -type f -name "*.$ext"
done | awk -v ext="$ext" -F/ '
  NF < 3 { next }
  {
    spk = $(NF - 2); vid = $(NF - 1); name = $NF; sub("\\." ext "$", "", name)
    if (spk !~ /^id[0-9]+$/) { bad++; if (bad <= 3) print "make_voxceleb.sh: warning: skipping " $0 " (not under idNNNNN/<video>/)" > "/dev/stderr"; next }
    if ($0 ~ /[[:space:]]/) { print "make_voxceleb.sh: error: white space in " $0 > "/dev/stderr"; exit 1 }
    utt = spk "-" vid "-" name
    if (ext == "m4a") wav = "ffmpeg -v 8 -i " $0 " -f wav -acodec pcm_s16le -ar 16000 -ac 1 - |"
    else wav = $0
    print utt, wav > "'"$tmp"'/wav.scp"
    print utt, spk > "'"$tmp"'/utt2spk"
  }
  END { if (bad) print "make_voxceleb.sh: warning: " bad " files skipped" > "/dev/stderr" }'

[[ -s $tmp/wav.scp ]] || { echo "make_voxceleb.sh: error: no *.$ext files under idNNNNN/<video>/ in: $*" >&2; exit 1; }
sort -k1,1 "$tmp/wav.scp" > "$tmp/wav.scp.s"
dups=$(cut -d' ' -f1 "$tmp/wav.scp.s" | uniq -d | head -3)
[[ -z $dups ]] || { echo "make_voxceleb.sh: error: duplicate utterance ids (the same file under two roots?): $dups" >&2; exit 1; }
sort -k1,1 "$tmp/utt2spk" > "$tmp/utt2spk.s"
awk '{ if ($2 != prev) { if (NR > 1) printf "\n"; printf "%s", $2; prev = $2 } printf " %s", $1 }
     END { if (NR) printf "\n" }' "$tmp/utt2spk.s" > "$tmp/spk2utt"
mv "$tmp/wav.scp.s" "$out/wav.scp"
mv "$tmp/utt2spk.s" "$out/utt2spk"
mv "$tmp/spk2utt" "$out/spk2utt"
echo "make_voxceleb.sh: $out: $(wc -l < "$out/wav.scp") utterances, $(wc -l < "$out/spk2utt") speakers"
