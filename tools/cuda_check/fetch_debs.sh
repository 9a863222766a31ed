#!/usr/bin/env bash
# Downloads (does not install) the Debian 12 -dev packages speakernet builds with, for a GPU
# machine that has a CUDA LibTorch (e.g. pip's torch) but neither apt access nor these packages.
# run.sh unpacks them there under /tmp/deps. Run on a Debian 12 machine:
#   bash tools/cuda_check/fetch_debs.sh .gpudeps/debs
set -euo pipefail
out=${1:?usage: fetch_debs.sh OUT_DIR}
mkdir -p "$out"
cd "$out"
apt-get download \
  libsndfile1-dev libsndfile1 libflac12 libogg0 libvorbis0a libvorbisenc2 libopus0 \
  libmpg123-0 libmp3lame0 libsoxr-dev libsoxr0 libyaml-cpp-dev libyaml-cpp0.7 libfmt-dev libfmt9 \
  libspdlog-dev libspdlog1.10 libcli11-dev libgtest-dev libgmock-dev \
  libjemalloc-dev libjemalloc2 libgloo-dev pkgconf pkgconf-bin libpkgconf3
ls | wc -l
