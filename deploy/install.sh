#!/usr/bin/env bash
# Installs everything the node and its test suite need on a fresh Debian machine:
# Debian packages (clang for the on-chain program build) and a virtual environment
# in ./.venv holding the node (editable, so the Cython core is compiled in place)
# with its test and benchmark extras.  Safe to run again: it only adds what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(clang-14 llvm-14)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "install: apt-get install ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
# The install is editable, so Python sources are live; only the packaging files and the
# Cython sources need a reinstall.  Skip pip when none of them changed since the last one.
stamp=.venv/.assetl2-install-stamp
want=$(cat pyproject.toml setup.py $(find executor statetree -name '*.pyx' -o -name '*.pxd' | sort) | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "install: pip install -e '.[test,bench]' (compiles the Cython core)" >&2
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[test,bench]'
  echo "$want" > "$stamp"
fi
echo "install: ready (.venv/bin/assetl2)" >&2
