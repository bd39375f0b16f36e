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
  scsi_common scsi_mod libata ata_piix cdrom sr_mod isofs
  failover net_failover virtio_net virtio-rng)
# dropbear (Debian's dropbear-bin) and exactly the shared libraries its two programs need, each from
# its Debian package: file name in the guest's /lib/x86_64-linux-gnu -> package. The build checks
# with the guest's own dynamic loader that nothing else is needed.
DROPBEAR_LIBS=(libtomcrypt.so.1:libtomcrypt1 libtommath.so.1:libtommath1 libgmp.so.10:libgmp10
  libz.so.1:zlib1g libcrypt.so.1:libcrypt1 libc.so.6:libc6 ld-linux-x86-64.so.2:libc6)

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
DBDEB="$(fetch_deb dropbear-bin)"
DBVER="$(apt-cache policy dropbear-bin | awk '/Candidate:/{print $2; exit}')"
lib_pkgs=()
for e in "${DROPBEAR_LIBS[@]}"; do
  pkg="${e#*:}"
  [[ " ${lib_pkgs[*]} " == *" $pkg "* ]] || lib_pkgs+=("$pkg")
done
lib_debs=()
for pkg in "${lib_pkgs[@]}"; do lib_debs+=("$(fetch_deb "$pkg")"); done

WORK="$(mktemp -d "$OUT/.build.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
log "unpacking $KPKG ($KVER_PKG) and busybox-static ($BBVER)"
dpkg -x "$KDEB" "$WORK/k"
dpkg -x "$BBDEB" "$WORK/bb"
dpkg -x "$DBDEB" "$WORK/db"
for deb in "${lib_debs[@]}"; do dpkg -x "$deb" "$WORK/libs"; done
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
mkdir -p "$R"/{bin,dev,proc,sys,tmp,root,etc,lib/modules,mnt,run,var/run,var/log}
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

# dropbear + its libraries where the dynamic loader finds them: /lib64/ld-linux-x86-64.so.2 is the
# programs' ELF interpreter, and Debian's loader searches /lib/x86_64-linux-gnu by default (no
# ld.so.cache needed).
mkdir -p "$R/usr/sbin" "$R/usr/bin" "$R/lib/x86_64-linux-gnu" "$R/lib64" "$R/etc/dropbear"
cp "$WORK/db/usr/sbin/dropbear" "$R/usr/sbin/dropbear"
cp "$WORK/db/usr/bin/dropbearkey" "$R/usr/bin/dropbearkey"
for e in "${DROPBEAR_LIBS[@]}"; do
  name="${e%%:*}"
  p="$(find "$WORK/libs" -name "$name" \( -type f -o -type l \) -print -quit)"
  [[ -n "$p" ]] || die "$name not found in ${e#*:}"
  cp -L "$p" "$R/lib/x86_64-linux-gnu/$name"
done
ln -s ../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$R/lib64/ld-linux-x86-64.so.2"
# Every library the two programs need must resolve inside the image: ask the guest's own loader.
for b in usr/sbin/dropbear usr/bin/dropbearkey; do
  deps="$("$R/lib64/ld-linux-x86-64.so.2" --library-path "$R/lib/x86_64-linux-gnu" --list "$R/$b")" ||
    die "cannot list the libraries of $b"
  if grep -q 'not found' <<<"$deps" || grep -E '=> /' <<<"$deps" | grep -vq "=> $R/"; then
    die "$b needs a library not in the image: $deps"
  fi
done

cat >"$R/init" <<'EOF'
#!/bin/sh
# Virtuoso tiny guest. PID 1 until it execs busybox init.
export PATH=/bin:/usr/bin:/usr/sbin
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
ip link set lo up
# NoCloud seed (apps/provider-agent/src/vmm/qemu/seed-image.ts writes it): the first virtio disk
# holding an ISO 9660 volume labelled cidata. Without one the guest boots as before.
seed_disk() {
  for b in /sys/block/vd*; do
    [ -e "$b" ] || continue
    d="/dev/${b##*/}"
    # Primary volume descriptor at byte 32768: type 1, "CD001", ...; volume id at byte 40, 32 bytes.
    [ "$(dd if="$d" bs=1 skip=32769 count=5 2>/dev/null)" = CD001 ] || continue
    case "$(dd if="$d" bs=1 skip=32808 count=32 2>/dev/null | tr -d ' ')" in
      cidata | CIDATA) echo "$d"; return 0 ;;
    esac
  done
  return 1
}
# network-config v2 as seed-image.ts writes it -> one line per NIC: name mac address gateway dns...
# ("-" for an absent address or gateway).
nics_of() {
  awk '
    function flush() { if (mac != "") print name, mac, (addr == "" ? "-" : addr), (gw == "" ? "-" : gw), ns; mac = "" }
    /^  [^ ]/ { flush(); name = $1; sub(/:$/, "", name); addr = ""; gw = ""; ns = ""; sect = ""; next }
    /^    [^ ]/ { sect = $1; next }
    $1 == "macaddress:" { mac = $2; gsub(/"/, "", mac); mac = tolower(mac); next }
    sect == "addresses:" && /^      - / { if (addr == "") addr = $2; next }
    sect == "routes:" && $1 == "via:" { gw = $2; next }
    sect == "nameservers:" && /^        - / { ns = ns " " $2; next }
    END { flush() }' "$1"
}
# user-data ssh_authorized_keys: one JSON string per line; unquoted here (\" \\ \/ \t; a line with
# any other escape is dropped), never evaluated by the shell.
keys_of() {
  awk '
    /^ssh_authorized_keys:/ { inkeys = 1; next }
    inkeys && /^[^ ]/ { inkeys = 0 }
    inkeys && /^  - ".*"[ \t\r]*$/ {
      s = $0; sub(/^  - "/, "", s); sub(/"[ \t\r]*$/, "", s); out = ""; ok = 1
      for (i = 1; i <= length(s); i++) {
        c = substr(s, i, 1)
        if (c == "\\") {
          i++; c = substr(s, i, 1)
          if (c == "\"" || c == "\\" || c == "/") out = out c
          else if (c == "t") out = out "\t"
          else { ok = 0; break }
        } else if (c == "\"") { ok = 0; break }
        else out = out c
      }
      if (ok && out != "") print out
    }' "$1"
}
seed_setup() {
  dev="$(seed_disk)" || return 0
  mkdir -p /run/cidata
  mount -t iso9660 -o ro "$dev" /run/cidata || { echo "virtuoso: cannot mount the seed $dev" >/dev/ttyS0; return 0; }
  hn="$(sed -n 's/^local-hostname: *//p' /run/cidata/meta-data | head -n 1)"
  case "$hn" in
    '' | *[!A-Za-z0-9.-]*) ;;
    *) hostname "$hn"; echo "$hn" >/etc/hostname ;;
  esac
  : >/etc/resolv.conf
  nics_of /run/cidata/network-config | while read -r name mac addr gw ns; do
    ifc=""
    for n in /sys/class/net/*; do
      [ "$(cat "$n/address" 2>/dev/null)" = "$mac" ] && ifc="${n##*/}"
    done
    [ -n "$ifc" ] || { echo "virtuoso: no NIC with MAC $mac" >/dev/ttyS0; continue; }
    ip link set "$ifc" up
    case "$addr" in -) continue ;; *[!0-9./]*) continue ;; esac
    ip addr add "$addr" dev "$ifc"
    case "$gw" in -) ;; *[!0-9.]*) ;; *) ip route add default via "$gw" dev "$ifc" ;; esac
    for x in $ns; do
      case "$x" in *[!0-9a-fA-F.:]*) ;; *) echo "nameserver $x" >>/etc/resolv.conf ;; esac
    done
    echo "VIRTUOSO-NET $ifc ${addr%/*}" >/dev/ttyS0
    # One gratuitous ARP so that switches learn where this address is now (after a migration too).
    [ "$name" = private ] && arping -U -c 1 -w 1 -I "$ifc" "${addr%/*}" >/dev/null 2>&1 &
  done
  mkdir -p /root/.ssh
  chmod 700 /root /root/.ssh
  keys_of /run/cidata/user-data >/root/.ssh/authorized_keys
  chmod 600 /root/.ssh/authorized_keys
  umount /run/cidata
  sshd_wanted=1
}
# ssh, started after the ready marker: making the host key waits for the kernel's random pool,
# which under TCG without a virtio-rng device or RDRAND keeps the only vCPU busy for about a second.
start_sshd() {
  # A host key made at this boot, key logins only (-s), root's shell /bin/sh.
  /usr/bin/dropbearkey -t ed25519 -f /etc/dropbear/dropbear_ed25519_host_key >/dev/null 2>&1
  /usr/sbin/dropbear -s -r /etc/dropbear/dropbear_ed25519_host_key -p 22 || return 1
  i=0
  while [ $i -lt 1000 ]; do
    if grep -q ':0016 [0-9A-F]*:0000 0A' /proc/net/tcp /proc/net/tcp6 2>/dev/null; then
      echo "VIRTUOSO-SSHD-READY" >/dev/ttyS0
      return 0
    fi
    i=$((i + 1)); usleep 10000
  done
  echo "virtuoso: dropbear is not listening" >/dev/ttyS0
}
sshd_wanted=""
seed_setup
# In-memory counter on the serial console: proves that suspend/resume keeps memory.
( n=0; while true; do n=$((n + 1)); echo "tick $n" >/dev/ttyS0 2>/dev/null; sleep 1; done ) &
echo "VIRTUOSO-GUEST-READY" >/dev/ttyS0 2>/dev/null
echo "VIRTUOSO-GUEST-READY" >/dev/tty0 2>/dev/null
[ -n "$sshd_wanted" ] && start_sshd &
exit 0
EOF
cat >"$R/etc/profile" <<'EOF'
export PATH=/bin:/usr/bin:/usr/sbin PS1='virtuoso# '
EOF
echo 'root:x:0:0:root:/root:/bin/sh' >"$R/etc/passwd"
echo '/bin/sh' >"$R/etc/shells"
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
  printf '  "dropbear": { "package": "dropbear-bin", "version": "%s" },\n' "$DBVER"
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
