#!/bin/sh
# Prepares a Debian-family base image for a stage of deploy/docker/Dockerfile, whatever base
# was chosen (the local debootstrap base, python:3.11-slim-bookworm or debian:bookworm-slim):
#
#   prepare.sh runtime   python3 with venv, ca-certificates, the assetl2 user and directories
#   prepare.sh builder   the above plus a C compiler and the Python headers (Cython core)
#
# Extra CA certificates (*.crt) found in /tmp/extra-ca are trusted first, so pip works behind
# a TLS-intercepting proxy.  apt caches are removed, so the layer holds only what it installed.
set -eu
stage=${1:?usage: prepare.sh runtime|builder}
export DEBIAN_FRONTEND=noninteractive

need=""
have_py=0
if command -v python3 >/dev/null 2>&1 && python3 -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  have_py=1
else
  need="$need python3 python3-venv"
fi
[ -e /etc/ssl/certs/ca-certificates.crt ] || need="$need ca-certificates"
if [ "$stage" = builder ]; then
  command -v gcc >/dev/null 2>&1 || need="$need gcc libc6-dev"
  if [ "$have_py" = 1 ]; then
    inc=$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
    [ -e "$inc/Python.h" ] || need="$need python3-dev"
  else
    need="$need python3-dev"
  fi
fi
if [ -n "$need" ]; then
  echo "prepare.sh ($stage): apt-get install$need"
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $need >/dev/null
  apt-get clean
  rm -rf /var/lib/apt/lists/*
fi

if ls /tmp/extra-ca/*.crt >/dev/null 2>&1; then
  echo "prepare.sh ($stage): trusting extra CA certificates: $(cd /tmp/extra-ca && echo *.crt)"
  cp /tmp/extra-ca/*.crt /usr/local/share/ca-certificates/
  update-ca-certificates >/dev/null 2>&1
fi

if [ "$stage" = runtime ]; then
  getent group assetl2 >/dev/null || groupadd --system --gid 10001 assetl2
  getent passwd assetl2 >/dev/null || useradd --system --uid 10001 --gid assetl2 \
    --home-dir /var/lib/assetl2 --no-create-home --shell /usr/sbin/nologin assetl2
  install -d -o assetl2 -g assetl2 -m 0700 /var/lib/assetl2
  install -d -m 0755 /etc/assetl2
fi
python3 --version
