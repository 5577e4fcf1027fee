#!/bin/sh
# Build the anchor program into deploy/program/build/ (see README.md).
set -eu
cd "$(dirname "$0")"
exec "${PYTHON:-python3}" build.py "$@"
