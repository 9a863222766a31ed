#!/usr/bin/env bash
# Synthetic multi-speaker demo corpus for speakernet.
#
# Builds a small speaker-verification corpus from Debian packages only
# (espeak-ng + sox; no downloads), deterministic given --seed:
#
#   OUT_DIR/wav/<spk>/<utt>.wav      16 kHz mono 16-bit PCM, 2.5-6 s each
#   OUT_DIR/train/{wav.scp,utt2spk,spk2utt,utt2dur}
#   OUT_DIR/test/{wav.scp,utt2spk,spk2utt,utt2dur,trials}
#   OUT_DIR/speakers.tsv             how every speaker is defined
#   OUT_DIR/text                     transcript of every utterance (utt words...)
#   OUT_DIR/.done                    parameters of the finished run (written last)
#
# A "speaker" is a fixed combination of
#   - espeak-ng English accent (en-gb, en-us, en-gb-scotland, en-gb-x-rp, ...)
#     and voice variant (m1..m8, f1..f5, klatt*, Alex, Annie, ...; whisper,
#     robot and novelty variants excluded). About 45% of speakers are drawn
#     from female variants; each variant in use is shared by about 3 speakers,
#   - base pitch (-p 20..80), speed (-s 140..200 wpm), pitch range (SSML
#     prosody range 60..140%), amplitude (-a) and word gap (-g),
#   - a fixed sox colouring: spectral shift (sox pitch +-150 cents, which moves
#     formants too, like a different vocal-tract length), peaking EQ,
#     bass/treble tilt, low-pass cut-off and level.
# Speakers sharing a variant differ by >= 10 in pitch or >= 15 wpm in speed,
# so no two speakers share (voice, pitch, speed).
# Each utterance reads one sentence (two if one is under 2.5 s) from
# sentences.txt (different sentences for each utterance of a speaker, for up
# to 25 utterances per speaker), with jitter around the speaker: pitch +-6,
# speed +-6%, range +-10, spectral shift +-60 cents, bass/treble +-3 dB, one
# random extra EQ band (+-6 dB), gain +-1.5 dB, and white noise at 30-40 dB SNR.
# Test speakers are a stratified (gender, pitch) subset of the same draw, so
# train and test come from one distribution but are disjoint.
#
# All randomness comes from a portable generator seeded by --seed; the output
# does not depend on --jobs.
#
# Usage: see usage() below.

set -euo pipefail
export LC_ALL=C

readonly VERSION=1
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
readonly SCRIPT_DIR
readonly SENTENCES_FILE=$SCRIPT_DIR/sentences.txt

usage() {
  cat <<EOF
Usage: bash recipes/demo/make_corpus.sh OUT_DIR [options]

Options (defaults in brackets):
  --train-speakers N    training speakers [40]
  --test-speakers M     held-out test speakers, used for trials [12]
  --utts-per-speaker U  utterances per speaker [12]
  --seed S              random seed, 0..2147483646 [1]
  --jobs J              parallel synthesis jobs (does not change output) [2]
  -h, --help            this text

Needs espeak-ng and sox (Debian: apt-get install espeak-ng sox).
Re-running with the same parameters is a no-op once OUT_DIR/.done exists.
EOF
}

die() { echo "make_corpus.sh: error: $*" >&2; exit 1; }

# ------------------------------------------------------------------ arguments
out_dir=""
n_train=40
n_test=12
n_utts=12
seed=1
jobs=2

need_val() { [[ $# -ge 2 && -n $2 ]] || die "option $1 needs a value (see --help)"; }
while [[ $# -gt 0 ]]; do
  case $1 in
    -h|--help) usage; exit 0 ;;
    --train-speakers) need_val "$@"; n_train=$2; shift 2 ;;
    --train-speakers=*) n_train=${1#*=}; shift ;;
    --test-speakers) need_val "$@"; n_test=$2; shift 2 ;;
    --test-speakers=*) n_test=${1#*=}; shift ;;
    --utts-per-speaker) need_val "$@"; n_utts=$2; shift 2 ;;
    --utts-per-speaker=*) n_utts=${1#*=}; shift ;;
    --seed) need_val "$@"; seed=$2; shift 2 ;;
    --seed=*) seed=${1#*=}; shift ;;
    --jobs) need_val "$@"; jobs=$2; shift 2 ;;
    --jobs=*) jobs=${1#*=}; shift ;;
    -*) usage >&2; die "unknown option '$1'" ;;
    *) [[ -z $out_dir ]] || die "more than one OUT_DIR given ('$out_dir', '$1')"
       out_dir=$1; shift ;;
  esac
done
[[ -n $out_dir ]] || { usage >&2; die "missing OUT_DIR"; }

check_int() { # option value min max
  if ! [[ $2 =~ ^[0-9]{1,10}$ ]] || (( 10#$2 < $3 || 10#$2 > $4 )); then
    die "$1 must be an integer in $3..$4 (got '$2')"
  fi
}
check_int --train-speakers "$n_train" 1 2000
check_int --test-speakers "$n_test" 2 2000
check_int --utts-per-speaker "$n_utts" 2 1000
check_int --seed "$seed" 0 2147483646
check_int --jobs "$jobs" 1 256
n_train=$(( 10#$n_train )); n_test=$(( 10#$n_test )); n_utts=$(( 10#$n_utts ))
seed=$(( 10#$seed )); jobs=$(( 10#$jobs ))

# ------------------------------------------------------------------ tools
missing=()
for t in espeak-ng sox soxi; do
  command -v "$t" >/dev/null 2>&1 || missing+=("$t")
done
if (( ${#missing[@]} )); then
  die "missing program(s): ${missing[*]}. Install them with: sudo apt-get install espeak-ng sox"
fi
for t in awk sort cksum; do
  command -v "$t" >/dev/null 2>&1 || die "missing program '$t' (coreutils/mawk)"
done
[[ -r $SENTENCES_FILE ]] || die "sentence list not found: $SENTENCES_FILE"

# ------------------------------------------------------------------ output dir
mkdir -p -- "$out_dir" || die "cannot create OUT_DIR '$out_dir'"
out_dir=$(cd -- "$out_dir" && pwd -P)
[[ $out_dir != *[[:space:]]* ]] \
  || die "OUT_DIR must not contain whitespace (Kaldi wav.scp cannot hold it): '$out_dir'"

sent_sum=$(cksum < "$SENTENCES_FILE" | awk '{print $1}')
params="version=$VERSION train_speakers=$n_train test_speakers=$n_test utts_per_speaker=$n_utts seed=$seed sentences_cksum=$sent_sum"
if [[ -f $out_dir/.done ]] && [[ $(< "$out_dir/.done") == "$params" ]]; then
  echo "make_corpus.sh: $out_dir already complete ($params); nothing to do."
  exit 0
fi

start_s=$SECONDS
rm -rf -- "$out_dir/.done" "$out_dir/wav" "$out_dir/train" "$out_dir/test" \
  "$out_dir/speakers.tsv" "$out_dir/text" "$out_dir/.tmp"
tmp=$out_dir/.tmp
mkdir -p "$tmp" "$out_dir/wav" "$out_dir/train" "$out_dir/test"
cleanup() { rm -rf -- "$tmp"; }
trap cleanup EXIT

# ------------------------------------------------------------------ voices
# English accents and (reasonably natural sounding) voice variants; only the
# ones this espeak-ng installation actually has are used. Whisper, robot and
# novelty variants are deliberately left out.
want_accents="en-gb en-us en-gb-scotland en-gb-x-rp en-gb-x-gbclan en-gb-x-gbcwmd en-029 en-us-nyc"
want_male="m1 m2 m3 m4 m5 m6 m7 m8 klatt klatt2 klatt3 klatt4 Alex Andy adam benjamin
  boris david ed edward Gene iven john max Michael Mike norbert paul quincy rob
  robert travis victor Denis Marco Hugo gustave grandpa Storm Lee sandro pablo"
want_female="f1 f2 f3 f4 f5 Alicia Andrea Annie anika aunty belinda linda steph
  steph2 steph3 grandma shelby"

have_lang=" $(espeak-ng --voices=en | awk 'NR > 1 { printf "%s ", $2 }') "
have_var=" $(espeak-ng --voices=variant | awk '{ for (i = 1; i <= NF; i++)
  if ($i ~ /^!v\//) printf "%s ", substr($i, 4) }') "
filter() { local w out=""; for w in $2; do [[ $1 == *" $w "* ]] && out+="$w "; done; echo "$out"; }
accents=$(filter "$have_lang" "$want_accents")
male=$(filter "$have_var" "$want_male")
female=$(filter "$have_var" "$want_female")
[[ -n $accents ]] || die "espeak-ng has none of the English voices: $want_accents"
[[ -n $male && -n $female ]] \
  || die "espeak-ng voice variants missing (is espeak-ng-data installed?)"

# Sentences: comments and blank lines dropped, SSML special characters escaped.
mapfile -t sentences < <(awk '!/^[[:space:]]*(#|$)/ {
  gsub(/&/, "\\&amp;"); gsub(/</, "\\&lt;"); gsub(/>/, "\\&gt;"); print }' "$SENTENCES_FILE")
n_sent=${#sentences[@]}
(( n_sent >= 8 )) || die "need at least 8 sentences in $SENTENCES_FILE (found $n_sent)"

# ------------------------------------------------------------------ plan
# All randomness comes from one portable Park-Miller generator in awk (same
# numbers under mawk, gawk and busybox awk), with separate streams for
# speakers, utterances and trials.
readonly AWK_RNG='
function rng_seed(a, b,   i) {
  st = (a * 7919 + b * 104729 + 12345) % 2147483646 + 1
  for (i = 0; i < 8; i++) rnd()
}
function rnd() { st = (st * 16807) % 2147483647; return st / 2147483647 }
function rint(lo, hi) { return lo + int(rnd() * (hi - lo + 1)) }
function runi(lo, hi) { return lo + rnd() * (hi - lo) }
function abs(x) { return x < 0 ? -x : x }
'

awk -v seed="$seed" -v ntrain="$n_train" -v ntest="$n_test" -v nutt="$n_utts" \
    -v nsent="$n_sent" -v accents="$accents" -v male="$male" -v female="$female" \
    -v spk_tsv="$out_dir/speakers.tsv" -v plan="$tmp/plan.tsv" "$AWK_RNG"'
function shuffle(arr, n,   i, j, t) {
  for (i = n; i > 1; i--) { j = rint(1, i); t = arr[i]; arr[i] = arr[j]; arr[j] = t }
}
BEGIN {
  na = split(accents, A, " "); nm = split(male, M, " "); nf = split(female, F, " ")
  T = ntrain + ntest
  rng_seed(seed, 1)
  # Each variant is shared by about three speakers (who then differ in accent,
  # pitch, speed, range, spectral shift and colouring), so that voice variant
  # alone does not identify a speaker.
  shuffle(M, nm); shuffle(F, nf); mi = 0; fi = 0
  um = int(T * 0.55 / 3 + 0.999); if (um < 1) um = 1; if (um > nm) um = nm
  uf = int(T * 0.45 / 3 + 0.999); if (uf < 1) uf = 1; if (uf > nf) uf = nf
  for (k = 1; k <= T; k++) {
    g = (rnd() < 0.45) ? "f" : "m"
    if (g == "f") { var = F[fi % uf + 1]; fi++ } else { var = M[mi % um + 1]; mi++ }
    acc[k] = A[rint(1, na)]; gen[k] = g; vr[k] = var
    # Base pitch and speed: speakers sharing a variant differ by at least 10 in
    # pitch or 15 wpm in speed. Only if that is impossible (thousands of
    # speakers) fall back to: no two share (accent+variant, pitch, speed).
    for (tries = 0; ; tries++) {
      p = rint(20, 80); s = rint(140, 200); ok = 1; strict = tries < 2000
      for (j = 1; j < k; j++)
        if (vr[j] == var && (strict ? (abs(pit[j] - p) < 10 && abs(spd[j] - s) < 15) \
                                    : (acc[j] == acc[k] && pit[j] == p && spd[j] == s))) { ok = 0; break }
      if (ok) break
      if (tries > 20000) { print "make_corpus.sh: error: cannot place speaker " k > "/dev/stderr"; exit 1 }
    }
    pit[k] = p; spd[k] = s
    rng[k] = rint(60, 140)                       # SSML prosody range, percent
    amp[k] = rint(80, 140)                       # espeak-ng -a
    gap[k] = (rnd() < 0.6) ? 0 : ((rnd() < 0.7) ? 1 : 2)   # espeak-ng -g
    cts[k] = rint(-150, 150)                     # sox pitch shift, cents
    eqf[k] = rint(700, 3000)                     # peaking EQ centre, Hz
    eqg[k] = sprintf("%.1f", runi(-4, 4))        # peaking EQ gain, dB
    bas[k] = sprintf("%.1f", runi(-3, 3))        # bass shelf, dB
    tre[k] = sprintf("%.1f", runi(-4, 2))        # treble shelf, dB
    lpf[k] = rint(5200, 7800)                    # low-pass cut-off, Hz
    lev[k] = runi(-6, -1.5)                      # peak level, dBFS
  }
  # Stratified hold-out: sort by (gender, pitch, index), take evenly spaced ranks.
  for (k = 1; k <= T; k++) ord[k] = k
  for (a = 2; a <= T; a++) {
    x = ord[a]
    for (b = a - 1; b >= 1; b--) {
      y = ord[b]
      if (gen[y] < gen[x] || (gen[y] == gen[x] && (pit[y] < pit[x] || (pit[y] == pit[x] && y < x)))) break
      ord[b + 1] = y
    }
    ord[b + 1] = x
  }
  for (k = 1; k <= T; k++) split_of[k] = "train"
  for (i = 0; i < ntest; i++) split_of[ord[int((i + 0.5) * T / ntest) + 1]] = "test"

  w = length(T "") < 3 ? 3 : length(T ""); uw = length(nutt "") < 3 ? 3 : length(nutt "")
  print "spk\tsplit\tgender\tvoice\tpitch\tspeed\trange\tamp\tgap\tshift_cents\teq_hz\teq_db\tbass_db\ttreble_db\tlowpass_hz\tlevel_db" > spk_tsv
  rng_seed(seed, 2)
  for (k = 1; k <= T; k++) {
    spk = sprintf("spk%0" w "d", k); voice = acc[k] "+" vr[k]
    printf "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%d\t%.1f\n", spk, split_of[k], gen[k], voice,
      pit[k], spd[k], rng[k], amp[k], gap[k], cts[k], eqf[k], eqg[k], bas[k], tre[k], lpf[k], lev[k] > spk_tsv
    for (i = 1; i <= nsent; i++) perm[i] = i - 1
    shuffle(perm, nsent)
    for (u = 1; u <= nutt; u++) {
      utt = sprintf("%s-%0" uw "d", spk, u)
      p = pit[k] + rint(-6, 6); if (p < 0) p = 0; if (p > 99) p = 99
      s = int(spd[k] * runi(0.94, 1.06) + 0.5)
      r = rng[k] + rint(-10, 10)
      gain = sprintf("%.2f", lev[k] + runi(-1.5, 1.5))
      snr = rint(3000, 4000)                     # centi-dB
      # session/channel variability: tilt jitter and a random extra EQ band
      ub = sprintf("%.1f", bas[k] + runi(-3, 3)); ut = sprintf("%.1f", tre[k] + runi(-3, 3))
      uef = rint(300, 4000); ueg = sprintf("%.1f", runi(-6, 6)); uct = cts[k] + rint(-60, 60)
      off = rint(0, 80000)                       # noise start offset, samples
      c = ""
      for (j = 0; j < 4; j++) c = c "\t" perm[((u - 1) * 4 + j) % nsent + 1]
      printf "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%d\t%s\t%d\t%d\t%d\t%s%s\n", spk, utt, voice, p, s, r,
        amp[k], gap[k], uct, eqf[k], eqg[k], ub, ut, lpf[k], gain, snr, off, uef, ueg, c > plan
    }
  }
}'

# ------------------------------------------------------------------ synthesis
raw_rate=$(espeak-ng -v en -w "$tmp/probe.wav" "probe" && soxi -r "$tmp/probe.wav")
readonly min_raw=$(( raw_rate * 25 / 10 + raw_rate / 20 ))   # 2.55 s
readonly max_raw=$(( raw_rate * 6 - raw_rate / 20 ))         # 5.95 s
# Level of sox white noise (centi-dB RMS at gain 0), measured, not assumed.
noise_ref=$(sox -R -n -r 16000 -c 1 -n synth 80000s whitenoise gain -30 stats 2>&1 \
  | awk '/^RMS lev dB/ { printf "%d", ($4 + 30) * 100 + ($4 < 0 ? -0.5 : 0.5) }')
[[ $noise_ref =~ ^-?[0-9]+$ ]] || die "could not measure sox white-noise level"

cdb() { # "-21.54" -> -2154 (centi-dB, bash integer); also accepts "-21.5"
  local v=$1 sign="" ip fp
  [[ $v == -* ]] && { sign=-; v=${v#-}; }
  ip=${v%%.*}; fp=${v#*.}; [[ $v == *.* ]] || fp=0
  fp=${fp}00; fp=${fp:0:2}
  echo "${sign}$(( 10#$ip * 100 + 10#$fp ))"
}
fmt_cdb() { # -2154 -> "-21.54"
  local v=$1 sign=""
  (( v < 0 )) && { sign=-; v=$(( -v )); }
  printf '%s%d.%02d' "$sign" $(( v / 100 )) $(( v % 100 ))
}

synth_one() { # one plan line (tab separated) -> wav; $1 = scratch dir
  local work=$1 spk utt voice p s r a g cts eqf eqg bas tre lpf gain snr off uef ueg c1 c2 c3 c4
  IFS=$'\t' read -r spk utt voice p s r a g cts eqf eqg bas tre lpf gain snr off uef ueg c1 c2 c3 c4 <<< "$line"
  local raw=$work/raw.wav clean=$work/clean.wav out=$out_dir/wav/$spk/$utt.wav
  local choice text n best="" best_dist=-1 dist tempo=()
  # One sentence if it fits 2.5-6 s, else two, else the next candidates.
  for choice in "$c1" "$c1 $c2" "$c2" "$c2 $c3" "$c3" "$c3 $c4" "$c4"; do
    text=""
    for n in $choice; do text+="${sentences[n]} "; done
    espeak-ng -m -z -v "$voice" -p "$p" -s "$s" -a "$a" -g "$g" -w "$raw" \
      "<speak><prosody range=\"$r%\">${text% }</prosody></speak>"
    n=$(soxi -s "$raw")
    if (( n >= min_raw && n <= max_raw )); then best=""; break; fi
    if (( n < min_raw )); then dist=$(( min_raw - n )); else dist=$(( n - max_raw )); fi
    if (( best_dist < 0 || dist < best_dist )); then best_dist=$dist; best=$choice; fi
  done
  if [[ -n $best ]]; then
    # Nothing fitted (rare): take the closest and time-stretch it into range.
    text=""
    for n in $best; do text+="${sentences[n]} "; done
    espeak-ng -m -z -v "$voice" -p "$p" -s "$s" -a "$a" -g "$g" -w "$raw" \
      "<speak><prosody range=\"$r%\">${text% }</prosody></speak>"
    n=$(soxi -s "$raw")
    if (( n < min_raw )); then
      tempo=(tempo -s "0.$(printf %03d $(( n * 1000 / (min_raw + raw_rate / 10) )))")
    else
      local f=$(( n * 1000 / (max_raw - raw_rate / 10) ))
      tempo=(tempo -s "$(( f / 1000 )).$(printf '%03d' $(( f % 1000 )))")
    fi
  fi
  local stats rms
  stats=$(sox -R -D "$raw" -e floating-point -b 32 -r 16000 -c 1 "$clean" "${tempo[@]}" \
    pitch "$cts" highpass 70 lowpass "$lpf" equalizer "$eqf" 1.0q "$eqg" equalizer "$uef" 1.4q "$ueg" \
    bass "$bas" treble "$tre" rate -v 16000 gain -n "$gain" stats 2>&1)
  rms=$(awk '/^RMS lev dB/ { print $4 }' <<< "$stats")
  [[ $rms =~ ^-?[0-9]+(\.[0-9]+)?$ ]] || { echo "bad level for $utt: $stats" >&2; return 1; }
  local ns ng
  ns=$(soxi -s "$clean")
  ng=$(fmt_cdb $(( $(cdb "$rms") - snr - noise_ref )))
  sox -R -m -v 1 "$clean" -v 1 \
    "|sox -R -n -r 16000 -c 1 -p synth $(( ns + off ))s whitenoise gain $ng trim ${off}s" \
    -b 16 -e signed-integer "$out"
  printf "%s\t%s\t%s\n" "$utt" "${tempo[2]:-1}" "${text% }" >> "$work/log"
}

worker() { # $1 = worker index: handles plan lines k, k+J, k+2J, ...
  # Runs in a background subshell with errexit on; the ERR trap names the
  # utterance that failed before the subshell exits non-zero.
  set -E
  local k=$1 work=$tmp/w$1 i=0 line cur=""
  trap 'echo "make_corpus.sh: error: synthesis of utterance ${cur:-?} failed" >&2' ERR
  mkdir -p "$work"; : > "$work/log"
  while IFS= read -r line; do
    if (( i++ % jobs == k )); then
      cur=${line#*$'\t'}; cur=${cur%%$'\t'*}
      synth_one "$work"
    fi
  done < "$tmp/plan.tsv"
}

n_total=$(( (n_train + n_test) * n_utts ))
echo "make_corpus.sh: synthesising $n_total utterances ($n_train train + $n_test test speakers x $n_utts) with $jobs jobs into $out_dir"
cut -f1 "$tmp/plan.tsv" | sort -u | while read -r spk; do mkdir -p "$out_dir/wav/$spk"; done
pids=()
for (( k = 0; k < jobs; k++ )); do worker "$k" & pids+=($!); done
fail=0
for pid in "${pids[@]}"; do wait "$pid" || fail=1; done
(( fail == 0 )) || die "synthesis failed (see messages above)"
cat "$tmp"/w*/log | sort > "$tmp/synth.log"
cut -f1,3 "$tmp/synth.log" | tr "\t" " " > "$out_dir/text"
n_stretched=$(awk -F"\t" "\$2 != 1" "$tmp/synth.log" | wc -l)

# ------------------------------------------------------------------ data dirs
for split in train test; do
  d=$out_dir/$split
  awk -F'\t' -v s="$split" 'NR > 1 && $2 == s { print $1 }' "$out_dir/speakers.tsv" > "$tmp/$split.spk"
  awk -F'\t' -v dir="$out_dir/wav" 'NR == FNR { want[$1] = 1; next }
    ($1 in want) { printf "%s %s/%s/%s.wav\n", $2, dir, $1, $2 }' \
    "$tmp/$split.spk" "$tmp/plan.tsv" | sort > "$d/wav.scp"
  awk '{ s = $1; sub(/-[^-]*$/, "", s); print $1, s }' "$d/wav.scp" > "$d/utt2spk"
  awk '{ if ($2 != prev) { if (NR > 1) printf "\n"; printf "%s", $2; prev = $2 } printf " %s", $1 }
    END { if (NR) printf "\n" }' "$d/utt2spk" > "$d/spk2utt"
  cut -d' ' -f2 "$d/wav.scp" | xargs soxi -D > "$tmp/$split.dur"
  paste -d' ' <(cut -d' ' -f1 "$d/wav.scp") "$tmp/$split.dur" > "$d/utt2dur"
done

# Trials: every target pair (capped at 1000, sampled) plus as many distinct
# random non-target pairs; seeded, sorted by enrollment then test utterance.
awk -v seed="$seed" "$AWK_RNG"'
{ n++; u[n] = $1; s[n] = $2 }
END {
  rng_seed(seed, 3)
  for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (s[i] == s[j]) { nt++; ti[nt] = i; tj[nt] = j }
  keep = nt > 1000 ? 1000 : nt
  for (k = 1; k <= keep; k++) {
    x = rint(k, nt); a = ti[k]; ti[k] = ti[x]; ti[x] = a; a = tj[k]; tj[k] = tj[x]; tj[x] = a
    print "1", u[ti[k]], u[tj[k]]
  }
  for (k = 0; k < keep && tries < 1000000; tries++) {
    i = rint(1, n); j = rint(1, n)
    if (s[i] == s[j]) continue
    if (i > j) { a = i; i = j; j = a }
    if ((i, j) in seen) continue
    seen[i, j] = 1; k++
    print "0", u[i], u[j]
  }
}' "$out_dir/test/utt2spk" | sort -k2,2 -k3,3 > "$out_dir/test/trials"

# ------------------------------------------------------------------ checks
n_wav=$(find "$out_dir/wav" -name '*.wav' -type f | wc -l)
(( n_wav == n_total )) || die "expected $n_total wav files, found $n_wav"
for split in train test; do
  d=$out_dir/$split
  for f in wav.scp utt2spk spk2utt utt2dur; do [[ -s $d/$f ]] || die "empty $d/$f"; done
  bad=$(cut -d' ' -f2 "$d/wav.scp" | xargs soxi -r | grep -vcx 16000 || true)
  (( bad == 0 )) || die "$bad files in $split are not 16 kHz"
  bad=$(cut -d' ' -f2 "$d/wav.scp" | xargs soxi -c | grep -vcx 1 || true)
  (( bad == 0 )) || die "$bad files in $split are not mono"
  bad=$(cut -d' ' -f2 "$d/wav.scp" | xargs soxi -b | grep -vcx 16 || true)
  (( bad == 0 )) || die "$bad files in $split are not 16-bit"
  awk '$2 < 2.5 || $2 > 6 { bad++ } END { exit bad > 0 }' "$d/utt2dur" \
    || die "some $split utterances are outside 2.5-6 s (see $d/utt2dur)"
done
overlap=$(cut -d' ' -f1 "$out_dir/train/spk2utt" | sort | comm -12 - <(cut -d' ' -f1 "$out_dir/test/spk2utt" | sort) | wc -l)
(( overlap == 0 )) || die "train and test share $overlap speakers"
awk 'NF != 3 || ($1 != 0 && $1 != 1) { exit 1 }' "$out_dir/test/trials" || die "malformed trials file"

# ------------------------------------------------------------------ summary
awk -F'\t' 'NR > 1 { n[$2]++; g[$2 " " $3]++ }
  END { printf "speakers: train %d (%d f / %d m), test %d (%d f / %d m)\n",
        n["train"], g["train f"], g["train m"], n["test"], g["test f"], g["test m"] }' \
  "$out_dir/speakers.tsv"
for split in train test; do
  awk -v s="$split" '{ t += $2; if (NR == 1 || $2 < lo) lo = $2; if ($2 > hi) hi = $2 }
    END { printf "%-5s: %d utts, %.1f min, duration min/mean/max %.2f/%.2f/%.2f s\n", s, NR, t / 60, lo, t / NR, hi }' \
    "$out_dir/$split/utt2dur"
done
awk '{ c[$1]++ } END { printf "trials: %d (%d target, %d non-target)\n", NR, c[1], c[0] }' "$out_dir/test/trials"
echo "utterances time-stretched into 2.5-6 s: $n_stretched"
echo "per-speaker mean duration (s):"
awk '{ s = $1; sub(/-[^-]*$/, "", s); t[s] += $2; n[s]++ }
  END { for (s in t) printf "%s %.2f\n", s, t[s] / n[s] }' "$out_dir/train/utt2dur" "$out_dir/test/utt2dur" \
  | sort | awk '{ printf "  %s %s", $1, $2; if (NR % 6 == 0) printf "\n" } END { if (NR % 6) printf "\n" }'
echo "size: $(du -sh "$out_dir/wav" | cut -f1), time: $(( SECONDS - start_s )) s"

echo "$params" > "$out_dir/.done"
echo "make_corpus.sh: done: $out_dir"
