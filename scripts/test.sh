#!/usr/bin/env bash
# The whole test suite: install dependencies, build, run every test (GPU tests skip, counted,
# without a device; the numerai-tools oracle installs its pinned version from PyPI).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
ctest --test-dir build --output-on-failure -j2 --timeout 1200
