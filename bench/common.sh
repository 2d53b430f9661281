# Sourced by the benchmark scripts (from the repository root): the work directory, the built
# binary and the Python environment with the references (numerai-tools 0.7.2, h5py, scipy).
# Sets: work, bin, venv.
work=${BENCH_WORK:-/tmp/backscore-bench}
mkdir -p "$work"
bin=./build/backscore
[ -x "$bin" ] || scripts/build.sh
venv="$work/venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q numerai-tools==0.7.2 h5py scipy
fi
