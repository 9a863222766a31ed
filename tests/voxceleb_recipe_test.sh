#!/usr/bin/env bash
# Test of recipes/voxceleb on a FAKE, tiny VoxCeleb-shaped tree (sox tones + noise):
#   VoxCeleb1 wav/idNNNNN/<video>/<n>.wav, VoxCeleb2 dev/aac/idNNNNN/<video>/<n>.m4a (wav bytes
#   named .m4a, decoded by an ffmpeg stand-in built on sox, since ffmpeg may not be installed),
#   official-format trial lists (cleaned VoxCeleb1 O/E/H, VoxSRC-2021 val, VoxSRC-2022 dev with
#   its own audio folder), VoxCeleb2 language labels, MUSAN and RIRS_NOISES folders with list files.
# Checks the data-prep scripts (ids, counts, pipes, trials against wav.scp, durations, utt2lang),
# then runs run.sh stages 0-9 end to end on CPU with a tiny model (one epoch of 8 iterations per
# training stage) and checks that every stage wrote its outputs, that the results table has the
# 8 columns of speaker-net's README, that a re-run skips finished work, that a recipe config
# runs by name, and that a missing input fails with a message naming it.
#
#   bash tests/voxceleb_recipe_test.sh SPEAKERNET_BINARY [SOURCE_DIR]      (exit 77 = skipped)
set -uo pipefail
export LC_ALL=C

source "$(dirname "${BASH_SOURCE[0]}")/lib/cli_test_lib.sh"
cli_test_tail=25
cli_test_init vox_recipe "$@"
cli_test_require sox  # the fake corpus
recipe=$src/recipes/voxceleb
has() { [[ -s $1 ]] || fail "$2: $1 is missing or empty"; pass; }

for c in make-calib-trials plot; do
  "$bin" "$c" --help > /dev/null 2>&1 || fail "$bin has no '$c' command (stale build?)"
done

# ---------------------------------------------------------------- fake corpus
fake=$work/fake
tone() {  # OUT SECONDS FREQ SEED: a speaker-specific tone + harmonics in noise, 16 kHz mono
  mkdir -p "$(dirname "$1")"
  sox -R -n -r 16000 -c 1 -b 16 -t wav "$1" synth "$2" sine "$3" sine "$(( $3 * 2 ))" \
    brownnoise synth "$2" whitenoise remix - gain -n -6 2> /dev/null ||
    sox -R -n -r 16000 -c 1 -b 16 -t wav "$1" synth "$2" sine "$3" gain -6
}
# VoxCeleb1: 4 speakers x 2 videos x 2 utterances; one video id contains "-" (as YouTube ids can)
v1=(id10001 id10002 id10003 id10004)
for i in "${!v1[@]}"; do
  for vid in "vA${i}-x_1" "vB$i"; do
    for n in 00001 00002; do
      tone "$fake/vox1/wav/${v1[$i]}/$vid/$n.wav" 2.$(( i + 1 )) $(( 150 + 90 * i )) $i
    done
  done
done
# VoxCeleb2 dev: 4 speakers x 2 videos x 3 utterances (2.5 s and 6.5 s: short and long for QMF)
v2=(id00012 id00015 id00017 id00020)
for i in "${!v2[@]}"; do
  for vid in "a-${i}Xy" "b_$i"; do
    for n in 00001 00002 00003; do
      d=2.5; [[ $n == 00003 ]] && d=6.5
      tone "$fake/vox2/dev/aac/${v2[$i]}/$vid/$n.m4a" "$d" $(( 120 + 110 * i )) $i
    done
  done
done
# official-format trial lists (cleaned names); E and H use the same pairs here
{
  for i in 0 1 2 3; do
    echo "1 ${v1[$i]}/vA${i}-x_1/00001.wav ${v1[$i]}/vB$i/00002.wav"
    echo "1 ${v1[$i]}/vA${i}-x_1/00002.wav ${v1[$i]}/vB$i/00001.wav"
    j=$(( (i + 1) % 4 ))
    echo "0 ${v1[$i]}/vA${i}-x_1/00001.wav ${v1[$j]}/vB$j/00001.wav"
    echo "0 ${v1[$i]}/vB$i/00002.wav ${v1[$j]}/vA${j}-x_1/00002.wav"
  done
} > "$fake/vox1/veri_test2.txt"
cp "$fake/vox1/veri_test2.txt" "$fake/vox1/list_test_all2.txt"
head -n 12 "$fake/vox1/veri_test2.txt" > "$fake/vox1/list_test_hard2.txt"
# VoxSRC-2021 val: VoxCeleb1 utterances, the official list format
tail -n 10 "$fake/vox1/veri_test2.txt" > "$fake/vox1/voxsrc2021_val.txt"
# VoxSRC-2022 dev: its own flat audio folder (2 "speakers" x 2 files) and VoxCeleb1 utterances
for k in 0 1 2 3; do tone "$fake/voxsrc22/VoxSRC2022_dev/dev_0000$k.wav" 2.2 $(( 160 + 90 * (k / 2) )) $k; done
cat > "$fake/voxsrc22/voxsrc2022_dev.txt" << 'EOF2'
1 VoxSRC2022_dev/dev_00000.wav VoxSRC2022_dev/dev_00001.wav
1 VoxSRC2022_dev/dev_00002.wav VoxSRC2022_dev/dev_00003.wav
0 VoxSRC2022_dev/dev_00000.wav VoxSRC2022_dev/dev_00002.wav
0 VoxSRC2022_dev/dev_00001.wav VoxSRC2022_dev/dev_00003.wav
1 id10001/vA0-x_1/00001.wav id10001/vB0/00001.wav
0 id10002/vA1-x_1/00001.wav VoxSRC2022_dev/dev_00003.wav
EOF2
# VoxCeleb2 language labels (lang_vox2_final.csv format); unlisted utterances become "other"
for i in 0 1 2 3; do
  echo "${v2[$i]}/a-${i}Xy/00001.wav,en,0.9"
  echo "${v2[$i]}/b_$i/00001.wav,$([[ $i == 0 ]] && echo de || echo en),0.8"
done > "$fake/lang_vox2_final.csv"
# MUSAN and RIRS_NOISES
for s in noise/free-sound music/fma speech/librivox; do
  for k in 1 2; do tone "$fake/musan/$s/${s%%/*}-000$k.wav" 3 $(( 300 * k + 77 )) $k; done
done
rn=$fake/RIRS_NOISES
rir() { mkdir -p "$(dirname "$1")"; sox -R -n -r 16000 -c 1 -b 16 "$1" synth 0.3 whitenoise fade q 0 0.3 0.29 gain -n -3 2> /dev/null; }
for room in smallroom mediumroom; do
  for k in 1 2; do
    rir "$rn/simulated_rirs/$room/Room001/Room001-0000$k.wav"
    echo "--rir-id ${room%room}-Room001-0000$k --room-id ${room%room}-Room001 RIRS_NOISES/simulated_rirs/$room/Room001/Room001-0000$k.wav" >> "$rn/simulated_rirs/$room/rir_list"
  done
done
rir "$rn/real_rirs_isotropic_noises/air_type1_rir_1.wav"
tone "$rn/real_rirs_isotropic_noises/air_type1_noise_1.wav" 2 200 1
echo "--rir-id air1 --room-id air RIRS_NOISES/real_rirs_isotropic_noises/air_type1_rir_1.wav" > "$rn/real_rirs_isotropic_noises/rir_list"
tone "$rn/pointsource_noises/noise-free-sound-0001.wav" 2 500 1
echo "--noise-id n1 --noise-type point-source --bg-fg-type background RIRS_NOISES/pointsource_noises/noise-free-sound-0001.wav" > "$rn/pointsource_noises/noise_list"

# ffmpeg stand-in (only "-i FILE ... OUT", OUT = "-" or a path), used if ffmpeg is missing and
# also when it is present, so the test does not depend on the real one.
mkdir -p "$work/shim"
cat > "$work/shim/ffmpeg" << 'EOF'
#!/usr/bin/env bash
in="" out=""
while [[ $# -gt 0 ]]; do
  case $1 in -i) in=$2; shift 2 ;; -v|-f|-acodec|-ar|-ac) shift 2 ;; -y|-nostdin) shift ;; *) out=$1; shift ;; esac
done
[[ -f $in ]] || { echo "fake ffmpeg: $in: no such file" >&2; exit 1; }
if [[ $out == - ]]; then exec sox -t wav "$in" -t wav -b 16 -r 16000 -c 1 -; else exec sox -t wav "$in" -t wav -b 16 -r 16000 -c 1 "$out"; fi
EOF
chmod +x "$work/shim/ffmpeg"
export PATH=$work/shim:$PATH
echo "fake corpus made in $((SECONDS - start)) s"

# ---------------------------------------------------------------- data-prep scripts
d=$work/prep
run "make_voxceleb.sh vox1" bash "$recipe/local/make_voxceleb.sh" "$d/vox1" "$fake/vox1/wav"
equal "$(lines "$d/vox1/wav.scp")" 16 "vox1 utterances"
equal "$(lines "$d/vox1/spk2utt")" 4 "vox1 speakers"
grep -qx "id10001-vA0-x_1-00002 $fake/vox1/wav/id10001/vA0-x_1/00002.wav" "$d/vox1/wav.scp" ||
  fail "vox1 wav.scp lacks the expected line for id10001-vA0-x_1-00002"
pass
equal "$(grep -c '^id10003-vB2-00001 id10003$' "$d/vox1/utt2spk")" 1 "vox1 utt2spk"
equal "$(awk '{ print NF }' "$d/vox1/spk2utt" | sort -u)" 5 "vox1 spk2utt: 4 utterances per speaker"
equal "$(cut -d' ' -f1 "$d/vox1/wav.scp" | sort -c && echo sorted)" sorted "vox1 wav.scp sorted"
run "make_voxceleb.sh vox2 m4a" bash "$recipe/local/make_voxceleb.sh" --ext m4a "$d/vox2" "$fake/vox2/dev/aac"
equal "$(lines "$d/vox2/wav.scp")" 24 "vox2 utterances"
equal "$(lines "$d/vox2/spk2utt")" 4 "vox2 speakers"
grep -qxF "id00015-a-1Xy-00003 ffmpeg -v 8 -i $fake/vox2/dev/aac/id00015/a-1Xy/00003.m4a -f wav -acodec pcm_s16le -ar 16000 -ac 1 - |" "$d/vox2/wav.scp" ||
  fail "vox2 wav.scp: no ffmpeg pipe entry for id00015-a-1Xy-00003"
pass
run "make_utt2lang.sh" bash "$recipe/local/make_utt2lang.sh" "$fake/lang_vox2_final.csv" "$d/vox2"
equal "$(lines "$d/vox2/utt2lang")" 24 "utt2lang: one line per utterance"
equal "$(awk '$1 == "id00012-b_0-00001" { print $2 }' "$d/vox2/utt2lang")" de "utt2lang label"
equal "$(grep -c ' other$' "$d/vox2/utt2lang")" 16 "utt2lang: unlabelled utterances are 'other'"
run "make_trials.sh" bash "$recipe/local/make_trials.sh" "$fake/vox1/veri_test2.txt" "$d/trials" "$d/vox1"
equal "$(lines "$d/trials")" 16 "trial count"
equal "$(grep -c ' target$' "$d/trials")" 8 "target trials"
equal "$(head -n 1 "$d/trials")" "id10001-vA0-x_1-00001 id10001-vB0-00002 target" "first trial"
equal "$(awk 'NR == FNR { u[$1] = 1; next } !($1 in u) || !($2 in u)' "$d/vox1/wav.scp" "$d/trials" | wc -l)" 0 \
  "every trial utterance is in wav.scp"
echo "1 id10009/zzz/00001.wav id10001/vB0/00001.wav" > "$work/bad_list"
if bash "$recipe/local/make_trials.sh" "$work/bad_list" "$d/bad_trials" "$d/vox1" 2> "$work/last.err"; then
  fail "make_trials.sh accepted a trial with an utterance missing from wav.scp"
fi
grep -q "id10009-zzz-00001" "$work/last.err" || fail "make_trials.sh error does not name the missing utterance"
pass
cp -r "$d/vox1" "$d/vox1src"
run "add_voxsrc22.sh" bash "$recipe/local/add_voxsrc22.sh" "$d/vox1src" "$fake/voxsrc22/VoxSRC2022_dev"
run "add_voxsrc22.sh again (replaces, no duplicates)" bash "$recipe/local/add_voxsrc22.sh" "$d/vox1src" \
  "$fake/voxsrc22/VoxSRC2022_dev"
equal "$(lines "$d/vox1src/wav.scp")" 20 "vox1 + VoxSRC-2022 dev utterances"
equal "$(grep -c '^VoxSRC2022_dev-dev_00002 VoxSRC2022_dev-dev_00002$' "$d/vox1src/utt2spk")" 1 \
  "a VoxSRC-2022 dev utterance is its own speaker"
equal "$(cut -d' ' -f1 "$d/vox1src/wav.scp" | sort -c && echo sorted)" sorted "wav.scp still sorted"
run "make_trials.sh (VoxSRC-2022 dev)" bash "$recipe/local/make_trials.sh" \
  "$fake/voxsrc22/voxsrc2022_dev.txt" "$d/trials22" "$d/vox1src"
equal "$(sed -n 6p "$d/trials22")" "id10002-vA1-x_1-00001 VoxSRC2022_dev-dev_00003 nontarget" \
  "VoxSRC-2022 dev ids"
run "make_utt2dur.sh (files)" bash "$recipe/local/make_utt2dur.sh" "$d/vox1" 2
equal "$(awk '$1 == "id10002-vB1-00001" { print $2 }' "$d/vox1/utt2dur")" 2.200000 "vox1 duration"
run "make_utt2dur.sh (ffmpeg pipes)" bash "$recipe/local/make_utt2dur.sh" "$d/vox2" 2
equal "$(awk '$1 == "id00020-b_3-00003" { printf "%.3f", $2 }' "$d/vox2/utt2dur")" 6.500 "vox2 duration through the pipe"
run "convert_m4a.sh" bash "$recipe/local/convert_m4a.sh" "$d/vox2" "$d/wav2" "$d/vox2wav" 2
equal "$(grep -c ' |$' "$d/vox2wav/wav.scp")" 0 "converted wav.scp has no pipes"
has "$d/wav2/id00012/a-0Xy/00001.wav" "converted wav"
run "make_musan.sh" bash "$recipe/local/make_musan.sh" "$fake/musan" "$d"
equal "$(lines "$d/musan_speech/wav.scp")" 2 "musan speech files"
run "make_rirs.sh" bash "$recipe/local/make_rirs.sh" "$fake" "$d"
equal "$(lines "$d/rirs_sim_medium/wav.scp")" 2 "medium-room RIRs"
equal "$(lines "$d/rirs_real/wav.scp")" 1 "real RIRs (from rir_list, noises excluded)"
equal "$(lines "$d/rirs_pointsource_noises/wav.scp")" 1 "point-source noises"

# ---------------------------------------------------------------- run.sh end to end
# Tiny model and schedule; speaker-net's egs/validation settings are overridden for 4 speakers.
tiny="--model.type=resnet --model.emb_dim=32 --model.resnet.layers=[1,1,1,1] --model.resnet.planes=[4,8,8,8]
 --model.pooling.type=statistics --loss.K=1 --loss.topk=0 --loader.batch_size=8 --loader.num_workers=1
 --loader.validation_speakers=0 --trainer.epochs=1 --runtime.threads=2
 --trainer.report_interval_iters=1"
common=(--speakernet "$bin" --work "$work/w" --vox1 "$fake/vox1" --vox2 "$fake/vox2" --musan "$fake/musan"
        --rirs "$fake" --voxsrc22 "$fake/voxsrc22" --vox2-lang "$fake/lang_vox2_final.csv"
        --device cpu --nj 2 --top-n 3 --calib-per-condition 4 --extract-opts "--threads 1")
run "run.sh --help" bash "$recipe/run.sh" --help
grep -q "7  scoring" "$work/last.out" || fail "run.sh --help does not list the stages"
pass
run "run.sh stages 0-9" bash "$recipe/run.sh" "${common[@]}" --train-opts "$tiny" \
  --lm-opts "$tiny --loader.chunk_seconds=3.0 --loader.min_chunk_seconds=2.0"
cp "$work/last.out" "$work/full.out"
w=$work/w
for f in data/voxceleb2_dev/utt2dur data/voxceleb1/utt2dur data/voxceleb1/trials/voxceleb1-O-clean \
         data/voxceleb1/trials/voxceleb1-E-clean data/voxceleb1/trials/voxceleb1-H-clean \
         data/musan_noise/wav.scp data/rirs_sim_small/wav.scp data/calibration/cali_trials \
         exp/resnet34-32/config.yaml exp/resnet34-32_lm/config.yaml \
         emb/resnet34-32_lm/voxceleb2_dev/embeddings.scp emb/resnet34-32_lm/voxceleb1/embeddings.scp \
         results/resnet34-32_lm/voxceleb1-O-clean.results results/resnet34-32_lm/results.txt \
         plots/resnet34-32_lm/voxceleb1-H-clean.det.png plots/resnet34-32_lm/voxceleb1-H-clean.hist.png; do
  has "$w/$f" "run.sh output"
done
equal "$(lines "$w/data/voxceleb1/trials/voxceleb1-H-clean")" 12 "H trials"
equal "$(lines "$w/data/voxceleb1/trials/voxsrc2021-val")" 10 "VoxSRC-2021 val trials"
equal "$(lines "$w/data/voxceleb1/trials/voxsrc2022-dev")" 6 "VoxSRC-2022 dev trials"
equal "$(lines "$w/scores/resnet34-32_lm/voxsrc2022-dev/final.score")" 6 "VoxSRC-2022 dev scored"
equal "$(grep -c '^VoxSRC2022_dev-' "$w/emb/resnet34-32_lm/voxceleb1/embeddings.scp")" 4 \
  "VoxSRC-2022 dev audio extracted"
equal "$(awk '$2 != "other"' "$w/data/voxceleb2_dev/utt2lang" | wc -l)" 8 "utt2lang from --vox2-lang"
# speaker-net's README columns in its order; the uncleaned VoxCeleb1 lists are absent here ("-")
header=$(head -n 1 "$w/results/resnet34-32_lm/results.txt")
equal "$(grep -o 'vox[A-Za-z0-9-]*' <<< "$header" | paste -sd' ' -)" \
  "voxceleb1-O voxceleb1-O-clean voxceleb1-E voxceleb1-E-clean voxceleb1-H voxceleb1-H-clean voxsrc2021-val voxsrc2022-dev" \
  "results table columns"
equal "$(grep '^qmf' "$w/results/resnet34-32_lm/results.txt" | awk -F'┃' '{ gsub(/ /, "", $2); gsub(/ /, "", $3); print $2, ($3 ~ /│/) }')" \
  "- 1" "qmf row: '-' for voxceleb1-O, a value for voxceleb1-O-clean"
equal "$(lines "$w/scores/resnet34-32_lm/voxceleb1-O-clean/final.score")" 16 "scored trials"
grep -q "init_from\|initialising from exp/resnet34-32/checkpoints/epoch-1" "$work/full.out" ||
  fail "LM stage did not start from the pre-trained epoch checkpoint"
pass
grep -q "augment" "$w/exp/resnet34-32/config.yaml" && grep -q "chain" "$w/exp/resnet34-32/config.yaml" ||
  fail "pre-training config has no augmentation chain"
pass
for s in cosine submean asnorm qmf; do
  grep -q "$s" "$w/results/resnet34-32_lm/results.txt" || fail "results table has no $s row"
  pass
done
# a re-run skips finished work
run "run.sh re-run" bash "$recipe/run.sh" "${common[@]}" --train-opts "$tiny"
grep -q "data/voxceleb1 is up to date" "$work/last.out" || fail "re-run redid stage 0"
grep -q "scores/resnet34-32_lm/voxceleb1-O-clean/final.score is up to date" "$work/last.out" || fail "re-run redid scoring"
pass
# any recipe config by name (pre-training stage only; a 5 k-parameter ECAPA-TDNN)
tiny_ecapa="--model.ecapa.channels=16 --model.emb_dim=8 --model.pooling.hidden_size=8 --loss.K=1
 --loss.topk=0 --loader.batch_size=8 --loader.num_workers=1 --loader.validation_speakers=0
 --trainer.epochs=1 --runtime.threads=2 --trainer.report_interval_iters=1"
run "run.sh --config ecapa-tdnn-c512_sgd (stage 4)" bash "$recipe/run.sh" "${common[@]}" \
  --config ecapa-tdnn-c512_sgd --stage 4 --stop-stage 4 --train-opts "$tiny_ecapa"
contains "$w/exp/ecapa-tdnn-c512_sgd/config.yaml" "type: ecapa" "ECAPA experiment from the named config"
contains "$w/exp/ecapa-tdnn-c512_sgd/config.yaml" "deterministic: false" "the named config's settings"
has "$w/exp/ecapa-tdnn-c512_sgd/checkpoints/epoch-1/model.pt" "ECAPA checkpoint"
if bash "$recipe/run.sh" "${common[@]}" --config resnet34-32_lm --stage 4 --stop-stage 4 > "$work/last.out" 2> "$work/last.err"; then
  fail "run.sh pre-trained with a large-margin config"
fi
grep -q "resnet34-32_lm is a large-margin fine-tuning config: pass --config resnet34-32" "$work/last.err" ||
  fail "an _lm config as --config is not explained"
pass
if bash "$recipe/run.sh" "${common[@]}" --config resnet35 --stage 4 --stop-stage 4 > "$work/last.out" 2> "$work/last.err"; then
  fail "run.sh accepted an unknown config name"
fi
grep -q "conf/resnet35.yaml not found (the recipe configs: .*ecapa-tdnn-c512_sgd" "$work/last.err" ||
  fail "an unknown config name is not named with the available ones"
pass
# --convert-m4a: VoxCeleb2 decoded to wav once, durations from the wav files
run "run.sh --convert-m4a true (stages 0-1)" bash "$recipe/run.sh" "${common[@]}" --work "$work/w4" \
  --aug false --convert-m4a true --stop-stage 1
equal "$(grep -c ' |$' "$work/w4/data/voxceleb2_dev/wav.scp")" 0 "converted voxceleb2_dev has no pipes"
equal "$(cmp -s "$work/w4/data/voxceleb2_dev/utt2dur" "$w/data/voxceleb2_dev/utt2dur" && echo same)" same \
  "durations of the wav files equal those decoded through the pipes"
# a missing input fails with its name
if bash "$recipe/run.sh" "${common[@]}" --work "$work/w2" --vox2 "$work/nowhere" --stop-stage 0 > "$work/last.out" 2> "$work/last.err"; then
  fail "run.sh succeeded without VoxCeleb2"
fi
grep -q "error: VoxCeleb2 dev not found: expected $work/nowhere/dev/aac" "$work/last.err" || fail "missing VoxCeleb2 not named"
pass
if bash "$recipe/run.sh" "${common[@]}" --stage 7 --stop-stage 7 --trials "voxceleb1-X" > "$work/last.out" 2> "$work/last.err"; then
  fail "run.sh scored a trial list that does not exist"
fi
grep -q "data/voxceleb1/trials/voxceleb1-X is missing" "$work/last.err" || fail "missing trial list not named"
pass

echo "PASS: $checks checks in $((SECONDS - start)) s"
