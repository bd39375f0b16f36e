import type { AgentVmState } from '@virtuoso/contracts';
import { describe, expect, it } from 'vitest';
import { type AgentAction, type AgentCall, agentCallFor, sendAgentCall } from './agent-commands';
import type { AgentTarget, HostAgentGateway } from './host-agent.gateway';

const machine = { id: 'm-1', version: 3, macAddress: '52:54:00:aa:bb:cc', memory: 1024, disk: 8192 };
const context = { stopTimeoutMs: 30_000 };

describe('the agent command of each lifecycle action', () => {
  it('store creates the VM at the version it will have once stored, with its vCPUs, size, MAC and image', () => {
    const call = agentCallFor('store', machine, 4, {}, { ...context, create: { vcpus: 2, image: { name: 'tiny.qcow2', sha256: 'ab'.repeat(32) } } });
    expect(call).toEqual({
      method: 'createVm',
      command: {
        machineId: 'm-1',
        mac: '52:54:00:aa:bb:cc',
        vcpus: 2,
        memoryMb: 1024,
        diskMb: 8192,
        version: 4,
        image: { name: 'tiny.qcow2', sha256: 'ab'.repeat(32) },
      },
    });
  });

  it('store without an image (a blank machine) sends no image field', () => {
    const call = agentCallFor('store', machine, 4, {}, { ...context, create: { vcpus: 1, image: null } });
    expect(call.command).not.toHaveProperty('image');
  });

  it('store cannot be built without what only the host knows', () => {
    expect(() => agentCallFor('store', machine, 4, {}, context)).toThrow(/create facts/);
  });

  it('start sends the version held, and the boot device only when asked', () => {
    expect(agentCallFor('start', machine, 4, {}, context)).toEqual({ method: 'startVm', command: { machineId: 'm-1', version: 3 } });
    expect(agentCallFor('start', machine, 4, { bootFrom: 'cdrom' }, context)).toEqual({
      method: 'startVm',
      command: { machineId: 'm-1', version: 3, bootFrom: 'cdrom' },
    });
  });

  it('stop gives the guest the configured timeout, and force only when forced', () => {
    expect(agentCallFor('stop', machine, 4, {}, context)).toEqual({ method: 'stopVm', command: { machineId: 'm-1', version: 3, timeoutMs: 30_000 } });
    expect(agentCallFor('stop', machine, 4, { force: false }, context).command).not.toHaveProperty('force');
    expect(agentCallFor('stop', machine, 4, { force: true }, context)).toEqual({
      method: 'stopVm',
      command: { machineId: 'm-1', version: 3, timeoutMs: 30_000, force: true },
    });
  });

  it('suspend, resume and delete send the machine and the version held', () => {
    for (const [action, method] of [
      ['suspend', 'suspendVm'],
      ['resume', 'resumeVm'],
      ['delete', 'deleteVm'],
    ] as const) {
      expect(agentCallFor(action, machine, 4, { bootFrom: 'cdrom', force: true }, context)).toEqual({ method, command: { machineId: 'm-1', version: 3 } });
    }
  });

  it('each call goes to the gateway method it names, with its command, for the target host', async () => {
    const sent: Array<[string, AgentTarget, unknown]> = [];
    const answer: AgentVmState = { machineId: 'm-1', state: 'running', version: 3, media: null };
    const gateway = new Proxy({} as HostAgentGateway, {
      get: (_target, method: string) => async (target: AgentTarget, command: unknown) => (sent.push([method, target, command]), answer),
    });
    const target: AgentTarget = { hostId: 'h-1', hostName: 'virt8', agentId: 'a-1' };
    const actions: AgentAction[] = ['store', 'start', 'stop', 'suspend', 'resume', 'delete'];
    for (const action of actions) {
      const call: AgentCall = agentCallFor(action, machine, 4, {}, { ...context, create: { vcpus: 1, image: null } });
      expect(await sendAgentCall(gateway, target, call)).toBe(answer);
    }
    expect(sent.map(([method]) => method)).toEqual(['createVm', 'startVm', 'stopVm', 'suspendVm', 'resumeVm', 'deleteVm']);
    expect(sent.every(([, to]) => to === target)).toBe(true);
  });
});
