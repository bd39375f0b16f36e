import type {
  AgentErrorCode,
  AgentRetireCommand,
  AgentVmState,
  ConsoleOpenCommand,
  VmCommand,
  VmCreateCommand,
  VmMediaCommand,
  VmSendKeysCommand,
  VmResumeCommand,
  VmStartCommand,
  VmStopCommand,
} from '@virtuoso/contracts';

/** The host a command is for, and its agent (null for a host added by hand whose agent has not joined). */
export interface AgentTarget {
  hostId: string;
  hostName: string;
  agentId: string | null;
}

/** Where to connect for a console once `console.open` registered the ticket. */
export interface ConsoleEndpoint {
  host: string;
  port: number;
}

/**
 * The VM side of the lifecycle (report §6.3): each call asks the provider agent of a host to carry
 * out one command and resolves with the machine as the agent then sees it. Rejections are one of
 * the errors below, so the caller knows whether the command certainly did nothing.
 */
export interface HostAgentGateway {
  createVm(target: AgentTarget, command: VmCreateCommand): Promise<AgentVmState>;
  startVm(target: AgentTarget, command: VmStartCommand): Promise<AgentVmState>;
  stopVm(target: AgentTarget, command: VmStopCommand): Promise<AgentVmState>;
  /** Ctrl-Alt-Del asked of the guest (vm.reboot); the machine stays running at its version. */
  rebootVm(target: AgentTarget, command: VmCommand): Promise<AgentVmState>;
  /** Hard reset (vm.reset); the machine stays running at its version. */
  resetVm(target: AgentTarget, command: VmCommand): Promise<AgentVmState>;
  /** Tells the agent of a deleted host to stop serving for good (agent.retire). */
  retireAgent(target: AgentTarget, command: AgentRetireCommand): Promise<void>;
  suspendVm(target: AgentTarget, command: VmCommand): Promise<AgentVmState>;
  resumeVm(target: AgentTarget, command: VmResumeCommand): Promise<AgentVmState>;
  deleteVm(target: AgentTarget, command: VmCommand): Promise<AgentVmState>;
  attachMedia(target: AgentTarget, command: VmMediaCommand): Promise<AgentVmState>;
  ejectMedia(target: AgentTarget, command: VmCommand): Promise<AgentVmState>;
  sendKeys(target: AgentTarget, command: VmSendKeysCommand): Promise<AgentVmState>;
  openConsole(target: AgentTarget, command: ConsoleOpenCommand): Promise<ConsoleEndpoint>;
  listVms(target: AgentTarget): Promise<AgentVmState[]>;
}

export const HOST_AGENT_GATEWAY = Symbol('HostAgentGateway');

/** The one message for an agent the API cannot connect to (no address, no cause: those are only logged). */
export const unreachable = (hostName: string) => `the agent of host ${hostName} is not reachable`;

/** The command never reached an agent (none joined, connection refused, no connection in time): nothing happened. 503. */
export class AgentUnavailableError extends Error {
  readonly status = 503;
  constructor(message: string) {
    super(message);
    this.name = 'AgentUnavailableError';
  }
}

/** The agent answered and refused or failed the command: nothing changed on the host. 502. */
export class AgentRefusedError extends Error {
  readonly status = 502;
  constructor(
    message: string,
    readonly code: AgentErrorCode,
  ) {
    super(message);
    this.name = 'AgentRefusedError';
  }
}

/** The command was sent but no answer came (timeout, connection dropped): the outcome is unknown until a heartbeat tells. 504. */
export class AgentNoAnswerError extends Error {
  readonly status = 504;
  constructor(message: string) {
    super(message);
    this.name = 'AgentNoAnswerError';
  }
}
