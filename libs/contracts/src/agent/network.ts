/**
 * Guest networking (report §1–§2's VNET; docs/ARCHITECTURE.md §11): what the front-end tells an
 * agent about a machine's network, and how agents join a buyer's private segment.
 *
 * Every machine has two NICs:
 *   nic0  the buyer's private segment (VNET): virtio-net with the MAC the front-end issued
 *         (report §6.2.3: the front-end issues the Ethernet address "as a way to interface to the
 *         VNET"), plugged into a VDE switch of that buyer's network on this host. The MAC and the
 *         private address travel with the machine when it migrates.
 *   nic1  the provider's uplink: QEMU user networking (slirp). Outbound is NAT'ed when the host's
 *         policy is 'allow' (restrict=off), refused when 'none' (restrict=on); the machine's
 *         forwarded TCP ports (ssh first) work either way (hostfwd on the provider's address).
 *
 * The guest learns its addresses, host name and the buyer's ssh keys from a NoCloud seed (a small
 * read-only ISO 9660 volume labelled `cidata` with meta-data, user-data and network-config v2),
 * which cloud-init reads on a real OS and the tiny-linux image's init reads too.
 *
 * The private segment spans hosts as a star, as the report's VNET did: per network, one agent is
 * the hub; every other agent with a running machine of that network plugs its local switch into
 * the hub's over ssh (`vde_plug` at both ends, `dpipe` between, the forced command of a key the hub
 * authorised for that network only) — never frames between providers in the clear. The buyer's own
 * computer joins the same way with one of the buyer's account ssh keys. The front-end decides the
 * topology; each agent converges on what `vnet.sync` says (declarative and idempotent, so a
 * re-sent or periodic sync heals a cut link or a restarted agent).
 */

/** What the guest sees on its private NIC (nic0). */
export interface PrivateNicConfig {
  /** The buyer's network (a UUID): names the local switch the NIC plugs into. */
  networkId: string;
  /** The machine's private address on the segment, e.g. `10.64.3.10`. */
  address: string;
  /** Prefix length of the network's subnet (24). */
  prefixLength: number;
}

/** A machine's network at start and resume (vm.start, vm.resume). */
export interface VmNetworkConfig {
  /** The private segment; absent: no private NIC is configured for the guest (the NIC is still
   *  present, unplugged, so that a suspended machine resumes with the same devices). */
  private?: PrivateNicConfig;
  /** Guest TCP ports to forward from the provider's address, ssh (22) first; at most 8. */
  forwardPorts: number[];
  /** Host ports this machine had before (its last run here): kept when still free, so the ssh
   *  command the buyer saved keeps working across a stop and start. */
  preferredHostPorts?: number[];
  /** The buyer's public ssh keys (OpenSSH one-line format), put in the guest's authorized keys. */
  sshKeys: string[];
  /** The guest's host name (from the machine's name: letters, digits and '-', at most 63). */
  hostname: string;
}

/** One forwarded TCP port of a running machine: hostPort on the provider's address → guestPort. */
export interface PortForward {
  guestPort: number;
  hostPort: number;
}

/** The agent's network side, reported in HostFacts.network. */
export interface HostNetworkFacts {
  /** The host name or address buyers use to reach forwarded ports (the agent's --public-host,
   *  else the host the agent advertised to the front-end). */
  publicHost: string;
  /** The provider's port range for forwarded ports (inclusive). */
  portRange: { first: number; last: number };
  /** Host ports of that range in use now. */
  portsInUse: number;
  /** Outbound policy for guests: NAT'ed to the outside ('allow') or no outbound at all ('none'). */
  outbound: 'allow' | 'none';
  /** Whether this host can carry private segments (VDE's switch and plug are installed and the
   *  agent has a transfer sshd the hub role needs). */
  vnet: boolean;
}

/** Where a spoke plugs its switch in: the hub agent's transfer sshd. */
export interface VnetUplink {
  /** The hub's agent id (for logs and state). */
  agentId: string;
  /** The hub agent's advertised host. */
  host: string;
  sshPort: number;
  sshUser: string;
  /** The hub sshd's public host key (StrictHostKeyChecking; no trust on first use). */
  hostKey: string;
}

/** A key the hub lets plug into one network's switch: a spoke's uplink key or a buyer's key. */
export interface VnetAdmission {
  publicKey: string;
  /** Who it is, for logs and authorized_keys comments: `agent:<id>` or `buyer-key:<id>`. */
  label: string;
}

/** One network as an agent should hold it. */
export interface VnetDesired {
  networkId: string;
  /** Spoke: plug the local switch into this hub. Absent: this agent is the hub (or alone). */
  uplink?: VnetUplink;
  /** Hub: the keys allowed to plug in (empty on a spoke). */
  admit: VnetAdmission[];
}

/** vnet.sync: every network this agent should hold (full desired state, idempotent). A network not
 *  listed is left: its uplink stopped and its admissions removed; its switch stops once no local
 *  running machine is plugged into it. */
export interface VnetSyncCommand {
  networks: VnetDesired[];
}

/** One network as the agent holds it after the sync. */
export interface VnetHeld {
  networkId: string;
  /** The local switch runs. */
  switchUp: boolean;
  /** On a spoke: the public key of this network's uplink key pair (made once per network and
   *  kept), which the hub must admit. */
  uplinkPublicKey?: string;
  /** The uplink's state: 'none' on a hub, 'connecting' until the hub takes it, then 'up'. */
  uplink: 'none' | 'connecting' | 'up';
  /** Local machines plugged into the switch now. */
  machines: number;
}

export interface VnetSyncResult {
  networks: VnetHeld[];
}
