#!/usr/bin/env bash
# Builds, on this machine (no GPU needed), what a GPU machine runs: the CUDA build for sm_90 with
# HDF5 and its codecs linked statically, copied with libgomp and OpenBLAS (with its Fortran
# runtime) into gpu-carry/ (git-ignored).
# The GPU machines have the CUDA toolkit but no HDF5, CLI11 or GoogleTest. Then, on the device:
#   scripts/gpu-on-device.sh          (carry gpu-carry/ along; see that script)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DBACKSCORE_CUDA=ON \
  -DCMAKE_CUDA_ARCHITECTURES=90 -DBACKSCORE_STATIC_HDF5=ON -DBACKSCORE_TESTS=ON \
  -DBACKSCORE_GPU_BENCH=ON -DBACKSCORE_MPI=OFF >/dev/null
cmake --build build-gpu
rm -rf gpu-carry
mkdir -p gpu-carry/bin gpu-carry/lib
cp build-gpu/backscore build-gpu/backscore_gpu_bench build-gpu/tests/backscore_gpu_tests \
  build-gpu/tests/backscore_tests build-gpu/tests/backscore_seam_runner gpu-carry/bin/
cp -L "$(g++ -print-file-name=libgomp.so.1)" gpu-carry/lib/
# OpenBLAS (the CPU least squares) and the Fortran runtime it needs: the GPU machines have neither.
for lib in libopenblas.so.0 libgfortran.so.5 libquadmath.so.0; do
  path=$(ldd build-gpu/backscore | awk -v l="$lib" '$1 == l {print $3}')
  if [ -n "$path" ]; then cp -L "$path" gpu-carry/lib/; fi
done
# Nothing the GPU machine lacks: every shared library the carried binaries need is the CUDA
# toolkit's, glibc's, the C++ runtime's, or carried here.
allowed='^(linux-vdso|ld-linux|libc|libm|libdl|libpthread|librt|libstdc\+\+|libgcc_s|libgomp|libopenblas|libgfortran|libquadmath|libcudart|libcublas|libcublasLt|libcusolver|libcusparse|libnvJitLink|libcuda)([-.]|$)'
bad=0
for b in gpu-carry/bin/*; do
  while read -r lib _; do
    if ! [[ $lib =~ $allowed ]]; then
      echo "gpu-carry: $(basename "$b") needs $lib, which the GPU machine does not have" >&2
      bad=1
    fi
  done < <(LD_LIBRARY_PATH=gpu-carry/lib ldd "$b" | awk '{print $1}' | sed 's|.*/||')
done
((bad == 0)) || exit 1
git rev-parse HEAD > gpu-carry/COMMIT
echo "gpu-carry/: $(du -sh gpu-carry | cut -f1), commit $(cat gpu-carry/COMMIT)"
