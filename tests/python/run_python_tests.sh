#!/usr/bin/env bash
# The Python module's tests (tests/python/test_*.py, pytest) against the build tree's module.
#
#   run_python_tests.sh PYTHON BUILD_DIR WORKDIR [PYTEST ARGS...]
#
# PYTHON: the interpreter the module was built for (CMake's BACKSCORE_PYTHON_INTERPRETER); a
# virtual environment made from it (WORKDIR/venv, kept between runs) gets pandas, pyarrow and
# pytest from PyPI. The module is imported from BUILD_DIR/python, the CLI is BUILD_DIR/backscore.
# Exit 0 = pass, 77 = skipped (PyPI unreachable), anything else = failure.
set -euo pipefail

if [[ $# -lt 3 ]]; then
  echo "usage: $0 PYTHON BUILD_DIR WORKDIR [PYTEST ARGS...]" >&2
  exit 2
fi
BASE=$1
BUILD=$(realpath "$2")
WORK=$(realpath -m "$3")
shift 3
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Pinned so the cached environment and CI agree; bump together.
REQUIREMENTS=("pandas==2.2.3" "pyarrow==18.1.0" "pytest==8.3.4")
mkdir -p "$WORK"

# shellcheck source=../pypi_venv.sh
source "$HERE/../pypi_venv.sh"
VENV="$WORK/venv"
PY="$VENV/bin/python"
pypi_venv "$VENV" "$BASE" "$WORK/pip.log" "python tests" "${REQUIREMENTS[@]}"

cd "$WORK"
PYTHONPATH="$BUILD/python" exec "$PY" -m pytest -q -p no:cacheprovider "$HERE" \
  --backscore-build "$BUILD" --basetemp "$WORK/tmp" "$@"
