#!/usr/bin/env bash
# Installs (or upgrades) the Virtuoso provider agent on a Debian 12 host (docs/ARCHITECTURE.md §13):
#
#   curl -fsSL <market>/install-agent.sh | sudo bash -s -- --join <token> --port <port> --console-port <port>
#
# Debian's QEMU, qemu-utils, openssh-server, rsync and vde2 (only those missing); a `virtuoso`
# system user (in the kvm group when there is one); the agent package from the market, checked
# against its sha256, in /opt/virtuoso-agent/<version> with a `current` symlink; its data in
# /var/lib/virtuoso-agent; its settings in /etc/virtuoso-agent.env; the systemd unit
# virtuoso-agent.service. The first start joins the market with the token. Running it again
# upgrades: new package, same identity (agent.json) and data, restart; virtual machines keep running.
#
# Options:
#   --join TOKEN          one-time join token from the "Add host" page (first install only)
#   --market URL          the market's address (default: where this script was served from)
#   --port PORT           the agent's command port; --console-port PORT its console port
#   --listen ADDR         address the agent listens on (default: 127.0.0.1 when the market is on
#                         this machine, else 0.0.0.0)
#   --advertise HOST      address the market dials (default: the listen address, or with 0.0.0.0
#                         this host's address on the route to the market)
#   --accel kvm|tcg|probe default: kvm when /dev/kvm exists, else tcg
#   --upgrade             refuse to run unless the agent is installed already (without it an
#                         installed agent is upgraded anyway)
#   --no-systemd          run the agent detached under the virtuoso user (pid file, log file)
#                         instead of through systemd; chosen when systemd is not running
#   --root DIR            install under DIR (every path written is prefixed; implies --no-systemd;
#                         the user is created in the system's user database): tests, packagers
# Ports, listen, advertise and accel keep their earlier values on an upgrade unless given again.
set -euo pipefail
umask 022

DEFAULT_MARKET_URL='@@VIRTUOSO_MARKET_URL@@'

if [ -t 1 ]; then
  say() { printf '\033[1m==>\033[0m %s\n' "$*"; }
else
  say() { printf '==> %s\n' "$*"; }
fi
die() {
  printf 'install-agent: %s\n' "$*" >&2
  exit 1
}

MARKET='' JOIN='' PORT='' CONSOLE_PORT='' LISTEN='' ADVERTISE='' ACCEL='' ROOT='' UPGRADE_ONLY=0 NO_SYSTEMD=0
while [ $# -gt 0 ]; do
  opt=$1
  case $opt in
    --upgrade) UPGRADE_ONLY=1; shift; continue ;;
    --no-systemd) NO_SYSTEMD=1; shift; continue ;;
    -h | --help) sed -n '2,28p' "$0" 2>/dev/null || true; exit 0 ;;
  esac
  [ $# -ge 2 ] || die "$opt: a value is required"
  case $opt in
    --join) JOIN=$2 ;;
    --market | --frontend) MARKET=$2 ;;
    --port) PORT=$2 ;;
    --console-port) CONSOLE_PORT=$2 ;;
    --listen) LISTEN=$2 ;;
    --advertise) ADVERTISE=$2 ;;
    --accel) ACCEL=$2 ;;
    --root) ROOT=$2 ;;
    *) die "$opt: unknown option (see the comment at the top of install-agent.sh)" ;;
  esac
  shift 2
done

[ "$(id -u)" = 0 ] || die "run it as root (sudo bash -s -- …)"
[ -r /etc/debian_version ] || die "this installer is for Debian 12 (no /etc/debian_version)"
# sd_booted(): systemd runs this machine when /run/systemd/system exists.
detached='the agent runs detached under the virtuoso user, with a pid file and a log file, instead of as a systemd service'
if [ "$NO_SYSTEMD" = 1 ]; then
  say "--no-systemd: $detached"
elif [ ! -d /run/systemd/system ]; then
  say "systemd is not running here: $detached"
  NO_SYSTEMD=1
elif [ -n "$ROOT" ]; then
  say "--root: $detached"
  NO_SYSTEMD=1
fi
if [ -n "$ROOT" ]; then
  [ -d "$ROOT" ] || die "--root $ROOT: not a directory"
  ROOT=$(cd "$ROOT" && pwd)
fi

OPT_DIR=/opt/virtuoso-agent
DATA_DIR=/var/lib/virtuoso-agent
ENV_FILE=/etc/virtuoso-agent.env
UNIT_FILE=/etc/systemd/system/virtuoso-agent.service
LOG_FILE=/var/log/virtuoso-agent.log
PID_FILE=/run/virtuoso-agent.pid
R() { printf '%s%s' "$ROOT" "$1"; } # a path under --root

# Earlier settings, for an upgrade.
prev() { [ -r "$(R $ENV_FILE)" ] && sed -n "s/^$1=//p" "$(R $ENV_FILE)" | tail -n 1 || true; }
INSTALLED=0
[ -e "$(R $OPT_DIR)/current" ] && INSTALLED=1
[ "$UPGRADE_ONLY" = 0 ] || [ "$INSTALLED" = 1 ] || die "--upgrade: no agent is installed in $(R $OPT_DIR)"
MARKET=${MARKET:-$(prev VIRTUOSO_FRONTEND_URL)}
if [ -z "$MARKET" ]; then
  case $DEFAULT_MARKET_URL in @@*) die "--market URL is required (this copy of the script was not served by a market)" ;; esac
  MARKET=$DEFAULT_MARKET_URL
fi
MARKET=${MARKET%/}
case $MARKET in http://* | https://*) ;; *) die "--market: not an http(s) URL: $MARKET" ;; esac
PORT=${PORT:-$(prev VIRTUOSO_AGENT_PORT)}
CONSOLE_PORT=${CONSOLE_PORT:-$(prev VIRTUOSO_AGENT_CONSOLE_PORT)}
LISTEN=${LISTEN:-$(prev VIRTUOSO_AGENT_LISTEN)}
ADVERTISE=${ADVERTISE:-$(prev VIRTUOSO_AGENT_ADVERTISE_HOST)}
ACCEL=${ACCEL:-$(prev VIRTUOSO_ACCEL)}
# Joined: agent.json holds an identity the market has not retired (a retired one needs a new token).
joined() { [ -s "$(R $DATA_DIR)/agent.json" ] && ! grep -q '"retiredAt"' "$(R $DATA_DIR)/agent.json"; }
joined=0
joined && joined=1
[ "$joined" = 1 ] || [ -n "$JOIN" ] || die "--join TOKEN is required on the first install (copy the line from the market's Add host page)"
[ -n "$PORT" ] || die "--port PORT is required on the first install"
# What goes into the env file: one plain word each.
[[ -z $JOIN || $JOIN =~ ^[A-Za-z0-9_-]+$ ]] || die "--join: not a join token: $JOIN"
url_re='^https?://[][A-Za-z0-9.:@%_~/-]+$'
[[ $MARKET =~ $url_re ]] || die "--market: not a plain http(s) URL: $MARKET"
for h in ${LISTEN:+"$LISTEN"} ${ADVERTISE:+"$ADVERTISE"}; do
  [[ $h =~ ^[A-Za-z0-9.:-]+$ ]] || die "not a host name or address: $h"
done
for p in "$PORT" ${CONSOLE_PORT:+"$CONSOLE_PORT"}; do
  [[ $p =~ ^[0-9]{1,5}$ ]] && [ "$p" -ge 1 ] && [ "$p" -le 65535 ] || die "not a TCP port: $p"
done
case ${ACCEL:-} in '') if [ -e /dev/kvm ]; then ACCEL=kvm; else ACCEL=tcg; fi ;; kvm | tcg | probe) ;; *) die "--accel must be kvm, tcg or probe" ;; esac
market_host=$(printf '%s' "$MARKET" | sed -E 's#^https?://(\[([^]]*)\]|([^/:]*)).*#\2\3#')
if [ -z "$LISTEN" ]; then
  case $market_host in localhost | 127.* | ::1) LISTEN=127.0.0.1 ;; *) LISTEN=0.0.0.0 ;; esac
fi
if [ -z "$ADVERTISE" ]; then
  if [ "$LISTEN" = 0.0.0.0 ] || [ "$LISTEN" = :: ]; then
    # (|| true: an unknown name fails getent, no route fails ip, and pipefail would end the script before it says why.)
    market_ip=$(getent ahosts "$market_host" | awk 'NR == 1 { print $1 }' || true)
    ADVERTISE=$(ip -o route get "${market_ip:-$market_host}" 2>/dev/null | sed -nE 's/.* src ([^ ]+).*/\1/p' || true)
    [ -n "$ADVERTISE" ] || die "cannot tell which address the market should dial: give --advertise HOST"
    say "the market will dial this host at $ADVERTISE, its address on the route to $market_host (--advertise HOST to choose)"
  else
    ADVERTISE=$LISTEN
  fi
fi

# 1. The package: downloaded and checked before anything on the host changes.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
say "downloading the agent from $MARKET"
curl -fsSL "$MARKET/downloads/virtuoso-agent.tar.gz" -o "$work/virtuoso-agent.tar.gz"
curl -fsSL "$MARKET/downloads/virtuoso-agent.tar.gz.sha256" -o "$work/virtuoso-agent.tar.gz.sha256"
(cd "$work" && sha256sum --check --quiet --strict virtuoso-agent.tar.gz.sha256) || die "the package does not match its sha256: not installed"
tar -xzf "$work/virtuoso-agent.tar.gz" -C "$work" --no-same-owner
top=$(cd "$work" && ls -d virtuoso-agent-*/ | head -n 1)
top=${top%/}
[ -n "$top" ] && [ -r "$work/$top/VERSION" ] || die "the package holds no virtuoso-agent-<version> directory"
version=$(cat "$work/$top/VERSION")

# 2. Debian packages, only those missing.
PACKAGES=(qemu-system-x86 qemu-utils openssh-server rsync vde2)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  say "QEMU, openssh-server, rsync and vde2 are installed"
fi

# 3. The virtuoso system user, its home the data directory.
mkdir -p "$(R $DATA_DIR)" "$(R $OPT_DIR)" "$(dirname "$(R $ENV_FILE)")" "$(dirname "$(R $UNIT_FILE)")" "$(dirname "$(R $LOG_FILE)")" "$(dirname "$(R $PID_FILE)")"
if ! getent passwd virtuoso >/dev/null; then
  say "creating the virtuoso system user"
  useradd --system --user-group --home-dir "$(R $DATA_DIR)" --no-create-home --shell /usr/sbin/nologin --comment 'Virtuoso provider agent' virtuoso
fi
if getent group kvm >/dev/null && ! id -nG virtuoso | tr ' ' '\n' | grep -qx kvm; then usermod -aG kvm virtuoso; fi
chown virtuoso:virtuoso "$(R $DATA_DIR)"
chmod 700 "$(R $DATA_DIR)"

# 4. The package beside the earlier versions.
previous=$(readlink "$(R $OPT_DIR)/current" 2>/dev/null || true)
if [ ! -d "$(R $OPT_DIR)/$version" ]; then
  mv "$work/$top" "$(R $OPT_DIR)/$version.tmp"
  mv -T "$(R $OPT_DIR)/$version.tmp" "$(R $OPT_DIR)/$version"
fi
ln -sfn "$version" "$(R $OPT_DIR)/current.tmp"
mv -T "$(R $OPT_DIR)/current.tmp" "$(R $OPT_DIR)/current"
# Keep this version and the one before it (to go back by hand); older ones go.
for d in "$(R $OPT_DIR)"/*/; do
  d=$(basename "$d")
  [ "$d" = "$version" ] || [ "$d" = "$previous" ] || [ "$d" = current ] || rm -rf "$(R $OPT_DIR)/${d:?}"
done
say "agent ${version} in $(R $OPT_DIR)/current${previous:+ (was $previous)}"

# 5. Settings (with --root the agent runs from under it: its paths carry the prefix).
umask 077
{
  echo "# The provider agent's settings (apps/provider-agent/README.md); written by install-agent.sh."
  echo "VIRTUOSO_AGENT_DATA_DIR=$(R $DATA_DIR)"
  echo "VIRTUOSO_FRONTEND_URL=$MARKET"
  echo "VIRTUOSO_AGENT_PORT=$PORT"
  [ -z "$CONSOLE_PORT" ] || echo "VIRTUOSO_AGENT_CONSOLE_PORT=$CONSOLE_PORT"
  echo "VIRTUOSO_AGENT_LISTEN=$LISTEN"
  echo "VIRTUOSO_AGENT_ADVERTISE_HOST=$ADVERTISE"
  echo "VIRTUOSO_ACCEL=$ACCEL"
  echo "NO_COLOR=1"
  # Read on the first start only: the agent keeps its identity in agent.json; removed once joined.
  [ "$joined" = 1 ] || [ -z "$JOIN" ] || echo "VIRTUOSO_JOIN_TOKEN=$JOIN"
} >"$(R $ENV_FILE).tmp"
mv "$(R $ENV_FILE).tmp" "$(R $ENV_FILE)"
umask 022

# 6. The systemd unit. KillMode=process: stopping or upgrading the agent leaves its QEMU processes
# running (it finds them again on start). No capability is needed: guests use QEMU's user-mode
# networking and ports from 1024 up, private segments unix sockets and ssh.
kvm_group=''
getent group kvm >/dev/null && kvm_group='SupplementaryGroups=kvm'
cat >"$(R $UNIT_FILE)" <<EOF
[Unit]
Description=Virtuoso provider agent
Wants=network-online.target
After=network-online.target

[Service]
User=virtuoso
Group=virtuoso
$kvm_group
EnvironmentFile=$(R $ENV_FILE)
Environment=HOME=$(R $DATA_DIR)
WorkingDirectory=$(R $DATA_DIR)
ExecStart=$(R $OPT_DIR)/current/bin/node $(R $OPT_DIR)/current/lib/agent.js
KillMode=process
Restart=on-failure
RestartSec=5

[Install]
WantedBy=multi-user.target
EOF

# 7. (Re)start.
running() {
  if [ "$NO_SYSTEMD" = 1 ]; then
    [ -r "$(R $PID_FILE)" ] && kill -0 "$(cat "$(R $PID_FILE)")" 2>/dev/null
  else
    systemctl is-active --quiet virtuoso-agent
  fi
}
if [ "$NO_SYSTEMD" = 1 ]; then
  if [ -r "$(R $PID_FILE)" ]; then
    say "stopping the running agent (pid $(cat "$(R $PID_FILE)"))"
    start-stop-daemon --stop --quiet --pidfile "$(R $PID_FILE)" --remove-pidfile --retry TERM/20/KILL/5 || true
  fi
  touch "$(R $LOG_FILE)"
  chown virtuoso:virtuoso "$(R $LOG_FILE)"
  (
    set -a
    # shellcheck disable=SC1090
    . "$(R $ENV_FILE)"
    set +a
    export HOME="$(R $DATA_DIR)"
    start-stop-daemon --start --background --make-pidfile --pidfile "$(R $PID_FILE)" --chuid virtuoso:virtuoso \
      --chdir "$(R $DATA_DIR)" --output "$(R $LOG_FILE)" --startas "$(R $OPT_DIR)/current/bin/node" -- "$(R $OPT_DIR)/current/lib/agent.js"
  )
  logs="$(R $LOG_FILE)"
else
  systemctl daemon-reload
  systemctl enable --quiet virtuoso-agent
  systemctl restart virtuoso-agent
  logs='journalctl -u virtuoso-agent'
fi

# 8. The first start joins; wait for agent.json, then forget the token.
if [ "$joined" = 0 ]; then
  say "joining $MARKET"
  for _ in $(seq 1 120); do
    joined && break
    running || break
    sleep 0.5
  done
  if ! joined; then
    # Not left retrying with the token: running the line again starts over.
    if [ "$NO_SYSTEMD" = 1 ]; then
      tail -n 20 "$logs" >&2 || true
      start-stop-daemon --stop --quiet --pidfile "$(R $PID_FILE)" --remove-pidfile --retry TERM/10/KILL/5 || true
    else
      journalctl -u virtuoso-agent -n 20 --no-pager >&2 || true
      systemctl stop virtuoso-agent || true
    fi
    die "the agent did not join (logs: $logs)"
  fi
fi
sed -i '/^VIRTUOSO_JOIN_TOKEN=/d' "$(R $ENV_FILE)"
sleep 1
running || die "the agent is not running (logs: $logs)"
agent_id=$(sed -nE 's/.*"agentId": *"([^"]+)".*/\1/p' "$(R $DATA_DIR)/agent.json")
say "the agent $agent_id runs ($([ "$NO_SYSTEMD" = 1 ] && echo "pid $(cat "$(R $PID_FILE)")" || echo 'systemd unit virtuoso-agent')), commands on $ADVERTISE:$PORT, market $MARKET"
say "settings $(R $ENV_FILE), data $(R $DATA_DIR), logs: $logs"
say "to upgrade, run the same line again (no token needed)"
