#!/usr/bin/env bash
# The layer rule of docs/CONTRIBUTING.md, checked on every source file: a layer includes only
# earlier layers (the order below is src/speakernet/CMakeLists.txt's), scoring/ includes common/
# only, and the public headers at the top of src/speakernet/ include no internal header.
# Fails naming the file, line and include at fault. Usage: bash layering_test.sh BINARY SOURCE_DIR
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/cli_test_lib.sh"
cli_test_init layering "$@"

root=$src/src/speakernet
order=$(sed -n '/^foreach(layer/,/)/p' "$root/CMakeLists.txt" | tr -d '()' |
  sed 's/foreach//; s/layer//' | tr -s ' \n' ' ')
read -r -a layers <<<"$order"
((${#layers[@]} >= 10)) || fail "could not read the layer order from $root/CMakeLists.txt: '$order'"
[[ " ${layers[*]} " == *" scoring "* && " ${layers[*]} " == *" inference "* ]] ||
  fail "layer order lacks scoring/ or inference/: ${layers[*]}"

index_of() {
  local i
  for i in "${!layers[@]}"; do [[ ${layers[$i]} == "$1" ]] && { echo "$i"; return; }; done
  echo -1
}

bad=()
for ((li = 0; li < ${#layers[@]}; li++)); do
  layer=${layers[$li]}
  [[ -d $root/$layer ]] || fail "layer folder $root/$layer missing"
  while IFS=: read -r file line text; do
    dep=$(sed -E 's/.*#include[[:space:]]*[<"]speakernet\/([^/">]+)\/.*/\1/' <<<"$text")
    [[ $dep == "$layer" ]] && continue
    di=$(index_of "$dep")
    if [[ $layer == scoring ]]; then
      [[ $dep == common ]] || bad+=("$file:$line: scoring/ may include common/ only: $text")
    elif ((di < 0 || di > li)); then
      bad+=("$file:$line: $layer/ includes a later or unknown layer '$dep': $text")
    fi
  done < <(grep -HnE '#include[[:space:]]*[<"]speakernet/[^/">]+/' -r "$root/$layer" \
    --include='*.h' --include='*.cpp' --include='*.c' || true)
  checks=$((checks + 1))
done

# Public headers (src/speakernet/*.h): installed as they are, so they include no internal header.
for header in "$root"/*.h; do
  [[ -e $header ]] || continue
  while IFS=: read -r line text; do
    bad+=("$header:$line: a public header includes an internal one: $text")
  done < <(grep -nE '#include[[:space:]]*[<"]speakernet/[^/">]+/' "$header" || true)
  checks=$((checks + 1))
done

if ((${#bad[@]})); then
  printf '%s\n' "${bad[@]}" >&2
  fail "${#bad[@]} include(s) break the layering"
fi
pass
echo "layering_test: all $checks checks passed in $((SECONDS - start)) s"
