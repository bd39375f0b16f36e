import type { AgentVmState, VmCommand, VmCreateCommand, VmNetworkConfig, VmResumeCommand, VmStartCommand, VmStopCommand } from '@virtuoso/contracts';
import type { AgentTarget, HostAgentGateway } from './host-agent.gateway';
import type { Machine } from './machine.entity';

/** Lifecycle actions that go to the provider agent. */
export type VmAction = 'start' | 'stop' | 'suspend' | 'resume';
/** Every lifecycle action carried out by the agent: the VM actions, storing (creating the VM) and deleting. */
export type AgentAction = 'store' | 'delete' | VmAction;

/** Options of an action for the agent (start: the boot device). */
export interface ActionOptions {
  bootFrom?: 'disk' | 'cdrom';
  /** stop: power off at once, without the ACPI power button and its timeout. */
  force?: boolean;
}

/** What creating the VM needs besides the machine row: its vCPUs on that host, and its preconfigured image if any. */
export interface CreateFacts {
  vcpus: number;
  image: { name: string; sha256: string } | null;
}

/** One gateway call: the method and the command it sends. */
export type AgentCall =
  | { method: 'createVm'; command: VmCreateCommand }
  | { method: 'startVm'; command: VmStartCommand }
  | { method: 'stopVm'; command: VmStopCommand }
  | { method: 'resumeVm'; command: VmResumeCommand }
  | { method: 'suspendVm' | 'deleteVm'; command: VmCommand };

/** The fields of a machine its agent commands carry. */
export type CommandedMachine = Pick<Machine, 'id' | 'version' | 'macAddress' | 'memory' | 'disk'>;

/**
 * The agent command for a lifecycle action. Every command names the version the API holds, except
 * create, which gives the version the machine will have once stored (`nextVersion`): the agent
 * records it with the new VM.
 */
export function agentCallFor(
  action: AgentAction,
  machine: CommandedMachine,
  nextVersion: number,
  options: ActionOptions,
  context: { stopTimeoutMs: number; create?: CreateFacts; network?: VmNetworkConfig },
): AgentCall {
  const vm: VmCommand = { machineId: machine.id, version: machine.version };
  switch (action) {
    case 'store': {
      if (!context.create) throw new Error('storing a machine needs its create facts (vCPUs, image)');
      const { vcpus, image } = context.create;
      return {
        method: 'createVm',
        command: {
          machineId: machine.id,
          mac: machine.macAddress,
          vcpus,
          memoryMb: machine.memory,
          diskMb: machine.disk,
          version: nextVersion,
          ...(image ? { image: { name: image.name, sha256: image.sha256 } } : {}),
        },
      };
    }
    case 'start':
      return {
        method: 'startVm',
        command: { ...vm, ...(options.bootFrom ? { bootFrom: options.bootFrom } : {}), ...(context.network ? { network: context.network } : {}) },
      };
    case 'stop':
      return { method: 'stopVm', command: { ...vm, timeoutMs: context.stopTimeoutMs, ...(options.force ? { force: true } : {}) } };
    case 'suspend':
      return { method: 'suspendVm', command: vm };
    case 'resume':
      // The VMM process is new: its network (forwarded ports, keys) is given again.
      return { method: 'resumeVm', command: { ...vm, ...(context.network ? { network: context.network } : {}) } };
    case 'delete':
      return { method: 'deleteVm', command: vm };
  }
}

/** Sends one call through the gateway. */
export function sendAgentCall(gateway: HostAgentGateway, target: AgentTarget, call: AgentCall): Promise<AgentVmState> {
  switch (call.method) {
    case 'createVm':
      return gateway.createVm(target, call.command);
    case 'startVm':
      return gateway.startVm(target, call.command);
    case 'stopVm':
      return gateway.stopVm(target, call.command);
    case 'suspendVm':
      return gateway.suspendVm(target, call.command);
    case 'resumeVm':
      return gateway.resumeVm(target, call.command);
    case 'deleteVm':
      return gateway.deleteVm(target, call.command);
  }
}
