/** What the join script of a buyer's computer needs. */
export interface JoinScriptInput {
  networkId: string;
  subnet: string;
  device: number;
  /** The device's address on the network, e.g. 10.64.3.2. */
  address: string;
  prefixLength: number;
  /** The hub agent's transfer sshd: the computer plugs into the network's switch there. */
  hub: { host: string; sshPort: number; sshUser: string; hostKey: string; hostName: string };
  /** Fingerprints of the buyer's account keys (the hub admits exactly these). */
  fingerprints: string[];
}

/** Single-quoted for bash (the values are checked already; this keeps them inert regardless). */
const q = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;

/**
 * The bash script a buyer runs as root on a Debian (or Ubuntu) computer to join their private
 * network (docs/ARCHITECTURE.md §11): installs vde2 and the ssh client when missing, makes a tap
 * interface `vnet0` on a local VDE switch with the device's address, and plugs that switch into
 * the hub's over ssh (`dpipe vde_plug … = ssh … vnet`) with one of the buyer's account keys, the
 * hub's host key pinned. ssh runs as the user who ran sudo, so their own keys are used.
 * Ctrl-C (or the link ending) takes the interface down again.
 */
export function joinScript(input: JoinScriptInput): string {
  const { hub } = input;
  const knownHost = `[${hub.host}]:${hub.sshPort} ${hub.hostKey}`;
  const short = input.networkId.slice(0, 8);
  return `#!/usr/bin/env bash
# Joins this computer to your Virtuoso private network ${input.subnet} as device ${input.device} (${input.address}).
# Run as root on Debian or Ubuntu:  sudo bash join.sh      (Ctrl-C leaves the network)
# The link is ssh to the hub host ${hub.hostName} (${hub.host}:${hub.sshPort}) with one of your account's ssh keys:
${input.fingerprints.map((f) => `#   ${f}`).join('\n')}
# ssh runs as the user who ran sudo (their ~/.ssh keys and ssh agent); VIRTUOSO_SSH_IDENTITY=<key file> picks one.
set -euo pipefail

ADDRESS=${q(`${input.address}/${input.prefixLength}`)}
HUB_HOST=${q(hub.host)}
HUB_PORT=${q(String(hub.sshPort))}
HUB_USER=${q(hub.sshUser)}
TAP=vnet0
SWITCH=/run/virtuoso-vnet-${short}

if [ "$(id -u)" -ne 0 ]; then echo "run it as root: sudo bash $0" >&2; exit 1; fi
if ! command -v vde_switch >/dev/null || ! command -v vde_plug >/dev/null || ! command -v dpipe >/dev/null || ! command -v ssh >/dev/null; then
  apt-get update && apt-get install -y vde2 openssh-client
fi

STATE=$(mktemp -d)
KNOWN_HOSTS="$STATE/known_hosts"
printf '%s\\n' ${q(knownHost)} > "$KNOWN_HOSTS"
chmod 0644 "$KNOWN_HOSTS"
chmod 0755 "$STATE"

PLUG=
cleanup() {
  # dpipe runs in a process group of its own (it calls setpgid), which a Ctrl-C here does not reach.
  [ -n "$PLUG" ] && kill -TERM -- "-$PLUG" 2>/dev/null || true
  [ -f "$STATE/switch.pid" ] && kill "$(cat "$STATE/switch.pid")" 2>/dev/null || true
  ip link del "$TAP" 2>/dev/null || true
  rm -rf "$STATE" "$SWITCH"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A local switch with a tap interface carrying this computer's address on the network.
vde_switch -t "$TAP" -s "$SWITCH" -d -p "$STATE/switch.pid"
for _ in $(seq 50); do [ -e "$SWITCH/ctl" ] && break; sleep 0.1; done
ip addr add "$ADDRESS" dev "$TAP"
ip link set "$TAP" up

# vde_plug stays root (the switch is root's); ssh runs as the user who ran sudo, with their keys.
RUN_AS=()
if [ -n "\${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ]; then RUN_AS=(sudo -u "$SUDO_USER" -H); fi
IDENTITY=()
if [ -n "\${VIRTUOSO_SSH_IDENTITY:-}" ]; then IDENTITY=(-i "$VIRTUOSO_SSH_IDENTITY"); fi

echo "joined as $ADDRESS on $TAP; plugging into the hub $HUB_HOST:$HUB_PORT (Ctrl-C to leave)"
# In the background and waited for: a signal to this script is handled at once (not after dpipe).
dpipe vde_plug "$SWITCH" = "\${RUN_AS[@]}" ssh "\${IDENTITY[@]}" -T -p "$HUB_PORT" \\
  -o UserKnownHostsFile="$KNOWN_HOSTS" -o StrictHostKeyChecking=yes -o ServerAliveInterval=5 -o ServerAliveCountMax=3 \\
  "$HUB_USER@$HUB_HOST" vnet &
PLUG=$!
wait "$PLUG"
`;
}
