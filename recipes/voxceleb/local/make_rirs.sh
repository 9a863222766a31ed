#!/usr/bin/env bash
# RIRS_NOISES -> data dirs (wav.scp) OUT/rirs_sim_small, OUT/rirs_sim_medium, OUT/rirs_real,
# OUT/rirs_pointsource_noises, as speaker-net's prepare_aug_csv.py selects them (spec §1.4):
#   simulated_rirs/{smallroom,mediumroom}/rir_list, real_rirs_isotropic_noises/rir_list,
#   pointsource_noises/noise_list (the file is the last field of each line, a path starting at
#   RIRS_NOISES/). Without a list file the folder's *.wav are taken (real RIRs: names without
#   "noise"). RIRS_ROOT is the RIRS_NOISES folder or its parent.
#   make_rirs.sh RIRS_ROOT OUT_PARENT
set -euo pipefail
[[ $# -eq 2 ]] || { echo "usage: make_rirs.sh RIRS_ROOT OUT_PARENT" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
root=$1 out=$2
[[ -d $root/RIRS_NOISES ]] && root=$root/RIRS_NOISES
[[ -d $root/simulated_rirs ]] || { echo "make_rirs.sh: error: $root/simulated_rirs not found (expected the RIRS_NOISES folder)" >&2; exit 1; }
files() {  # DIR LIST_NAME [EXCLUDE_REGEX]: absolute paths of the set's files
  local dir=$1 list=$2 exclude=${3:-}
  [[ -d $dir ]] || { echo "make_rirs.sh: error: $dir not found" >&2; return 1; }
  if [[ -s $dir/$list ]]; then
    awk -v root="$root" '{ p = $NF; sub(/^.*RIRS_NOISES\//, "", p); print root "/" p }' "$dir/$list" |
      while read -r f; do [[ -f $f ]] || { echo "make_rirs.sh: error: $f (listed in $dir/$list) not found" >&2; exit 1; }; echo "$f"; done
  else
    find -L "$dir" -type f -name '*.wav' | { if [[ -n $exclude ]]; then grep -Ev "$exclude"; else cat; fi; }
  fi
}
files "$root/simulated_rirs/smallroom" rir_list | bash "$here/make_files_dir.sh" "$out/rirs_sim_small" "$root" "rir-"
files "$root/simulated_rirs/mediumroom" rir_list | bash "$here/make_files_dir.sh" "$out/rirs_sim_medium" "$root" "rir-"
files "$root/real_rirs_isotropic_noises" rir_list '/[^/]*noise[^/]*$' | bash "$here/make_files_dir.sh" "$out/rirs_real" "$root" "rir-"
files "$root/pointsource_noises" noise_list | bash "$here/make_files_dir.sh" "$out/rirs_pointsource_noises" "$root" "noise-"
