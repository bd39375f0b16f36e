/**
 * The market's rules of guest networking (docs/ARCHITECTURE.md §11): each buyer's private network
 * (VNET) gets its own /24 in 10.64.0.0/10, machines get addresses the market assigns in it, the
 * buyer's own computers get the few addresses below them, one agent of the network is the hub the
 * others plug into, and what every agent should hold follows from where the buyer's machines run.
 * Pure functions: the API's network service applies them and sends the result as vnet.sync.
 */
import type { MachineState } from './lifecycle';

/** Networks get 10.64.0.0/24, 10.64.1.0/24 … 10.127.255.0/24: 16384 of them. */
export const MAX_NETWORKS = 64 * 256;
export const NETWORK_PREFIX_LENGTH = 24;
/** Machines get .10 to .254; .1 is left for a gateway a provider might add, .2–.9 are the buyer's computers. */
export const FIRST_MACHINE_HOST = 10;
export const LAST_MACHINE_HOST = 254;
/** The buyer's own computers (join.sh?device=N): device 1 is .2 … device 8 is .9. */
export const MAX_DEVICES = 8;

/**
 * States in which a machine's VMM process may run on its host, so its host must hold its network:
 * the switch is plugged in, and the hub is reachable. A start or resume under way counts (the agent
 * starts the switch with the VMM), and so does a stop or suspend until the VMM has ended.
 */
export const NETWORK_LIVE_STATES: ReadonlySet<MachineState> = new Set<MachineState>(['starting', 'running', 'resuming', 'stopping', 'suspending']);

/** The subnet of network number `index` (0, 1, 2 …): `10.(64 + index div 256).(index mod 256).0/24`. */
export function subnetFor(index: number): string {
  if (!Number.isInteger(index) || index < 0 || index >= MAX_NETWORKS) throw new RangeError(`network index must be 0 to ${MAX_NETWORKS - 1}, not ${index}`);
  return `10.${64 + Math.floor(index / 256)}.${index % 256}.0/${NETWORK_PREFIX_LENGTH}`;
}

/** `10.64.3.0/24` → `10.64.3.` (the first three octets, for host addresses in it). */
function base(subnet: string): string {
  const match = /^(\d{1,3}\.\d{1,3}\.\d{1,3})\.0\/24$/.exec(subnet);
  if (!match) throw new RangeError(`not a /24 subnet: ${subnet}`);
  return `${match[1]}.`;
}

/** The host number of an address in the subnet, or null when it is not in it. */
function hostNumber(subnet: string, address: string): number | null {
  const prefix = base(subnet);
  if (!address.startsWith(prefix)) return null;
  const rest = address.slice(prefix.length);
  return /^\d{1,3}$/.test(rest) ? Number(rest) : null;
}

/** The lowest machine address (.10 to .254) of the subnet not in `taken`, or null when all are. */
export function nextFreeAddress(subnet: string, taken: Iterable<string>): string | null {
  const used = new Set<number>();
  for (const address of taken) {
    const n = hostNumber(subnet, address);
    if (n !== null) used.add(n);
  }
  for (let n = FIRST_MACHINE_HOST; n <= LAST_MACHINE_HOST; n++) if (!used.has(n)) return `${base(subnet)}${n}`;
  return null;
}

/** The address of the buyer's computer number `device` (1 to 8): .2 to .9. */
export function deviceAddress(subnet: string, device: number): string {
  if (!Number.isInteger(device) || device < 1 || device > MAX_DEVICES) throw new RangeError(`device must be 1 to ${MAX_DEVICES}, not ${device}`);
  return `${base(subnet)}${device + 1}`;
}

/** Every device address of the subnet, device 1 first. */
export function deviceAddresses(subnet: string): string[] {
  return Array.from({ length: MAX_DEVICES }, (_, i) => deviceAddress(subnet, i + 1));
}

/** An agent as the network rules see it. */
export interface NetworkAgent {
  id: string;
  online: boolean;
  /** It can carry private segments (VDE installed: HostNetworkFacts.vnet). */
  vnet: boolean;
  /** Its advertised host (where the front-end and other agents reach it). */
  host: string;
  /** Its transfer sshd, which a hub needs (spokes and buyers plug in through it); null without one. */
  transfer: { sshPort: number; sshUser: string; hostKey: string } | null;
}

/** Whether an agent can be a network's hub: online, VDE there, a transfer sshd to plug in through. */
export function canBeHub(agent: NetworkAgent | undefined): boolean {
  return !!agent && agent.online && agent.vnet && agent.transfer !== null;
}

/**
 * The hub of a network, from the agents that hold its running machines (`machinesByAgent`: agent
 * id → how many). The current hub is kept while it can be one and either holds a running machine
 * of the network or other agents still hold some (they are plugged into it: moving the hub would
 * cut them all). Otherwise the agent holding the most running machines that can be a hub, ties by
 * agent id. Null when no machine runs or no agent holding one can be a hub.
 */
export function chooseHub(currentHubId: string | null, machinesByAgent: ReadonlyMap<string, number>, agents: ReadonlyMap<string, NetworkAgent>): string | null {
  const holders = [...machinesByAgent].filter(([, count]) => count > 0);
  if (holders.length === 0) return null;
  if (currentHubId && canBeHub(agents.get(currentHubId))) {
    const holdsOne = (machinesByAgent.get(currentHubId) ?? 0) > 0;
    const othersHold = holders.some(([id]) => id !== currentHubId);
    if (holdsOne || othersHold) return currentHubId;
  }
  const candidates = holders.filter(([id]) => canBeHub(agents.get(id))).sort(([a, countA], [b, countB]) => countB - countA || (a < b ? -1 : a > b ? 1 : 0));
  return candidates[0]?.[0] ?? null;
}

/** A key the hub admits into a network's switch (the shape of the agent protocol's VnetAdmission). */
export interface VnetAdmissionState {
  publicKey: string;
  label: string;
}

/** One network as an agent should hold it (the shape of the agent protocol's VnetDesired). */
export interface VnetDesiredState {
  networkId: string;
  uplink?: { agentId: string; host: string; sshPort: number; sshUser: string; hostKey: string };
  admit: VnetAdmissionState[];
}

/** A buyer's network as desiredVnet needs it. */
export interface NetworkPlan {
  id: string;
  hubAgentId: string | null;
  /** The agents of its machines that may run now (NETWORK_LIVE_STATES), one entry per machine. */
  machineAgentIds: string[];
  /** The buyer's account ssh keys: their own computers plug in with them. */
  buyerKeys: Array<{ id: string; publicKey: string }>;
}

export interface DesiredVnet {
  /** Each network's hub after this round (null: none). */
  hubs: Map<string, string | null>;
  /** What each involved agent should hold, networks by id. Agents holding nothing are absent. */
  agents: Map<string, VnetDesiredState[]>;
}

/**
 * What every agent should hold. For each network with machines that may run: every agent holding
 * one holds the network; the hub (chooseHub) admits the spokes' uplink keys it knows
 * (`uplinkKeys`: `networkId agentId` → the key the spoke reported in its last vnet.sync reply) and
 * the buyer's account keys (`buyer-key:<id>`), and holds it even when none of its machines runs
 * there any more; each spoke gets the hub's transfer endpoint as its uplink. A network without a
 * possible hub is held by each agent alone (its switch only: machines on one host still meet).
 */
export function desiredVnet(networks: readonly NetworkPlan[], agents: ReadonlyMap<string, NetworkAgent>, uplinkKeys: ReadonlyMap<string, string>): DesiredVnet {
  const hubs = new Map<string, string | null>();
  const desired = new Map<string, VnetDesiredState[]>();
  const add = (agentId: string, state: VnetDesiredState) => {
    const list = desired.get(agentId) ?? [];
    list.push(state);
    desired.set(agentId, list);
  };
  for (const network of [...networks].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    const counts = new Map<string, number>();
    for (const agentId of network.machineAgentIds) counts.set(agentId, (counts.get(agentId) ?? 0) + 1);
    const hubId = chooseHub(network.hubAgentId, counts, agents);
    hubs.set(network.id, hubId);
    if (counts.size === 0) continue;
    const spokes = [...counts.keys()].filter((id) => id !== hubId).sort();
    if (hubId) {
      const hub = agents.get(hubId)!;
      const admit: VnetAdmissionState[] = [];
      for (const spokeId of spokes) {
        const key = uplinkKeys.get(uplinkKeyOf(network.id, spokeId));
        if (key) admit.push({ publicKey: key, label: `agent:${spokeId}` });
      }
      for (const key of network.buyerKeys) admit.push({ publicKey: key.publicKey, label: `buyer-key:${key.id}` });
      add(hubId, { networkId: network.id, admit });
      for (const spokeId of spokes) {
        add(spokeId, {
          networkId: network.id,
          uplink: { agentId: hubId, host: hub.host, sshPort: hub.transfer!.sshPort, sshUser: hub.transfer!.sshUser, hostKey: hub.transfer!.hostKey },
          admit: [],
        });
      }
    } else {
      for (const agentId of spokes) add(agentId, { networkId: network.id, admit: [] });
    }
  }
  return { hubs, agents: desired };
}

/** The key of uplinkKeys for a spoke of a network. */
export function uplinkKeyOf(networkId: string, agentId: string): string {
  return `${networkId} ${agentId}`;
}
