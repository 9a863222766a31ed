#!/usr/bin/env bash
# VoxCeleb recipe for speakernet (speaker-net's recipes/voxceleb2, spec §8): train any of
# speaker-net's recipes (conf/) on VoxCeleb2-dev, evaluate on VoxCeleb1-O/E/H and VoxSRC lists.
#
#   bash recipes/voxceleb/run.sh --vox1 DIR --vox2 DIR --musan DIR --rirs DIR [--config NAME] [options]
#
# Stages (--stage N --stop-stage M; every stage skips what is already done, so re-running resumes):
#   0  data dirs: data/voxceleb2_dev (m4a via ffmpeg pipes; utt2lang with --vox2-lang),
#      data/voxceleb1 (dev + test, plus the VoxSRC-2022 dev audio with --voxsrc22) and its trial
#      lists data/voxceleb1/trials/: voxceleb1-{O,E,H}-clean, and voxceleb1-{O,E,H},
#      voxsrc2021-val, voxsrc2022-dev when their files are found
#   1  (--convert-m4a true) decode VoxCeleb2 m4a to wav once; durations (utt2dur) of both sets
#   2  augmentation sets data/musan_{noise,music,speech}, data/rirs_{sim_small,sim_medium,real,
#      pointsource_noises} (skipped with --aug false)
#   3  QMF calibration trials data/calibration (speakernet make-calib-trials on voxceleb2_dev)
#   4  pre-training: exp/MODEL (--config MODEL: conf/MODEL.yaml, any of speaker-net's recipes)
#   5  large-margin fine-tuning: exp/MODEL_lm (conf/MODEL_lm.yaml, --init-from the pre-trained
#      model; skipped with --lm false, or when MODEL has no _lm config)
#   6  embeddings of voxceleb2_dev (submean, AS-norm cohort, calibration) and voxceleb1
#   7  scoring of each trial list: cosine, submean, AS-norm top-N, QMF (duration + imposter)
#   8  results table results/FINAL/results.txt (EER % │ minDCF(0.01) per stage and list, the 8
#      columns of speaker-net's README)
#   9  DET curves and score histograms plots/FINAL/<trials>.{det,hist}.png
# Everything is written below --work (default: recipes/voxceleb/work): data/ exp/ emb/ scores/
# results/ plots/. No Python at run time; needs bash, awk, sox and (for m4a) ffmpeg.
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)

# ---- dataset roots: edit here or pass --vox1/--vox2/--musan/--rirs ----------------------------
vox1=/data/voxceleb/voxceleb1    # holds wav/idXXXXX/... (or dev/wav and test/wav) and the trial lists
vox2=/data/voxceleb/voxceleb2    # holds dev/aac/idXXXXX/... (.m4a)
musan=/data/musan                # holds noise/ music/ speech/ (or musan/)
rirs=/data/RIRS_NOISES           # the RIRS_NOISES folder (or its parent)
lists=                           # folder of veri_test2.txt, list_test_all2.txt, list_test_hard2.txt, ... (default: --vox1, then its meta/ and parent)
voxsrc22=                        # VoxSRC-2022 dev: folder of VoxSRC2022_dev/*.wav and voxsrc2022_dev[_fixed].txt (optional)
vox2_lang=                       # lang_vox2_final.csv (VoxSRC-2021 workshop) for the *_paired configs' utt2lang (optional)

# ---- options -----------------------------------------------------------------------------------
stage=0
stop_stage=9
work=$here/work
speakernet=$root/build/bin/speakernet
config=                          # NAME (conf/NAME.yaml, e.g. ecapa-tdnn-c512_sgd) or FILE; default resnet34-32
model=                           # experiment name exp/MODEL (default: the config's name)
lm_config=                       # default conf/MODEL_lm.yaml (NAME or FILE)
lm=auto                          # large-margin fine-tuning (stage 5): auto = when an _lm config exists
lm_init_epoch=                   # pre-trained checkpoint epoch-E for --init-from (default: the newest; speaker-net: 31)
aug=true                         # MUSAN + RIRS augmentation (stage 2; chain in pre-training, random in LM)
convert_m4a=false                # stage 1: decode VoxCeleb2 to wav once (about 260 GB, see README)
device=cuda                      # train and extract device (cpu for a CPU-only build)
nproc=1                          # training processes (one per GPU)
nj=8                             # parallel jobs for durations and m4a conversion
top_n=300                        # AS-norm cohort size
calib_per_condition=5000         # make-calib-trials --per-condition
trials=                          # lists to score; default: the cleaned O/E/H, plus every other README list found
train_opts=""                    # extra --section.key=value overrides for stage 4
lm_opts=""                       # ... for stage 5
extract_opts=""                  # extra options for speakernet extract

usage() {
  sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'
  cat << EOF
Options (default):
  --stage N ($stage) --stop-stage M ($stop_stage)
  --vox1 DIR ($vox1)  --vox2 DIR ($vox2)  --musan DIR ($musan)  --rirs DIR ($rirs)
  --lists DIR         folder of the official trial lists (default: --vox1, --vox1/meta, its parent)
  --voxsrc22 DIR      VoxSRC-2022 dev audio (DIR/VoxSRC2022_dev/*.wav) and list (voxsrc2022_dev.txt)
  --vox2-lang FILE    lang_vox2_final.csv: VoxCeleb2 language labels (utt2lang, *_paired configs)
  --work DIR ($work)
  --speakernet PATH ($speakernet)
  --config NAME|FILE (resnet34-32; the names: ls conf/)  --model NAME (exp name)  --lm-config NAME|FILE
  --lm auto|true|false ($lm)  --lm-init-epoch E  --aug true|false ($aug)  --convert-m4a true|false ($convert_m4a)
  --device cpu|cuda ($device)  --nproc N ($nproc)  --nj N ($nj)
  --top-n N ($top_n)  --calib-per-condition N ($calib_per_condition)
  --trials "LISTS" (default: voxceleb1-{O,E,H}-clean + the other README lists that exist)
  --train-opts "OVERRIDES"  --lm-opts "OVERRIDES"  --extract-opts "OPTIONS"
EOF
}

die() { echo "run.sh: error: $*" >&2; exit 1; }
need_file() { [[ -s $1 ]] || die "$1 is missing${2:+ ($2)}"; }
abs() { case $1 in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
bool() { [[ $2 == true || $2 == false ]] || die "$1 must be true or false, got '$2'"; }

while [[ $# -gt 0 ]]; do
  [[ $1 == -h || $1 == --help ]] && { usage; exit 0; }
  [[ $1 == --* && $# -ge 2 ]] || { usage >&2; die "unexpected argument '$1'"; }
  opt=${1#--}; opt=${opt//-/_}
  case $opt in
    stage|stop_stage|vox1|vox2|musan|rirs|lists|voxsrc22|vox2_lang|work|speakernet|model|config|lm_config|\
    lm|lm_init_epoch|aug|convert_m4a|device|nproc|nj|top_n|calib_per_condition|trials|train_opts|lm_opts|\
    extract_opts)
      printf -v "$opt" '%s' "$2" ;;
    *) usage >&2; die "unknown option $1" ;;
  esac
  shift 2
done
[[ $lm == auto ]] || bool --lm "$lm"
bool --aug "$aug"; bool --convert-m4a "$convert_m4a"
[[ $stage =~ ^[0-9]+$ && $stop_stage =~ ^[0-9]+$ ]] || die "--stage and --stop-stage must be numbers"

# Absolute paths, then work inside --work (the configs name the augmentation sets data/...).
vox1=$(abs "$vox1"); vox2=$(abs "$vox2"); musan=$(abs "$musan"); rirs=$(abs "$rirs")
[[ -z $lists ]] || lists=$(abs "$lists")
[[ -z $voxsrc22 ]] || voxsrc22=$(abs "$voxsrc22")
[[ -z $vox2_lang ]] || vox2_lang=$(abs "$vox2_lang")
work=$(abs "$work"); speakernet=$(abs "$speakernet")

conf_file() {  # NAME|FILE: conf/NAME.yaml for a bare name, else the file
  case $1 in */*|*.yaml) abs "$1" ;; *) echo "$here/conf/$1.yaml" ;; esac
}
config=$(conf_file "${config:-${model:-resnet34-32}}")
[[ -f $config ]] || die "config $config not found (the recipe configs: $(cd "$here/conf" && ls *.yaml | sed 's/\.yaml$//' | paste -sd' ' -))"
stem=$(basename "$config" .yaml)
model=${model:-$stem}
[[ $stem != *_lm ]] || die "$stem is a large-margin fine-tuning config: pass --config ${stem%_lm} (stage 5 fine-tunes with ${stem})"
lm_config=$(conf_file "${lm_config:-$(dirname "$config")/${stem}_lm.yaml}")
if [[ $lm == auto ]]; then
  if [[ -f $lm_config ]]; then lm=true; else lm=false; fi
fi
local_dir=$here/local
[[ -x $speakernet ]] || die "$speakernet not found or not executable; build it (bash tools/build.sh) or pass --speakernet PATH"
mkdir -p "$work"
cd "$work"

exp=exp/$model
if [[ $lm == true ]]; then final=${model}_lm; else final=$model; fi
emb=emb/$final

in_range() { (( stage <= $1 && $1 <= stop_stage )); }
log() { echo "run.sh: $*"; }
sn() { log "speakernet $*"; "$speakernet" "$@"; }

# ------------------------------------------------------------------------------------------ 0
# speaker-net's README columns: the 6 VoxCeleb1 lists, VoxSRC-2021 val, VoxSRC-2022 dev
readme_lists="voxceleb1-O voxceleb1-O-clean voxceleb1-E voxceleb1-E-clean voxceleb1-H voxceleb1-H-clean
              voxsrc2021-val voxsrc2022-dev"
scored_lists() {  # --trials, or the cleaned O/E/H plus every other README list prepared in stage 0
  local t
  if [[ -n ${trials//[[:space:]]/} ]]; then echo $trials; return; fi
  for t in $readme_lists; do
    [[ $t == *-clean || -s data/voxceleb1/trials/$t ]] && echo "$t"
  done
  return 0
}

find_list() {  # NAME [DIR...]: path of an official trial list, or empty
  local d name=$1
  shift
  for d in "$@" ${lists:+"$lists"} "$vox1" "$vox1/meta" "$(dirname "$vox1")"; do
    [[ -s $d/$name ]] && { echo "$d/$name"; return 0; }
  done
  return 0
}

voxsrc22_wavs() {  # the folder of the VoxSRC-2022 dev wavs under --voxsrc22
  if [[ -d $voxsrc22/VoxSRC2022_dev ]]; then echo "$voxsrc22/VoxSRC2022_dev"; else echo "$voxsrc22"; fi
}

voxsrc22_list() {  # speaker-net's voxsrc2022_dev_fixed.txt, else the challenge's voxsrc2022_dev.txt
  local d
  d=$(dirname "$(voxsrc22_wavs)")
  local l
  l=$(find_list voxsrc2022_dev_fixed.txt "$voxsrc22" "$d")
  [[ -n $l ]] || l=$(find_list voxsrc2022_dev.txt "$voxsrc22" "$d")
  echo "$l"
}

make_voxceleb1_dir() {  # data/voxceleb1: VoxCeleb1 dev + test (+ the VoxSRC-2022 dev audio)
  local roots=() d stamp="$vox1${voxsrc22:+ $voxsrc22}"
  if [[ -s data/voxceleb1/.done ]] && [[ $(cat data/voxceleb1/.done) == "$stamp" ]]; then
    log "data/voxceleb1 is up to date"; return
  fi
  if [[ -d $vox1/wav ]]; then roots=("$vox1/wav"); fi
  for d in "$vox1/dev/wav" "$vox1/test/wav" "$vox1/vox1_dev_wav/wav" "$vox1/vox1_test_wav/wav"; do
    [[ -d $d ]] && roots+=("$d")
  done
  (( ${#roots[@]} )) || die "VoxCeleb1 not found: expected $vox1/wav/idXXXXX/... or $vox1/{dev,test}/wav (pass --vox1 DIR)"
  rm -f data/voxceleb1/.done
  bash "$local_dir/make_voxceleb.sh" --ext wav data/voxceleb1 "${roots[@]}"
  if [[ -n $voxsrc22 ]]; then
    [[ -d $voxsrc22 ]] || die "VoxSRC-2022 dev not found at $voxsrc22 (--voxsrc22 DIR: DIR/VoxSRC2022_dev/*.wav)"
    bash "$local_dir/add_voxsrc22.sh" data/voxceleb1 "$(voxsrc22_wavs)"
  fi
  echo "$stamp" > data/voxceleb1/.done
}

make_utt2lang() {  # data/voxceleb2_dev/utt2lang from --vox2-lang (the *_paired configs)
  [[ -n $vox2_lang ]] || return 0
  if [[ -s data/voxceleb2_dev/utt2lang && data/voxceleb2_dev/utt2lang -nt $vox2_lang &&
        data/voxceleb2_dev/utt2lang -nt data/voxceleb2_dev/utt2spk ]]; then
    log "data/voxceleb2_dev/utt2lang is up to date"; return
  fi
  bash "$local_dir/make_utt2lang.sh" "$vox2_lang" data/voxceleb2_dev
}

stage_0() {
  echo "== stage 0: data dirs and trial lists"
  local roots=() d
  if [[ -s data/voxceleb2_dev/.done ]] && [[ $(cat data/voxceleb2_dev/.done) == "$vox2" ]]; then
    log "data/voxceleb2_dev is up to date"
  else
    for d in "$vox2/dev/aac" "$vox2/aac" "$vox2/dev"; do [[ -d $d ]] && { roots=("$d"); break; }; done
    (( ${#roots[@]} )) || die "VoxCeleb2 dev not found: expected $vox2/dev/aac/idXXXXX/... (pass --vox2 DIR)"
    rm -f data/voxceleb2_dev/.done
    bash "$local_dir/make_voxceleb.sh" --ext m4a data/voxceleb2_dev "${roots[@]}"
    echo "$vox2" > data/voxceleb2_dev/.done
  fi
  make_utt2lang
  make_voxceleb1_dir

  # official list -> trials name (cleaned lists first; the others only if present, unless
  # --trials names them)
  local name list t wanted required=${trials:-voxceleb1-O-clean voxceleb1-E-clean voxceleb1-H-clean}
  for pair in veri_test2.txt:voxceleb1-O-clean list_test_all2.txt:voxceleb1-E-clean \
              list_test_hard2.txt:voxceleb1-H-clean veri_test.txt:voxceleb1-O \
              list_test_all.txt:voxceleb1-E list_test_hard.txt:voxceleb1-H \
              voxsrc2021_val.txt:voxsrc2021-val voxsrc2022_dev.txt:voxsrc2022-dev; do
    name=${pair%%:*}; t=${pair#*:}
    wanted=false; [[ " "$required" " == *" $t "* ]] && wanted=true
    if [[ -s data/voxceleb1/trials/$t && data/voxceleb1/trials/$t -nt data/voxceleb1/wav.scp ]]; then
      log "data/voxceleb1/trials/$t is up to date"; continue
    fi
    if [[ $t == voxsrc2022-dev ]]; then
      list=""; [[ -z $voxsrc22 ]] || list=$(voxsrc22_list)
    else
      list=$(find_list "$name")
    fi
    if [[ -z $list ]]; then
      [[ $wanted == false ]] && continue
      [[ $t != voxsrc2022-dev ]] || die "voxsrc2022-dev needs --voxsrc22 DIR with VoxSRC2022_dev/*.wav and voxsrc2022_dev[_fixed].txt"
      die "trial list $name not found in ${lists:-$vox1, $vox1/meta or $(dirname "$vox1")}; download it from
  https://mm.kaist.ac.kr/datasets/voxceleb/meta/$name (formerly www.robots.ox.ac.uk/~vgg/data/voxceleb/meta/;
  the VoxSRC-2021 list from the VoxSRC-2021 challenge page) into $vox1 or pass --lists DIR"
    fi
    bash "$local_dir/make_trials.sh" "$list" "data/voxceleb1/trials/$t" data/voxceleb1
  done
}

# ------------------------------------------------------------------------------------------ 1
stage_1() {
  echo "== stage 1: durations (utt2dur)${convert_m4a:+; m4a -> wav: $convert_m4a}"
  need_file data/voxceleb2_dev/wav.scp "run stage 0"
  need_file data/voxceleb1/wav.scp "run stage 0"
  if [[ $convert_m4a == true ]] && grep -q ' |$' data/voxceleb2_dev/wav.scp; then
    log "decoding VoxCeleb2 m4a into $work/wav/voxceleb2_dev (resumable)"
    bash "$local_dir/convert_m4a.sh" data/voxceleb2_dev "$work/wav/voxceleb2_dev" data/voxceleb2_dev.wav "$nj"
    # keep the pipe version aside, use the wav version from now on
    rm -rf data/voxceleb2_dev.m4a
    mv data/voxceleb2_dev data/voxceleb2_dev.m4a
    mv data/voxceleb2_dev.wav data/voxceleb2_dev
    cp data/voxceleb2_dev.m4a/.done data/voxceleb2_dev/.done
  fi
  need_ffmpeg data/voxceleb2_dev
  if grep -q ' |$' data/voxceleb2_dev/wav.scp; then
    log "durations of ffmpeg pipes: every m4a is decoded once (slow; --convert-m4a true does it once for good)"
  fi
  bash "$local_dir/make_utt2dur.sh" data/voxceleb2_dev "$nj"
  bash "$local_dir/make_utt2dur.sh" data/voxceleb1 "$nj"
}

# ------------------------------------------------------------------------------------------ 2
aug_sets="musan_noise musan_music musan_speech rirs_sim_small rirs_sim_medium rirs_real rirs_pointsource_noises"
stage_2() {
  echo "== stage 2: augmentation sets (MUSAN, RIRS_NOISES)"
  if [[ $aug == false ]]; then log "--aug false: skipped"; return; fi
  if [[ -s data/musan_speech/wav.scp && $(cat data/musan_speech/.done 2> /dev/null) == "$musan" ]]; then
    log "data/musan_* are up to date"
  else
    [[ -d $musan ]] || die "MUSAN not found at $musan (pass --musan DIR, or --aug false)"
    bash "$local_dir/make_musan.sh" "$musan" data
    echo "$musan" > data/musan_speech/.done
  fi
  if [[ -s data/rirs_pointsource_noises/wav.scp && $(cat data/rirs_pointsource_noises/.done 2> /dev/null) == "$rirs" ]]; then
    log "data/rirs_* are up to date"
  else
    [[ -d $rirs ]] || die "RIRS_NOISES not found at $rirs (pass --rirs DIR, or --aug false)"
    bash "$local_dir/make_rirs.sh" "$rirs" data
    echo "$rirs" > data/rirs_pointsource_noises/.done
  fi
}

# ------------------------------------------------------------------------------------------ 3
stage_3() {
  echo "== stage 3: QMF calibration trials (data/calibration)"
  need_file data/voxceleb2_dev/utt2dur "run stage 1"
  if [[ -s data/calibration/cali_trials && data/calibration/cali_trials -nt data/voxceleb2_dev/utt2dur ]]; then
    log "data/calibration is up to date"; return
  fi
  sn make-calib-trials --data-dir data/voxceleb2_dev --out-dir data/calibration \
    --per-condition "$calib_per_condition"
}

# ------------------------------------------------------------------------------------------ 4
# The pre-training configs carry speaker-net's egs and augmentation settings (spec §1.2, §1.4);
# --aug false turns the augmentation off (no corruption sets, no speed classes).
pretrain_overrides() {  # fills the array ov
  ov=()
  if [[ $aug == false ]]; then
    ov=(--loader.augment.mode=none)
  fi
}

words() {  # STRING: split on white space into the array w, without pathname expansion
  w=()
  [[ -z ${1//[[:space:]]/} ]] || read -r -d '' -a w <<< "$1" || true
}

need_ffmpeg() {  # DATA_DIR: ffmpeg must exist when wav.scp has ffmpeg pipes
  if grep -q ' |$' "$1/wav.scp" && ! command -v ffmpeg > /dev/null; then
    die "$1/wav.scp reads m4a through ffmpeg pipes, but ffmpeg is not installed (apt-get install ffmpeg)"
  fi
  return 0
}

check_aug_sets() {
  [[ $aug == true ]] || return 0
  local s
  for s in $aug_sets; do need_file "data/$s/wav.scp" "run stage 2, or pass --aug false"; done
}

train_or_resume() {  # EXP CONFIG [extra args...]: a new run, or --resume of an existing one
  local e=$1 c=$2; shift 2
  local par=(); (( nproc > 1 )) && par=(--nproc "$nproc")
  # the configs use CUDA fp16 (trainer.amp) like speaker-net; the CPU has no fp16 autocast
  [[ $device == cpu ]] && par+=(--trainer.amp=false)
  if [[ -f $e/config.yaml ]]; then
    log "$e exists: resuming (it returns at once when training has finished)"
    sn train --data data/voxceleb2_dev --exp "$e" --resume --device "$device" "${par[@]}"
  else
    need_file "$c" "config"
    sn train --config "$c" --data data/voxceleb2_dev --exp "$e" --device "$device" "${par[@]}" "$@"
  fi
}

stage_4() {
  echo "== stage 4: pre-training $exp ($config)"
  need_file data/voxceleb2_dev/utt2dur "run stage 1"
  if grep -Eq '^[[:space:]]*sampler:[[:space:]]*paired' "$config"; then
    need_file data/voxceleb2_dev/utt2lang \
      "$stem pairs chunks by language: pass --vox2-lang lang_vox2_final.csv and run stage 0"
  fi
  check_aug_sets
  need_ffmpeg data/voxceleb2_dev
  local ov w
  pretrain_overrides
  words "$train_opts"
  train_or_resume "$exp" "$config" "${ov[@]}" "${w[@]}"
}

# ------------------------------------------------------------------------------------------ 5
stage_5() {
  echo "== stage 5: large-margin fine-tuning exp/${model}_lm ($lm_config)"
  if [[ $lm == false ]]; then log "--lm false: skipped"; return; fi
  need_file "$lm_config" "no large-margin config for $model; pass --lm-config FILE or --lm false"
  local init ov=() w
  need_ffmpeg data/voxceleb2_dev
  if [[ -f exp/${model}_lm/config.yaml ]]; then
    init=""
  elif [[ -n $lm_init_epoch ]]; then
    init=$exp/checkpoints/epoch-$lm_init_epoch
    [[ -d $init ]] || die "$init not found (--lm-init-epoch $lm_init_epoch)"
  else
    # the last epoch checkpoint (a run stopped by trainer.max_iters has only step-N ones)
    init=$(ls -d "$exp"/checkpoints/epoch-* 2> /dev/null | sort -V | tail -n 1 || true)
    [[ -n $init ]] || init=$(ls -d "$exp"/checkpoints/step-* 2> /dev/null | sort -V | tail -n 1 || true)
    [[ -n $init ]] || die "no checkpoint in $exp/checkpoints: run stage 4 first"
  fi
  if [[ $aug == false ]]; then
    # no speed classes in the pre-trained classifier, no corruption sets
    ov+=(--loader.augment.mode=none --trainer.target_num_multiplier=0)
  else
    check_aug_sets
  fi
  if [[ -n $init ]]; then
    log "initialising from $init"
    words "$lm_opts"
    train_or_resume "exp/${model}_lm" "$lm_config" --init-from "$init" "${ov[@]}" "${w[@]}"
  else
    train_or_resume "exp/${model}_lm" "$lm_config"
  fi
}

# ------------------------------------------------------------------------------------------ 6
stage_6() {
  echo "== stage 6: embeddings of exp/$final (voxceleb2_dev, voxceleb1)"
  [[ -d exp/$final/checkpoints ]] || die "exp/$final/checkpoints is missing: run stage $([[ $lm == true ]] && echo 5 || echo 4)"
  local s w
  words "$extract_opts"
  # voxceleb2_dev: submean vector, AS-norm cohort and the calibration utterances (a subset of it)
  for s in voxceleb2_dev voxceleb1; do
    need_file "data/$s/wav.scp" "run stage 0"
    need_ffmpeg "data/$s"
    sn extract --exp "exp/$final" --data "data/$s" --out "$emb/$s" --device "$device" "${w[@]}"
  done
}

# ------------------------------------------------------------------------------------------ 7
stage_7() {
  echo "== stage 7: scoring $(scored_lists | paste -sd' ' -) (cosine, submean, AS-norm top-$top_n, QMF)"
  need_file "$emb/voxceleb1/embeddings.scp" "run stage 6"
  need_file "$emb/voxceleb2_dev/embeddings.scp" "run stage 6"
  need_file data/calibration/cali_trials "run stage 3"
  need_file data/voxceleb1/utt2dur "run stage 1"
  local t out
  mkdir -p "results/$final"
  for t in $(scored_lists); do
    need_file "data/voxceleb1/trials/$t" "run stage 0"
    out=scores/$final/$t/final.score
    if [[ -s $out && -s results/$final/$t.results && $out -nt $emb/voxceleb1/embeddings.scp &&
          $out -nt $emb/voxceleb2_dev/embeddings.scp && $out -nt data/voxceleb1/trials/$t ]]; then
      log "$out is up to date"; continue
    fi
    sn score --trials "data/voxceleb1/trials/$t" --emb "$emb/voxceleb1" \
      --submean-emb "$emb/voxceleb2_dev" \
      --score-norm asnorm --top-n "$top_n" --cohort-emb "$emb/voxceleb2_dev" --cohort-data data/voxceleb2_dev \
      --calib-trials data/calibration/cali_trials --calib-emb "$emb/voxceleb2_dev" \
      --quality-measures "duration imposter" \
      --utt2dur data/voxceleb1/utt2dur --calib-utt2dur data/calibration/utt2dur \
      --stage-dir "scores/$final/$t" --results "results/$final/$t.results" --out "$out"
  done
}

# ------------------------------------------------------------------------------------------ 8
stage_scores() {  # TRIALS: the stage score files of one list, in chain order
  local t=$1 f
  for f in "cosine_$t" "cosine_${t}_submean" "cosine_${t}_submean_asnorm_top$top_n" \
           "cosine_${t}_submean_asnorm_top${top_n}_qmf"; do
    [[ -s scores/$final/$t/$f.score ]] && echo "scores/$final/$t/$f.score"
  done
  return 0
}

stage_name() {  # SCORE_FILE TRIALS: cosine | submean | asnorm_topN | qmf
  local n
  n=$(basename "$1" .score); n=${n#cosine_"$2"}; n=${n#_}; n=${n##*_qmf*}; n=${n#submean_}
  case $(basename "$1") in *_qmf.score) n=qmf ;; esac
  echo "${n:-cosine}"
}

stage_8() {
  echo "== stage 8: results table results/$final/results.txt"
  local t f args_t=() args_s=() names=() n
  for t in $(scored_lists); do
    mapfile -t files < <(stage_scores "$t")
    (( ${#files[@]} )) || die "no score files in scores/$final/$t: run stage 7"
    for f in "${files[@]}"; do
      args_t+=("data/voxceleb1/trials/$t"); args_s+=("$f"); names+=("$(stage_name "$f" "$t")")
    done
  done
  # the 8 columns of speaker-net's README in its order ("-" for a list not prepared), then others
  sn eval --trials "${args_t[@]}" --scores "${args_s[@]}" --names "${names[@]}" \
    --columns $readme_lists --results "results/$final/results.txt"
  log "results: $work/results/$final/results.txt (per list: results/$final/<trials>.results)"
}

# ------------------------------------------------------------------------------------------ 9
stage_9() {
  echo "== stage 9: DET curves plots/$final/<trials>.det.png"
  local t files names
  mkdir -p "plots/$final"
  for t in $(scored_lists); do
    files=$(stage_scores "$t" | paste -sd, -)
    [[ -n $files ]] || die "no score files in scores/$final/$t: run stage 7"
    names=$(tr ',' '\n' <<< "$files" | while read -r f; do stage_name "$f" "$t"; done | paste -sd, -)
    sn plot --scores "$files" --names "$names" --trials "data/voxceleb1/trials/$t" \
      --title "$final on $t" --out "plots/$final/$t.det.png" --hist "plots/$final/$t.hist.png"
  done
  log "DET curves: $work/plots/$final/"
}

start=$SECONDS
for s in 0 1 2 3 4 5 6 7 8 9; do
  if in_range "$s"; then
    t0=$SECONDS
    "stage_$s"
    log "stage $s done in $(( SECONDS - t0 )) s"
  fi
done
log "finished stages $stage-$stop_stage in $(( SECONDS - start )) s (work dir $work)"
