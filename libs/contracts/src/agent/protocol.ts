/**
 * Messages between the front-end (apps/api) and a provider agent (apps/provider-agent).
 *
 * Front-end → agent: NestJS microservice TCP transport at the host's agentHost:agentPort. Each
 * command is `send(pattern, SignedEnvelope)` signed on channel = pattern; the agent verifies it
 * (see signing.ts) and refuses + logs anything else. Replies are plain JSON (`AgentReply`).
 * command-map.ts's AgentProtocol gives each command's request and reply (as DTOs both ends check).
 *
 * Agent → front-end: HTTP on the front-end's URL, signed the same way on channel = the path:
 *   POST /api/agents/join       { joinToken, ... }          (authenticated by the one-time join token)
 *   POST /api/agents/heartbeat  SignedEnvelope<Heartbeat>    every HEARTBEAT_INTERVAL_MS (its
 *                                                            agent id in AGENT_ID_HEADER too)
 *   GET  /api/agents/images/:name, /api/agents/media/:id    (envelope of `{ path }` in the
 *                                                            AGENT_HEADER header, base64 JSON)
 *
 * Console: the agent also listens on `consolePort` (plain TCP). The front-end first sends
 * `console.open` with a one-time ticket; then it connects to consolePort, writes the ticket and
 * '\n', and from there bytes are RFB between the viewer and QEMU's VNC unix socket.
 */

import type { ReportedVmState } from '@virtuoso/domain';
import type { TransferEndpoint } from './migration';
import type { HostNetworkFacts, PortForward, VmNetworkConfig } from './network';

export const HEARTBEAT_INTERVAL_MS = 5_000;
/** How far, as a share of the interval, an agent's wait between heartbeats strays at random either way. */
export const HEARTBEAT_JITTER = 0.2;

/**
 * How long an agent waits after a heartbeat's answer before the next: the interval ± 20 % at
 * random (uniform, so the mean is the interval). Without it, agents answered together — after
 * any stall of the front-end, its restart, a burst of joins — beat together for ever after: the
 * burst comes back every interval, each time making the stall that keeps it together
 * (docs/ARCHITECTURE.md §12). The longest wait stays far inside OFFLINE_AFTER_MS.
 */
export function nextHeartbeatDelay(intervalMs: number, random: () => number = Math.random): number {
  return Math.round(intervalMs * (1 - HEARTBEAT_JITTER + 2 * HEARTBEAT_JITTER * random()));
}
/** A host that has not sent a heartbeat for this long is shown offline. */
export const OFFLINE_AFTER_MS = 3 * HEARTBEAT_INTERVAL_MS;

export const JOIN_PATH = '/api/agents/join';
/** Where heartbeats go; also the channel they are signed on. */
export const HEARTBEAT_PATH = '/api/agents/heartbeat';
/** Header carrying the signed envelope of a download request (base64 of its JSON). */
export const AGENT_HEADER = 'x-virtuoso-agent';
/**
 * Header naming the agent a heartbeat comes from, read before its body: a replica at its limit of
 * heartbeats in progress still admits agents it answered lately and sheds the others
 * (docs/ARCHITECTURE.md §12). Unsigned: it only orders admission; the body is checked as ever.
 */
export const AGENT_ID_HEADER = 'x-virtuoso-agent-id';

export const AgentCommands = {
  facts: 'host.facts',
  create: 'vm.create',
  start: 'vm.start',
  stop: 'vm.stop',
  reboot: 'vm.reboot',
  reset: 'vm.reset',
  suspend: 'vm.suspend',
  resume: 'vm.resume',
  delete: 'vm.delete',
  attachMedia: 'vm.media.attach',
  ejectMedia: 'vm.media.eject',
  sendKeys: 'vm.sendKeys',
  consoleOpen: 'console.open',
  list: 'vm.list',
  retire: 'agent.retire',
  // Migration (migration.ts): the destination answers query, prepare, request; the origin export;
  // both status and finish.
  migrationQuery: 'migration.query',
  migrationPrepare: 'migration.prepare',
  migrationExport: 'migration.export',
  migrationRequest: 'migration.request',
  migrationStatus: 'migration.status',
  migrationFinish: 'migration.finish',
  // Guest networking (network.ts): the private segments this agent holds.
  vnetSync: 'vnet.sync',
} as const;
export type AgentCommand = (typeof AgentCommands)[keyof typeof AgentCommands];

/** What the agent measures on its host (report §6.2.1 virt_machine_info.pm). */
export interface HostFacts {
  /** Sum of bogomips over /proc/cpuinfo, rounded down. */
  bogomips: number;
  cpus: number;
  /** Total memory in MB. */
  memoryMb: number;
  /** Free disk in MB where the agent keeps machines. */
  freeDiskMb: number;
  /** Accelerator the boot probe chose: 'kvm' or 'tcg'. */
  accelerator: string;
  agentVersion: string;
  hostname: string;
  /** The agent's transfer sshd, when it runs one (migration origin; docs/ARCHITECTURE.md §7). */
  transfer?: TransferEndpoint;
  /** Guest networking on this host (network.ts): public host, forwarded port range, outbound
   *  policy. Absent from agents older than guest networking. */
  network?: HostNetworkFacts;
}

export interface JoinRequest {
  joinToken: string;
  /** Where the front-end reaches the agent's command port and console port. */
  agentHost: string;
  agentPort: number;
  consolePort: number;
  facts: HostFacts;
}

export interface JoinResponse {
  /** The agent's identity; becomes the host's id once the provider adds the host. */
  agentId: string;
  /** The shared HMAC secret. Kept on the agent's disk (mode 0600); never sent again. */
  secret: string;
}

/** A machine as the agent sees it. */
export interface AgentVmState {
  machineId: string;
  /** 'absent' = the agent holds no such machine. */
  state: ReportedVmState;
  version: number;
  media: string | null;
  /** While running: its forwarded TCP ports (network.ts). Absent or empty otherwise. */
  forwards?: PortForward[];
}

export interface AgentEvent {
  machineId: string;
  kind: 'poweredOff' | 'crashed';
  at: string;
  /** The machine's version after the run ended (already + 1). (machineId, version) identifies an
   *  event: a resent one (its ack was lost) carries the same pair. */
  version: number;
  /** Human-readable cause, e.g. 'guest-shutdown', 'the VMM process ended unexpectedly (signal SIGKILL)'. */
  detail?: string;
}

/**
 * One entry of the agent's journal (docs/ARCHITECTURE.md "Event log"): numbered by the agent
 * (`seq` grows by one per entry and survives restarts), kept on its disk until a heartbeat carrying
 * it is acknowledged. The front-end stores each (agentId, seq) once, in seq order.
 */
export interface AgentJournalEntry {
  seq: number;
  /** The agent's time of the event. */
  at: string;
  /** Dotted name: agent.command.received, agent.command.done, vm.process.started, vm.process.ended, qmp.<EVENT>, migration.step, vmmp. */
  kind: string;
  machineId?: string;
  /** One human line (a VMMP message in the report's text form for kind vmmp). */
  message: string;
  data?: Record<string, unknown>;
}

/** At most this many journal entries ride on one heartbeat (the oldest first). */
export const JOURNAL_ENTRIES_PER_HEARTBEAT = 100;

export interface Heartbeat {
  agentId: string;
  facts: HostFacts;
  vms: AgentVmState[];
  /** Events since the last acknowledged heartbeat; the agent resends until a 2xx. */
  events: AgentEvent[];
  /** The oldest unacknowledged journal entries, in seq order; a 2xx acknowledges every one (they are stored). */
  journal?: AgentJournalEntry[];
}

export interface VmCreateCommand {
  machineId: string;
  mac: string;
  vcpus: number;
  memoryMb: number;
  diskMb: number;
  /** The version the front-end records once stored. */
  version: number;
  /** Preconfigured image to fetch from the front-end's image store (GET /api/agents/images/:name), with its sha256. */
  image?: { name: string; sha256: string };
}

export interface VmCommand {
  machineId: string;
  /** Version the front-end holds; the agent refuses a mismatch (report §7.1.5: versions never diverge). */
  version: number;
}

export interface VmStopCommand extends VmCommand {
  /** How long the guest gets after the ACPI power button before the VMM is quit. */
  timeoutMs?: number;
  /** true: quit the VMM at once, without the power button (a forced stop). */
  force?: boolean;
}

/** Sent when the host is deleted from the market: the agent stops serving for good (it refuses
 *  every later command, stops heartbeating and marks its identity retired on disk). */
export interface AgentRetireCommand {
  reason: string;
}

export interface VmStartCommand extends VmCommand {
  bootFrom?: 'disk' | 'cdrom';
  /** The machine's network (network.ts). Absent: the guest gets no forwarded ports, no keys and
   *  an unplugged private NIC (front-ends older than guest networking). */
  network?: VmNetworkConfig;
}

/** vm.resume: the network again, since the VMM process is new (its forwarded ports may differ). */
export interface VmResumeCommand extends VmCommand {
  network?: VmNetworkConfig;
}

export interface VmMediaCommand extends VmCommand {
  /** Media to fetch from GET /api/agents/media/:id (cached by the agent), with its sha256. */
  media: { id: string; sha256: string };
}

/** Keys pressed together on the guest's keyboard (QEMU qcodes), e.g. Ctrl-Alt-Del =
 *  `['ctrl', 'alt', 'delete']`. `version` is checked only when given. */
export interface VmSendKeysCommand {
  machineId: string;
  keys: string[];
  version?: number;
}

export interface ConsoleOpenCommand {
  machineId: string;
  /** One-time ticket the front-end will present on the console port; expires at `expiresAt`. */
  ticket: string;
  expiresAt: number;
}

/** Result of `console.open` (the front-end then connects to the agent's consolePort). */
export interface ConsoleOpenResult {
  machineId: string;
  expiresAt: number;
  consolePort: number;
}

/** Why an agent did not carry out a command (a failed AgentReply's `code`). */
export const AgentErrorCodes = ['unauthenticated', 'not-found', 'conflict', 'refused', 'failed'] as const;
export type AgentErrorCode = (typeof AgentErrorCodes)[number];

export type AgentFailure = { ok: false; error: string; code: AgentErrorCode };

/** An agent's answer to a command; `result` is that command's AgentResult (command-map.ts). */
export type AgentReply<T = unknown> = { ok: true; result: T } | AgentFailure;
