#!/usr/bin/env bash
# CUDA check: builds speakernet against the CUDA LibTorch of the machine's python3 torch, with the
# Debian -dev packages from fetch_debs.sh unpacked under /tmp/deps (nothing is installed), then
# runs the GPU tests, the rest of the suite and a short ResNet34-c32 training-speed probe.
#   bash tools/cuda_check/run.sh DEBS_DIR     (from the repository root; logs go to $OUT or /tmp)
# Used on the workplace's H200 (Ubuntu 24.04, pip torch 2.11+cu130, no apt); see docs/cuda.md.
set -u
debs=$(cd "${1:?usage: run.sh DEBS_DIR}" && pwd)
src=$(pwd)
out=${OUT:-/tmp/cuda_check}
mkdir -p "$out"
t0=$SECONDS
nvidia-smi -L; head -2 /etc/os-release; g++ --version | head -1
export PATH=/usr/local/cuda/bin:$PATH
py=$(command -v python3)
torch_cmake=$($py -c 'import torch; print(torch.utils.cmake_prefix_path)')
torch_dir=$($py -c 'import torch, os; print(os.path.dirname(torch.__file__))')
$py -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)'

# Unpack the packages; sndfile/soxr get minimal .pc files (the originals require the -dev
# packages of every codec). Gloo headers only where the LibTorch lacks them (pip's does).
mkdir -p /tmp/deps /tmp/gloo
for f in "$debs"/*.deb; do
  case $f in *gloo*) dpkg -x "$f" /tmp/gloo ;; *) dpkg -x "$f" /tmp/deps ;; esac
done
d=/tmp/deps/usr
lib=$d/lib/x86_64-linux-gnu
for n in sndfile soxr; do
  v=$(grep ^Version "$lib/pkgconfig/$n.pc" | cut -d' ' -f2)
  printf 'Name: %s\nDescription: %s\nVersion: %s\nLibs: -L%s -l%s\nCflags: -I%s/include\n' \
    "$n" "$n" "$v" "$lib" "$n" "$d" >"$lib/pkgconfig/$n.pc"
done
export PKG_CONFIG_PATH=$lib/pkgconfig:$d/share/pkgconfig
export LD_LIBRARY_PATH=$lib:$torch_dir/lib:${LD_LIBRARY_PATH:-}
command -v pkg-config >/dev/null || { ln -sf "$d/bin/pkgconf" "$d/bin/pkg-config"; export PATH=$PATH:$d/bin; }
flags="-isystem $d/include"
[[ -d $torch_dir/include/gloo ]] || flags="$flags -isystem /tmp/gloo/usr/include"

b=/tmp/b
cmake -S "$src" -B $b -G Ninja -DCMAKE_BUILD_TYPE=Release "-DCMAKE_PREFIX_PATH=$torch_cmake;$d" \
  -DSPEAKERNET_BUILD_BENCH=OFF "-DCMAKE_CXX_FLAGS=$flags" >"$out/cmake.log" 2>&1 ||
  { tail -60 "$out/cmake.log"; exit 1; }
grep "speakernet:" "$out/cmake.log"
cmake --build $b -j "$(nproc)" -- -k 0 >"$out/build.log" 2>&1
echo "build rc=$? at $((SECONDS - t0)) s, $(grep -c 'warning:' "$out/build.log") warnings"
grep -E "error|FAILED" "$out/build.log" | head -40
$b/bin/speakernet --version

export SN_TEST_PYTHON=$py  # reference values from the machine's torch/numpy
gpu_tests="gpu_cli|features_test|models_test|losses_test|augmentation_test|training_test"
(cd $b && timeout 150 ctest -R "$gpu_tests" --output-on-failure -j 4 >"$out/gpu_tests.log" 2>&1)
grep -E "tests passed|\*\*\*|tensors,|max [|]|rows, losses|^FAIL" "$out/gpu_tests.log" | head -30
budget=$((300 - (SECONDS - t0)))
(cd $b && timeout $((budget > 30 ? budget : 30)) ctest -E "$gpu_tests" -j 12 --output-on-failure \
  >"$out/other_tests.log" 2>&1)
grep -E "tests passed|\*\*\*" "$out/other_tests.log" | head -30
echo "suite done at $((SECONDS - t0)) s"

# Training speed: ResNet34-c32 (recipe config), batch 128 of 2 s chunks, 8 steps, fp32 and amp.
if ((SECONDS - t0 < 310)); then
  rm -rf /tmp/perf*
  $py - /tmp/perf <<'PY'
import os, sys, wave, numpy as np
d = sys.argv[1]; os.makedirs(d)
rng = np.random.default_rng(1)
with open(f"{d}/wav.scp", "w") as scp, open(f"{d}/utt2spk", "w") as u2s:
    for s in range(64):
        for u in range(16):
            t = np.arange(48000) / 16000.0
            x = 0.3 * np.sin(2 * np.pi * (100 + 5 * s) * t) + rng.normal(0, 0.05, t.size)
            p = f"{d}/s{s}u{u}.wav"
            with wave.open(p, "wb") as w:
                w.setnchannels(1); w.setsampwidth(2); w.setframerate(16000)
                w.writeframes((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes())
            scp.write(f"s{s}u{u} {p}\n"); u2s.write(f"s{s}u{u} s{s}\n")
PY
  for amp in false true; do
    timeout 40 $b/bin/speakernet train --config "$src/recipes/voxceleb/conf/resnet34-32.yaml" \
      --data /tmp/perf --exp /tmp/perf-exp-$amp --loader.batch_size=128 --loader.num_workers=12 \
      --trainer.epochs=1 --trainer.report_interval_iters=2 --trainer.amp=$amp \
      --trainer.ckpt_interval_minutes=0 >/tmp/perf-$amp.log 2>&1
    echo "amp=$amp rc=$?"; tail -2 /tmp/perf-$amp.log
  done
fi
echo "all done at $((SECONDS - t0)) s"
