#!/usr/bin/env bash
# Installs speakernet's build, run and test dependencies from Debian 12 packages (idempotent).
# Runs apt only when something is missing; uses sudo when not root.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libtorch-dev libgloo-dev            # LibTorch 1.13 (CPU) and the Gloo headers c10d needs
  libdnnl-dev                         # oneDNN C API: int8 GEMM for the AS-norm preselection
  libonnx-dev libprotobuf-dev         # ONNX protobuf + checker: speakernet export --onnx
  libopenblas0-openmp                 # fast BLAS sharing torch's OpenMP threads (linked via RPATH)
  libjemalloc-dev                     # allocator that keeps pages (faster training)
  libsndfile1-dev libsoxr-dev         # audio decoding and resampling
  libcairo2-dev                       # DET and score-histogram plots (SVG, PNG)
  libyaml-cpp-dev libcli11-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  espeak-ng sox                       # the embedded demo corpus
  python3-torch python3-torchaudio python3-numpy   # test-time reference values only
  clang libclang-rt-dev               # fuzz targets and sanitizer runtimes (tools/fuzz.sh)
)

# node + npm run the ONNX runtime tests (tests/node); any node >= 18 will do (e.g. NodeSource's,
# which bundles npm), Debian's otherwise.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then packages+=(nodejs npm); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "setup: all ${#packages[@]} packages present"
else
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Test-time ONNX runtimes (onnxruntime-node, sherpa-onnx-node; their CPU libraries are inside the
# packages), pinned by tests/node/package-lock.json; no install scripts run.
node_dir=$(cd "$(dirname "$0")/../tests/node" && pwd)
if [[ ! -d $node_dir/node_modules/onnxruntime-node || ! -d $node_dir/node_modules/sherpa-onnx-node ]]; then
  echo "setup: npm ci --ignore-scripts in $node_dir"
  (cd "$node_dir" && npm ci --ignore-scripts --no-audit --no-fund)
fi
