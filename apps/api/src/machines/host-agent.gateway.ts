/** Where the provider agent of a host listens. */
export interface AgentHost {
  id: string;
  name: string;
  agentHost: string;
  agentPort: number;
}

/** What the agent needs to create or run a machine. */
export interface VmSpec {
  name: string;
  speed: number;
  memory: number;
  disk: number;
  os: string;
  /** Disk image of a preconfigured machine, or null for a blank disk. */
  image: string | null;
  macAddress: string;
  /** The version the machine will have once the action succeeds. */
  version: number;
}

/**
 * The VM side of the lifecycle: each call asks the provider agent on `host` to carry out one action
 * and resolves when it is done; a rejection means the action failed and the machine goes back to
 * the state it left. The provider-agent issue brings the real implementation.
 */
export interface HostAgentGateway {
  createVm(machineId: string, host: AgentHost, spec: VmSpec): Promise<void>;
  startVm(machineId: string, host: AgentHost, spec: VmSpec): Promise<void>;
  stopVm(machineId: string, host: AgentHost, spec: VmSpec): Promise<void>;
  suspendVm(machineId: string, host: AgentHost, spec: VmSpec): Promise<void>;
  resumeVm(machineId: string, host: AgentHost, spec: VmSpec): Promise<void>;
  deleteVm(machineId: string, host: AgentHost, spec: VmSpec): Promise<void>;
}

export const HOST_AGENT_GATEWAY = Symbol('HostAgentGateway');
