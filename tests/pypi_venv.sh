# Sourced by the tests that need Python packages from PyPI (tests/oracle/run_oracle.sh,
# tests/python/run_python_tests.sh):
#
#   pypi_venv VENV BASE_PYTHON LOG WHO PACKAGE...
#
# makes VENV from BASE_PYTHON with the PACKAGEs (pinned versions) installed from PyPI, or keeps it
# when it already holds exactly those (a stamp file records them and the base interpreter). On
# failure it removes VENV and exits the calling script: 77 (skipped, as ctest's SKIP_RETURN_CODE)
# when PyPI is unreachable or the venv cannot be made, 1 otherwise. WHO names the test in its
# messages.
pypi_venv() {
  local venv=$1 base=$2 log=$3 who=$4
  shift 4
  local stamp="$venv/.requirements" want="$* $base"
  if [[ -x "$venv/bin/python" && "$(cat "$stamp" 2>/dev/null)" == "$want" ]]; then
    return 0
  fi
  rm -rf "$venv"
  if ! "$base" -m venv "$venv"; then
    echo "$who: SKIPPED: could not create a venv with $base"
    exit 77
  fi
  echo "$who: installing $* into $venv (log: $log)"
  if ! "$venv/bin/python" -m pip install --disable-pip-version-check --quiet --timeout 30 "$@" \
      >"$log" 2>&1; then
    tail -5 "$log" >&2
    rm -rf "$venv"
    if grep -qiE "connection|resolve|network|timed out|temporary failure|proxy|ssl|no matching distribution|could not find a version" "$log"; then
      echo "$who: SKIPPED: cannot install $*: PyPI unreachable (see $log)"
      exit 77
    fi
    echo "$who: pip install $* failed (see $log)" >&2
    exit 1
  fi
  echo "$want" >"$stamp"
}
