#!/usr/bin/env bash
# Installs the Debian packages backscore needs to build and test, skipping those already there.
set -euo pipefail
packages=(cmake ninja-build g++ ccache libhdf5-dev libcli11-dev libgtest-dev libopenblas-dev python3 python3-venv time chromium)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}" >&2
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi
