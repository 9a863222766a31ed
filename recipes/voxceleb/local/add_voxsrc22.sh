#!/usr/bin/env bash
# Adds the VoxSRC-2022 dev audio (a flat folder of wavs, VoxSRC2022_dev/dev_00000.wav ...) to a
# Kaldi data dir, with speaker-net's ids (local/make_voxconverse.py): VoxSRC2022_dev-<name>, each
# utterance its own speaker. Entries added by an earlier run are replaced; the files stay sorted.
#
#   add_voxsrc22.sh DATA_DIR WAV_DIR
set -euo pipefail
export LC_ALL=C
[[ $# -eq 2 ]] || { echo "usage: add_voxsrc22.sh DATA_DIR WAV_DIR" >&2; exit 2; }
data=$1 wavs=$2
[[ -s $data/wav.scp ]] || { echo "add_voxsrc22.sh: error: $data/wav.scp is missing" >&2; exit 1; }
[[ -d $wavs ]] || { echo "add_voxsrc22.sh: error: $wavs is not a directory" >&2; exit 1; }
[[ $wavs != *[[:space:]]* ]] || { echo "add_voxsrc22.sh: error: '$wavs' contains white space" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/add_voxsrc22.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
find -L "$wavs" -maxdepth 1 -type f -name '*.wav' | sort | awk '{
    name = $0; sub(/.*\//, "", name); sub(/\.wav$/, "", name)
    print "VoxSRC2022_dev-" name, $0 }' > "$tmp/new.scp"
[[ -s $tmp/new.scp ]] || { echo "add_voxsrc22.sh: error: no *.wav files in $wavs" >&2; exit 1; }
grep -v '^VoxSRC2022_dev-' "$data/wav.scp" | cat - "$tmp/new.scp" | sort -k1,1 > "$tmp/wav.scp"
grep -v '^VoxSRC2022_dev-' "$data/utt2spk" | cat - <(awk '{ print $1, $1 }' "$tmp/new.scp") |
  sort -k1,1 > "$tmp/utt2spk"
dups=$(cut -d' ' -f1 "$tmp/wav.scp" | uniq -d | head -3)
[[ -z $dups ]] || { echo "add_voxsrc22.sh: error: duplicate utterance ids: $dups" >&2; exit 1; }
sort -k2,2 -k1,1 "$tmp/utt2spk" | awk '{ if ($2 != prev) { if (NR > 1) printf "\n"; printf "%s", $2; prev = $2 }
    printf " %s", $1 } END { if (NR) printf "\n" }' | sort -k1,1 > "$tmp/spk2utt"
mv "$tmp/wav.scp" "$data/wav.scp"
mv "$tmp/utt2spk" "$data/utt2spk"
mv "$tmp/spk2utt" "$data/spk2utt"
echo "add_voxsrc22.sh: $data: $(wc -l < "$tmp/new.scp") VoxSRC-2022 dev utterances added ($(wc -l < "$data/wav.scp") in all)"
