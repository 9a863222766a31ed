#!/usr/bin/env bash
# The installed package, used as a downstream project would use it:
#   * `cmake --install` into a temporary prefix puts libspeakernet.so, the three public headers
#     (and no internal one), the CMake config + version file and speakernet.pc there, and the
#     library exports the public API only (no internal speakernet:: symbol);
#   * examples/ configures with only find_package(speakernet) (CMAKE_PREFIX_PATH = the prefix;
#     no LibTorch given) and builds; its C++ program embeds 4 files in 4 threads on one Embedder
#     and gives `speakernet extract`'s embeddings to 1e-5, its C program's score is the cosine
#     of extract's embeddings (numpy);
#   * the C example also builds with nothing but `pkg-config --cflags --libs speakernet`.
#
#   bash tests/install_test.sh SPEAKERNET_BINARY [SOURCE_DIR]
# The build dir is the binary's ../..; needs cmake, a C compiler, pkg-config and $py with numpy.
set -uo pipefail
export LC_ALL=C

source "$(dirname "${BASH_SOURCE[0]}")/lib/cli_test_lib.sh"
cli_test_init install "$@"
cli_test_require cmake cc pkg-config
cli_test_require_python numpy
build=$(cd "$(dirname "$bin")/.." && pwd)
prefix=$work/prefix
# A sanitizer build (tools/build.sh --sanitize) is not for installing: its library needs the
# sanitizer runtime that only its own executables link, so a downstream program cannot link it.
if grep -Eq '^SPEAKERNET_(SANITIZE|FUZZ):BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null; then
  echo "SKIP: $build is a sanitizer build (its library is not installable)"
  exit 77
fi

# --- install ----------------------------------------------------------------------------------
run "cmake --install" cmake --install "$build" --prefix "$prefix"
lib=$(ls "$prefix"/lib*/libspeakernet.so 2>/dev/null | head -1)
[[ -n $lib ]] || fail "no libspeakernet.so under $prefix/lib*"
pass
libdir=$(dirname "$lib")
equal "$(cd "$prefix/include/speakernet" && ls | tr '\n' ' ')" "c_api.h speakernet.h version.h " \
  "installed headers"
[[ -f $libdir/cmake/speakernet/speakernetConfig.cmake &&
   -f $libdir/cmake/speakernet/speakernetConfigVersion.cmake &&
   -f $libdir/pkgconfig/speakernet.pc ]] || fail "CMake config or speakernet.pc missing"
pass
# Exported: speakernet_* (C) and the public classes; an internal type must not leak.
nm -D --defined-only "$lib" | awk '{print $3}' | c++filt >"$work/exports.txt"
grep -q '^speakernet_embedder_load$' "$work/exports.txt" || fail "C API not exported"
grep -q '^speakernet::Embedder::Load(' "$work/exports.txt" || fail "Embedder::Load not exported"
grep -E '^speakernet::(EmbeddingExtractor|Experiment|AudioReader|Fbank)' "$work/exports.txt" &&
  fail "internal symbols exported"
pass

# --- a model and the reference embeddings -------------------------------------------------------
data=$work/data
cli_test_tone_corpus "$data"
cli_test_tiny_train "$data" --trainer.epochs=1
run "train" "$bin" train "${tiny[@]}" --exp "$work/exp"
run "package" "$bin" package --exp "$work/exp" --out "$work/model.snm"
run "extract" "$bin" extract --exp "$work/model.snm" --data "$data" --out "$work/extract" --npy \
  --threads 1
mapfile -t wavs < <(awk '{print $2}' "$data/wav.scp")

# --- the examples, built against the installed tree only ---------------------------------------
run "configure examples" cmake -S "$src/examples" -B "$work/examples" \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release
run "build examples" cmake --build "$work/examples"
run "C++ example, 4 files in 4 threads" "$work/examples/embed_files" "$work/model.snm" \
  "${wavs[0]}" "${wavs[3]}" "${wavs[4]}" "${wavs[9]}"
cp "$work/last.out" "$work/embed_files.txt"
run "C++ example == extract" "$py" - "$work/embed_files.txt" "$work/extract/embeddings.npy" \
  "${wavs[0]}" "${wavs[3]}" "${wavs[4]}" "${wavs[9]}" <<'PY'
import sys, numpy as np
lines = open(sys.argv[1]).read().splitlines()
ref, files = np.load(sys.argv[2]).astype(np.float64), sys.argv[3:]
rows = {int(i): ref[i] for i in (0, 3, 4, 9)}
for line, f, i in zip(lines, files, (0, 3, 4, 9)):
    name, *v = line.split()
    assert name == f, (name, f)
    v = np.array(v, dtype=np.float64)
    err = np.abs(v - rows[i]).max() / max(1.0, np.abs(rows[i]).max())
    assert err <= 1e-5, (f, err)
a, b = rows[0], rows[3]
cos = a @ b / np.linalg.norm(a) / np.linalg.norm(b)
score = float(lines[4].split()[1])
assert lines[4].startswith("score") and abs(score - cos) <= 1e-5, (lines[4], cos)
print("ok", cos)
PY
run "C example" "$work/examples/verify_c" "$work/model.snm" "${wavs[0]}" "${wavs[4]}" 0.25
cp "$work/last.out" "$work/verify_cmake.txt"
run "C example's score == cosine of extract's" "$py" - "$work/verify_cmake.txt" \
  "$work/extract/embeddings.npy" <<'PY'
import sys, numpy as np
f = open(sys.argv[1]).read().split()
e = np.load(sys.argv[2]).astype(np.float64)
cos = e[0] @ e[4] / np.linalg.norm(e[0]) / np.linalg.norm(e[4])
assert f[0] == "dim" and int(f[1]) == e.shape[1], f
assert abs(float(f[3]) - cos) <= 1e-5, (f, cos)
assert f[6] == ("accept" if cos >= 0.25 else "reject"), f
PY

# --- pkg-config only ---------------------------------------------------------------------------
flags=$(PKG_CONFIG_PATH=$libdir/pkgconfig pkg-config --cflags --libs speakernet) ||
  fail "pkg-config does not know speakernet"
# shellcheck disable=SC2086
run "cc with pkg-config" cc "$src/examples/verify.c" -o "$work/verify_pc" $flags \
  -Wl,-rpath,"$libdir"
run "pkg-config build" "$work/verify_pc" "$work/model.snm" "${wavs[0]}" "${wavs[4]}" 0.25
cmp -s "$work/last.out" "$work/verify_cmake.txt" || fail "the pkg-config build scores differently"
pass
expect_error "C example, missing file" "$work/missing.wav" \
  "$work/examples/verify_c" "$work/model.snm" "$work/missing.wav" "${wavs[4]}" 0.25

echo "install_test: $checks checks passed in $((SECONDS - start)) s"
