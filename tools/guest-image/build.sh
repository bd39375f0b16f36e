#!/usr/bin/env bash
# Builds Virtuoso's tiny test/demo guest from Debian's packages only (kernel + busybox-static),
# into a cache directory (never committed). See README.md next to this script.
#
#   tools/guest-image/build.sh [--force]
#
# Env:
#   VIRTUOSO_IMAGE_DIR   output/cache dir (default: <repo>/.cache/guest-image)
#
# Outputs (in the cache dir): vmlinuz, vmlinux, initramfs.gz, tiny-linux.qcow2, tiny-linux.iso,
# manifest.json. Rebuilds only when an output is missing or this script changed (its sha256 is
# stored in the manifest), or with --force.
set -euo pipefail
export LC_ALL=C

SCRIPT_PATH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
REPO_ROOT="$(cd "$(dirname "$SCRIPT_PATH")/../.." && pwd)"
OUT="${VIRTUOSO_IMAGE_DIR:-$REPO_ROOT/.cache/guest-image}"
FORCE=0
[[ "${1:-}" == "--force" ]] && FORCE=1

OUTPUTS=(vmlinuz vmlinux initramfs.gz tiny-linux.qcow2 tiny-linux.iso)
# Module load order (no depmod on the host; insmod needs dependencies first).
MODULES=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk
  crc16 mbcache jbd2 crc32c_generic ext4
  button evdev
  scsi_common scsi_mod libata ata_piix cdrom sr_mod isofs)

log() { printf '[guest-image] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

mkdir -p "$OUT"
# One build at a time (several test runners may call us concurrently).
exec 9>"$OUT/.lock"
flock 9

SCRIPT_SHA="$(sha256sum "$SCRIPT_PATH" | cut -d' ' -f1)"

is_fresh() {
  [[ -f "$OUT/manifest.json" ]] || return 1
  grep -q "\"scriptSha256\": \"$SCRIPT_SHA\"" "$OUT/manifest.json" || return 1
  local f
  for f in "${OUTPUTS[@]}"; do [[ -s "$OUT/$f" ]] || return 1; done
  return 0
}

if [[ $FORCE == 0 ]] && is_fresh; then
  log "up to date: $OUT"
  exit 0
fi

START_TS=$(date +%s)
command -v apt-get >/dev/null || die "apt-get is required (Debian/Ubuntu host)"
command -v dpkg >/dev/null || die "dpkg is required"

DEBS="$OUT/debs"
TOOLS="$OUT/tools"
mkdir -p "$DEBS" "$TOOLS"

# apt-get download PKG into $DEBS (re-used across builds); prints the .deb path.
fetch_deb() {
  local pkg="$1" ver f
  ver="$(apt-cache policy "$pkg" | awk '/Candidate:/{print $2; exit}')"
  [[ -n "$ver" && "$ver" != "(none)" ]] || die "package $pkg not found (apt-get update?)"
  # apt-get download names files <pkg>_<version with : as %3a>_<arch>.deb
  f="$(ls "$DEBS/${pkg}_${ver/:/%3a}_"*.deb 2>/dev/null | head -n1 || true)"
  if [[ -z "$f" ]]; then
    log "apt-get download $pkg ($ver)"
    (cd "$DEBS" && apt-get download -q "$pkg=$ver" >/dev/null 2>"$DEBS/.apt-$pkg.log") ||
      { cat "$DEBS/.apt-$pkg.log" >&2; die "apt-get download $pkg failed"; }
    f="$(ls "$DEBS/${pkg}_${ver/:/%3a}_"*.deb | head -n1)"
  fi
  printf '%s\n' "$f"
}

# Small libc-only tools may be missing on the host: unpack their Debian package into the cache.
fetched_tool_pkgs=()
ensure_pkg_unpacked() {
  local pkg="$1" deb
  if [[ ! -f "$TOOLS/.$pkg.done" ]]; then
    deb="$(fetch_deb "$pkg")"
    dpkg -x "$deb" "$TOOLS/root"
    touch "$TOOLS/.$pkg.done"
  fi
  fetched_tool_pkgs+=("$pkg")
}
export PATH="$PATH:$TOOLS/root/usr/bin:$TOOLS/root/usr/sbin:$TOOLS/root/sbin:$TOOLS/root/bin"

need_cmd() { # need_cmd CMD PKG [fetchable]
  if command -v "$1" >/dev/null; then
    [[ "$(command -v "$1")" == "$TOOLS"/* ]] && fetched_tool_pkgs+=("$2")
    return 0
  fi
  [[ "${3:-}" == fetchable ]] || die "missing '$1' (apt-get install $2)"
  ensure_pkg_unpacked "$2"
  command -v "$1" >/dev/null || die "'$1' not found even after unpacking $2"
}
need_file() { # need_file VAR PKG fetchable-path host-path...
  local var="$1" pkg="$2" rel="$3" p; shift 3
  for p in "$@"; do
    if [[ -f "$p" ]]; then printf -v "$var" '%s' "$p"; return 0; fi
  done
  if [[ -f "$TOOLS/root/$rel" ]]; then
    printf -v "$var" '%s' "$TOOLS/root/$rel"
    fetched_tool_pkgs+=("$pkg")
    return 0
  fi
  ensure_pkg_unpacked "$pkg"
  [[ -f "$TOOLS/root/$rel" ]] || die "$rel not found in $pkg"
  printf -v "$var" '%s' "$TOOLS/root/$rel"
}

need_cmd qemu-img qemu-utils
need_cmd xorriso xorriso
need_cmd xz xz-utils
need_cmd gzip gzip
need_cmd sha256sum coreutils
need_cmd mkfs.vfat dosfstools fetchable
need_cmd mcopy mtools fetchable
need_cmd syslinux syslinux fetchable
need_file ISOLINUX_BIN isolinux usr/lib/ISOLINUX/isolinux.bin /usr/lib/ISOLINUX/isolinux.bin
need_file ISOHDPFX isolinux usr/lib/ISOLINUX/isohdpfx.bin /usr/lib/ISOLINUX/isohdpfx.bin
need_file LDLINUX_C32 syslinux-common usr/lib/syslinux/modules/bios/ldlinux.c32 \
  /usr/lib/syslinux/modules/bios/ldlinux.c32

# --- fetch kernel + busybox ---------------------------------------------------------------
KPKG="$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')"
[[ -n "$KPKG" ]] || die "cannot resolve linux-image-amd64 (apt-get update?)"
KVER_PKG="$(apt-cache policy "$KPKG" | awk '/Candidate:/{print $2; exit}')"
KDEB="$(fetch_deb "$KPKG")"
BBDEB="$(fetch_deb busybox-static)"
BBVER="$(apt-cache policy busybox-static | awk '/Candidate:/{print $2; exit}')"

WORK="$(mktemp -d "$OUT/.build.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
log "unpacking $KPKG ($KVER_PKG) and busybox-static ($BBVER)"
dpkg -x "$KDEB" "$WORK/k"
dpkg -x "$BBDEB" "$WORK/bb"
KREL="$(ls "$WORK/k/lib/modules" | head -n1)"
MODDIR="$WORK/k/lib/modules/$KREL"
cp "$WORK/k/boot/vmlinuz-$KREL" "$WORK/vmlinuz"

# --- vmlinux: the uncompressed ELF inside vmlinuz (XZ stream starts at FD 37 7A 58 5A 00) ---
found=0
for off in $(grep -obUaP '\xFD\x37\x7A\x58\x5A\x00' "$WORK/vmlinuz" | cut -d: -f1); do
  if { tail -c +$((off + 1)) "$WORK/vmlinuz" || true; } | xz -dc --single-stream >"$WORK/vmlinux" 2>/dev/null &&
    [[ "$(head -c 4 "$WORK/vmlinux" | od -An -tx1 | tr -d ' \n')" == "7f454c46" ]]; then
    found=1
    break
  fi
done
[[ $found == 1 ]] || die "could not extract vmlinux from vmlinuz (not XZ-compressed?)"

# --- initramfs -------------------------------------------------------------------------------
R="$WORK/initramfs"
mkdir -p "$R"/{bin,dev,proc,sys,tmp,root,etc,lib/modules,mnt}
cp "$WORK/bb/bin/busybox" "$R/bin/busybox"
for a in $("$R/bin/busybox" --list); do
  [[ "$a" == busybox ]] || ln -sf busybox "$R/bin/$a"
done
mod_list=()
for m in "${MODULES[@]}"; do
  p="$(find "$MODDIR/kernel" -name "$m.ko" -print -quit)"
  if [[ -z "$p" ]]; then
    p="$(find "$MODDIR/kernel" \( -name "$m.ko.xz" -o -name "$m.ko.zst" -o -name "$m.ko.gz" \) -print -quit)"
  fi
  if [[ -z "$p" ]]; then
    grep -q "/$m.ko" "$MODDIR/modules.builtin" && continue # built in: nothing to load
    die "module $m not found in $KPKG"
  fi
  case "$p" in
    *.ko) cp "$p" "$R/lib/modules/$m.ko" ;;
    *.xz) xz -dc "$p" >"$R/lib/modules/$m.ko" ;;
    *.zst) zstd -qdc "$p" >"$R/lib/modules/$m.ko" ;;
    *.gz) gzip -dc "$p" >"$R/lib/modules/$m.ko" ;;
  esac
  mod_list+=("$m")
done
printf '%s\n' "${mod_list[@]}" >"$R/etc/modules"

cat >"$R/init" <<'EOF'
#!/bin/sh
# Virtuoso tiny guest. PID 1 until it execs busybox init.
export PATH=/bin
mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec 0</dev/console 1>/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts 2>/dev/null
for m in $(cat /etc/modules); do insmod /lib/modules/$m.ko 2>/dev/null; done
hostname virtuoso-guest
exec /bin/init
EOF
cat >"$R/etc/inittab" <<'EOF'
::sysinit:/etc/rc
ttyS0::respawn:-/bin/sh
tty1::respawn:-/bin/sh
::ctrlaltdel:/etc/ctrlaltdel
EOF
# Ctrl-Alt-Del reboots, as on a real OS (the kernel hands the keys to init as SIGINT). The VMM
# keeps running: the guest boots again to its ready marker.
cat >"$R/etc/ctrlaltdel" <<'EOF'
#!/bin/sh
echo "VIRTUOSO-GUEST-REBOOT" >/dev/ttyS0 2>/dev/null
sync
exec reboot -f
EOF
cat >"$R/etc/rc" <<'EOF'
#!/bin/sh
# acpid-like watcher: any event from the ACPI "Power Button" input device powers the guest off.
# The device is opened HERE, before the ready marker, so that a power-button press that comes
# right after the marker is buffered by evdev instead of being lost.
powerwatch() {
  i=0
  while [ $i -lt 100 ]; do
    for ev in /sys/class/input/event*; do
      [ -e "$ev" ] || continue
      case "$(cat "$ev/device/name" 2>/dev/null)" in
        "Power Button"*)
          n="${ev##*/}"
          j=0
          while [ ! -e "/dev/input/$n" ] && [ $j -lt 100 ]; do sleep 0.05; j=$((j + 1)); done
          exec 3<"/dev/input/$n" || return 1
          ( dd bs=24 count=1 <&3 >/dev/null 2>&1
            echo "VIRTUOSO-GUEST-POWERDOWN" >/dev/ttyS0 2>/dev/null
            sync; poweroff -f ) &
          exec 3<&-
          return 0 ;;
      esac
    done
    i=$((i + 1)); sleep 0.1
  done
  echo "virtuoso: no ACPI power button found" >/dev/ttyS0 2>/dev/null
}
powerwatch
# In-memory counter on the serial console: proves that suspend/resume keeps memory.
( n=0; while true; do n=$((n + 1)); echo "tick $n" >/dev/ttyS0 2>/dev/null; sleep 1; done ) &
echo "VIRTUOSO-GUEST-READY" >/dev/ttyS0 2>/dev/null
echo "VIRTUOSO-GUEST-READY" >/dev/tty0 2>/dev/null
exit 0
EOF
cat >"$R/etc/profile" <<'EOF'
export PATH=/bin PS1='virtuoso# '
EOF
echo 'root:x:0:0:root:/root:/bin/sh' >"$R/etc/passwd"
echo 'root:x:0:' >"$R/etc/group"
chmod 755 "$R/init" "$R/etc/rc" "$R/etc/ctrlaltdel"
(cd "$R" && find . | sort | "$R/bin/busybox" cpio -o -H newc 2>/dev/null) | gzip -1 -n >"$WORK/initramfs.gz"

# --- boot-loader config shared by disk and ISO -----------------------------------------------
APPEND="console=tty0 console=ttyS0 quiet"
bootcfg() {
  cat <<EOF
SERIAL 0 115200
DEFAULT virtuoso
PROMPT 0
TIMEOUT 0
LABEL virtuoso
  KERNEL /vmlinuz
  INITRD /initramfs.gz
  APPEND $APPEND
EOF
}

# --- tiny-linux.qcow2: FAT "superfloppy" + syslinux, built without mounting anything ---------
bootcfg >"$WORK/syslinux.cfg"
kb=$(($(stat -c %s "$WORK/vmlinuz") / 1024 + $(stat -c %s "$WORK/initramfs.gz") / 1024 + 2048))
kb=$(((kb + 1023) / 1024 * 1024))
mkfs.vfat -C -n VIRTUOSO "$WORK/fat.img" "$kb" >/dev/null
mcopy -i "$WORK/fat.img" "$WORK/vmlinuz" "$WORK/initramfs.gz" "$WORK/syslinux.cfg" ::/
syslinux --install "$WORK/fat.img"
qemu-img convert -q -f raw -O qcow2 "$WORK/fat.img" "$WORK/tiny-linux.qcow2"
rm -f "$WORK/fat.img"

# --- tiny-linux.iso: isolinux boot CD ----------------------------------------------------------
ISO="$WORK/iso"
mkdir -p "$ISO/isolinux"
cp "$ISOLINUX_BIN" "$LDLINUX_C32" "$ISO/isolinux/"
bootcfg >"$ISO/isolinux/isolinux.cfg"
cp "$WORK/vmlinuz" "$WORK/initramfs.gz" "$ISO/"
xorriso -as mkisofs -quiet -o "$WORK/tiny-linux.iso" -V VIRTUOSO -J -R \
  -isohybrid-mbr "$ISOHDPFX" \
  -b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot -boot-load-size 4 -boot-info-table \
  "$ISO" 2>"$WORK/xorriso.log" || { cat "$WORK/xorriso.log" >&2; die "xorriso failed"; }

# --- install outputs + manifest (written last: its presence means the build completed) ------
rm -f "$OUT/manifest.json"
for f in "${OUTPUTS[@]}"; do mv -f "$WORK/$f" "$OUT/$f"; done
{
  printf '{\n'
  printf '  "scriptSha256": "%s",\n' "$SCRIPT_SHA"
  printf '  "builtAt": "%s",\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  printf '  "kernel": { "package": "%s", "version": "%s", "release": "%s" },\n' "$KPKG" "$KVER_PKG" "$KREL"
  printf '  "busybox": { "package": "busybox-static", "version": "%s" },\n' "$BBVER"
  printf '  "append": "%s",\n' "$APPEND"
  printf '  "marker": "VIRTUOSO-GUEST-READY",\n'
  printf '  "files": {\n'
  n=${#OUTPUTS[@]}
  i=0
  for f in "${OUTPUTS[@]}"; do
    i=$((i + 1))
    sep=","
    [[ $i == "$n" ]] && sep=""
    printf '    "%s": { "sha256": "%s", "bytes": %s }%s\n' "$f" \
      "$(sha256sum "$OUT/$f" | cut -d' ' -f1)" "$(stat -c %s "$OUT/$f")" "$sep"
  done
  printf '  }\n}\n'
} >"$OUT/manifest.json.tmp"
mv -f "$OUT/manifest.json.tmp" "$OUT/manifest.json"
log "built in $(($(date +%s) - START_TS)) s: $OUT (tools unpacked from Debian packages into the cache: ${fetched_tool_pkgs[*]:-none})"
