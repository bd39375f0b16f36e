import { Injectable, Logger } from '@nestjs/common';
import type { AgentHost, HostAgentGateway, VmSpec } from './host-agent.gateway';

/**
 * Until the provider agent lands, actions complete at once without a real VM (issue 2: "storing
 * may complete without a real VM"). The lifecycle, versions, reservations and prices are real;
 * only the virtual machine is missing. Each call is logged so nobody mistakes it for the agent.
 */
@Injectable()
export class NoAgentGateway implements HostAgentGateway {
  private readonly logger = new Logger('NoAgentGateway');

  private note(action: string, machineId: string, host: AgentHost, spec: VmSpec): Promise<void> {
    this.logger.debug(`${action} ${spec.name} (${machineId}) v${spec.version} on ${host.name}: no agent yet, completed without a VM`);
    return Promise.resolve();
  }

  createVm(machineId: string, host: AgentHost, spec: VmSpec) {
    return this.note('create', machineId, host, spec);
  }
  startVm(machineId: string, host: AgentHost, spec: VmSpec) {
    return this.note('start', machineId, host, spec);
  }
  stopVm(machineId: string, host: AgentHost, spec: VmSpec) {
    return this.note('stop', machineId, host, spec);
  }
  suspendVm(machineId: string, host: AgentHost, spec: VmSpec) {
    return this.note('suspend', machineId, host, spec);
  }
  resumeVm(machineId: string, host: AgentHost, spec: VmSpec) {
    return this.note('resume', machineId, host, spec);
  }
  deleteVm(machineId: string, host: AgentHost, spec: VmSpec) {
    return this.note('delete', machineId, host, spec);
  }
}
