#!/usr/bin/env bash
# Shared set-up of the README's two commands and of CI: the Debian packages a purpose needs (installed
# when missing and running as root; otherwise named, and the command stops), then the npm packages
# (npm ci when node_modules is missing or older than package-lock.json).
#   tools/setup.sh start   QEMU, the guest-image tools, sshd, scp and rsync for migration and VDE for
#                          the buyers' private networks (npm start)
#   tools/setup.sh test    the above plus chromium and fonts (npm test, .ci/run)
set -euo pipefail
cd "$(dirname "$0")/.."

purpose="${1:-test}"
# What the provider agents run (QEMU; sshd, scp and rsync to migrate machines between them; VDE's
# switch, plug and dpipe for the buyers' private networks; xorriso writes each guest's NoCloud seed)
# and what tools/guest-image builds the tiny Linux guest with.
packages=(qemu-system-x86 qemu-utils openssh-server openssh-client rsync vde2 xorriso isolinux syslinux syslinux-common
  mtools dosfstools e2fsprogs xz-utils zstd busybox-static)
case "$purpose" in
  start) ;;
  # Playwright drives Debian's chromium; the API tests also run on a private PostgreSQL cluster
  # (tools/postgres/cluster.mjs) and two replicas behind haproxy (docs/ARCHITECTURE.md §12).
  test) packages+=(chromium fonts-liberation postgresql haproxy) ;;
  *) echo "usage: tools/setup.sh start|test" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "== installing Debian packages: ${missing[*]}"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  else
    echo "missing Debian packages (install them as root, or run this command as root): ${missing[*]}" >&2
    exit 1
  fi
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "== installing npm packages (npm ci)"
  npm ci --no-audit --no-fund
fi
