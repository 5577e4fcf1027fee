#!/usr/bin/env bash
# Builds the local Debian bookworm base image for the node and Prometheus images,
# without any image registry: a minimal rootfs is made with debootstrap from Debian's
# package archive and handed to `docker import`.
#
#   deploy/docker/build-base-image.sh            # build unless the image exists
#   deploy/docker/build-base-image.sh --force    # rebuild (replaces the tag)
#
# Options / environment:
#   --force              rebuild even if the image exists
#   --image NAME         image name (default: $BASE_IMAGE or assetl2/debian-base:bookworm)
#   --mirror URL         Debian mirror (default: $DEBIAN_MIRROR or http://deb.debian.org/debian)
#   --no-host-ca         do not copy this host's extra CA certificates into the image
#                        (by default every *.crt in /usr/local/share/ca-certificates is added,
#                        so builds behind a TLS-intercepting proxy can reach PyPI)
#
# Needs root (debootstrap creates device nodes and chroots); installs debootstrap with
# apt-get if it is missing.  Progress goes to stderr, one line per step.
set -euo pipefail

IMAGE=${BASE_IMAGE:-assetl2/debian-base:bookworm}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
FORCE=0
HOST_CA=1
INCLUDE=python3,python3-venv,ca-certificates,curl

while (($#)); do
  case "$1" in
    --force) FORCE=1 ;;
    --image) IMAGE=$2; shift ;;
    --mirror) MIRROR=$2; shift ;;
    --no-host-ca) HOST_CA=0 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "build-base-image: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

say() { printf 'build-base-image: [%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

if ! docker info >/dev/null 2>&1; then
  say "error: cannot talk to the Docker daemon (is it running, may this user use it?)"
  exit 1
fi
if ((!FORCE)) && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  say "$IMAGE exists; nothing to do (--force rebuilds it)"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  say "error: debootstrap needs root; run with sudo"
  exit 1
fi
if ! command -v debootstrap >/dev/null 2>&1; then
  say "installing debootstrap (apt-get)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi

WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/assetl2-rootfs.XXXXXX")
ROOTFS=$WORK/rootfs
cleanup() {
  # A failed debootstrap can leave /proc or /sys mounted inside the rootfs.
  for m in proc sys dev/pts dev; do
    mountpoint -q "$ROOTFS/$m" 2>/dev/null && umount -l "$ROOTFS/$m" || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

start=$(date +%s)
say "debootstrap $SUITE (minbase + $INCLUDE) from $MIRROR into $ROOTFS"
# debootstrap prints one line per step (Retrieving/Validating/Unpacking/Configuring ...);
# its full log stays in $ROOTFS/debootstrap/debootstrap.log on failure.
debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$ROOTFS" "$MIRROR" 2>&1 \
  | while IFS= read -r line; do
      case "$line" in I:\ Retrieving*|I:\ Validating*) ;; *) say "  $line" ;; esac
    done
[ -x "$ROOTFS/usr/bin/python3" ] || { say "error: debootstrap failed (no python3 in rootfs)"; exit 1; }
say "debootstrap done in $(( $(date +%s) - start ))s"

say "configuring the rootfs"
cat >"$ROOTFS/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb ${MIRROR%/debian}/debian-security $SUITE-security main
EOF
# Like Debian's official container images: no services start during apt installs, no
# docs/man pages/translations, no recommends, apt caches cleaned after every install.
printf '#!/bin/sh\nexit 101\n' >"$ROOTFS/usr/sbin/policy-rc.d"
chmod 0755 "$ROOTFS/usr/sbin/policy-rc.d"
cat >"$ROOTFS/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
cat >"$ROOTFS/etc/apt/apt.conf.d/docker-clean" <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Acquire::GzipIndexes "true";
EOF
if ((HOST_CA)) && compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  say "adding this host's extra CA certificates: $(cd /usr/local/share/ca-certificates && echo *.crt)"
  cp /usr/local/share/ca-certificates/*.crt "$ROOTFS/usr/local/share/ca-certificates/"
  chroot "$ROOTFS" update-ca-certificates >/dev/null 2>&1
fi
# What debootstrap unpacked before the dpkg excludes existed: translations, docs, caches.
find "$ROOTFS/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/*.bin "$ROOTFS"/var/cache/apt/archives/*.deb \
       "$ROOTFS"/usr/share/doc/* "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/info/* "$ROOTFS"/var/log/*.log \
       "$ROOTFS"/debootstrap "$ROOTFS"/tmp/* "$ROOTFS"/root/.cache
: >"$ROOTFS/etc/machine-id"
echo "assetl2-base" >"$ROOTFS/etc/hostname"

say "importing into Docker as $IMAGE ($(du -sh --apparent-size "$ROOTFS" | cut -f1) uncompressed)"
tar --numeric-owner --xattrs -C "$ROOTFS" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["/bin/bash"]' \
  --message "debootstrap --variant=minbase $SUITE + $INCLUDE" \
  - "$IMAGE" >/dev/null
say "built $IMAGE in $(( $(date +%s) - start ))s: $(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}')"
