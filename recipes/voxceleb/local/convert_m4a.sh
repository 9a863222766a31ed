#!/usr/bin/env bash
# Decode the ffmpeg pipe entries of DATA_IN/wav.scp once into 16 kHz 16-bit mono wav files under
# WAV_ROOT/<spk>/<video>/<n>.wav and write DATA_OUT (wav.scp with plain paths; utt2spk, spk2utt,
# utt2dur and utt2lang copied). Much faster for training than decoding AAC in every epoch.
# Resumable: finished files are kept (each is written to a temporary name and renamed).
#   convert_m4a.sh DATA_IN WAV_ROOT DATA_OUT [NJ]
set -euo pipefail
export LC_ALL=C
[[ $# -ge 3 ]] || { echo "usage: convert_m4a.sh DATA_IN WAV_ROOT DATA_OUT [NJ]" >&2; exit 2; }
in=$1 wav_root=$2 out=$3 nj=${4:-4}
[[ -s $in/wav.scp ]] || { echo "convert_m4a.sh: error: $in/wav.scp is missing" >&2; exit 1; }
command -v ffmpeg > /dev/null || { echo "convert_m4a.sh: error: ffmpeg not installed (apt-get install ffmpeg)" >&2; exit 1; }
mkdir -p "$wav_root" "$out"
wav_root=$(cd "$wav_root" && pwd)
# "utt m4a_file wav_file" from "utt ffmpeg -v 8 -i FILE ... |"; utt = spk-video-n, but the video
# id may contain "-", so take spk/video/n from the m4a path.
awk -v root="$wav_root" '$NF == "|" { for (i = 2; i < NF; i++) if ($i == "-i") f = $(i + 1)
       n = split(f, a, "/"); name = a[n]; sub(/\.[^.]*$/, "", name)
       print $1, f, root "/" a[n - 2] "/" a[n - 1] "/" name ".wav"; next }
     { print $1, $2, "" }' "$in/wav.scp" > "$out/.convert_list"
awk '$3 != ""' "$out/.convert_list" | while read -r u f w; do [[ -s $w ]] || printf '%s\t%s\n' "$f" "$w"; done > "$out/.convert_todo"
n=$(wc -l < "$out/.convert_todo")
echo "convert_m4a.sh: $n of $(wc -l < "$in/wav.scp") files to decode into $wav_root ($nj jobs)"
if (( n > 0 )); then
  xargs -d '\n' -P "$nj" -n 1 bash -c 'IFS=$'"'"'\t'"'"' read -r f w <<< "$1"; mkdir -p "$(dirname "$w")"
      ffmpeg -nostdin -v 8 -y -i "$f" -f wav -acodec pcm_s16le -ar 16000 -ac 1 "$w.tmp.wav" && mv "$w.tmp.wav" "$w" ||
      { echo "convert_m4a.sh: error: ffmpeg failed on $f" >&2; exit 255; }' _ < "$out/.convert_todo"
fi
awk '{ print $1, ($3 != "" ? $3 : $2) }' "$out/.convert_list" > "$out/wav.scp.tmp"
mv "$out/wav.scp.tmp" "$out/wav.scp"
for f in utt2spk spk2utt utt2dur utt2lang; do [[ -f $in/$f ]] && cp "$in/$f" "$out/$f"; done
rm -f "$out/.convert_list" "$out/.convert_todo"
echo "convert_m4a.sh: $out: $(wc -l < "$out/wav.scp") utterances as wav"
