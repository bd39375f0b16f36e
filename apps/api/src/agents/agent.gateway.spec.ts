import { Controller, type INestMicroservice, Logger, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, Payload, Transport, type MicroserviceOptions } from '@nestjs/microservices';
import { AgentCommands, verify, type SignedEnvelope } from '@virtuoso/contracts';
import * as net from 'node:net';
import type { Repository } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../config';
import { AgentRefusedError } from '../machines/host-agent.gateway';
import { Metrics } from '../metrics/metrics.service';
import type { OperatorOverviewService } from '../operator/operator-overview.service';
import type { Agent } from './agent.entity';
import { AgentGateway } from './agent.gateway';

/**
 * AgentGateway against a stand-in agent on the real TCP transport: replies are checked against the
 * protocol's result DTOs (AgentProtocol), so an answer of another shape is refused, not passed on.
 */
const secret = 'ab'.repeat(32);
const machineId = '7c9e6679-7425-40de-944b-e07fc1f90ae7';
const received: Array<{ pattern: string; body: unknown }> = [];

@Controller()
class StandInAgent {
  private take(pattern: string, envelope: SignedEnvelope) {
    const checked = verify(secret, pattern, envelope, { remember: () => true });
    received.push({ pattern, body: checked.ok ? checked.body : checked.reason });
  }

  @MessagePattern(AgentCommands.start)
  start(@Payload() envelope: SignedEnvelope) {
    this.take(AgentCommands.start, envelope);
    return { ok: true, result: { machineId, state: 'running', version: 2, media: null, extra: 'dropped' } };
  }

  @MessagePattern(AgentCommands.stop)
  stop(@Payload() envelope: SignedEnvelope) {
    this.take(AgentCommands.stop, envelope);
    return { ok: true, result: { machineId, state: 'exploded', version: 3 } };
  }

  @MessagePattern(AgentCommands.list)
  list(@Payload() envelope: SignedEnvelope) {
    this.take(AgentCommands.list, envelope);
    return { ok: true, result: [{ machineId, state: 'stopped', version: 'three' }] };
  }

  @MessagePattern(AgentCommands.suspend)
  suspend(@Payload() envelope: SignedEnvelope) {
    this.take(AgentCommands.suspend, envelope);
    return { ok: false, code: 'conflict', error: 'it is stopped' };
  }
}

@Module({ controllers: [StandInAgent] })
class StandInAgentModule {}

let agentApp: INestMicroservice;
let gateway: AgentGateway;
const metrics = new Metrics({ agentsOnline: async () => 0, machinesByState: async () => ({}) } as unknown as OperatorOverviewService);
const target = { hostId: 'h1', hostName: 'virt8', agentId: 'a1' };

beforeAll(async () => {
  vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  const port = await new Promise<number>((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (probe.address() as net.AddressInfo).port;
      probe.close(() => resolve(p));
    });
  });
  agentApp = await NestFactory.createMicroservice<MicroserviceOptions>(StandInAgentModule, {
    transport: Transport.TCP,
    options: { host: '127.0.0.1', port },
    logger: false,
  });
  await agentApp.listen();
  const agent = { id: 'a1', secret, agentHost: '127.0.0.1', agentPort: port, consolePort: port + 1, joinedFrom: '127.0.0.1' } as Agent;
  const agents = { findOneBy: async () => agent } as unknown as Repository<Agent>;
  gateway = new AgentGateway(agents, loadConfig({}), metrics);
});

afterAll(async () => {
  gateway?.onApplicationShutdown();
  await agentApp?.close();
  vi.restoreAllMocks();
});

describe('AgentGateway replies', () => {
  it('sends the command signed on its pattern and resolves with the checked result (unknown fields dropped)', async () => {
    expect(await gateway.startVm(target, { machineId, version: 2 })).toEqual({ machineId, state: 'running', version: 2, media: null });
    expect(received.at(-1)).toEqual({ pattern: AgentCommands.start, body: { machineId, version: 2 } });
  });

  it('refuses a result of another shape with a failed AgentRefusedError naming the field', async () => {
    const stop = gateway.stopVm(target, { machineId, version: 2 });
    await expect(stop).rejects.toBeInstanceOf(AgentRefusedError);
    await expect(stop).rejects.toMatchObject({
      code: 'failed',
      message: 'the agent of host virt8 answered vm.stop with a malformed result (state must be stopped, running, paused, suspended or absent)',
    });
    await expect(gateway.listVms(target)).rejects.toMatchObject({
      code: 'failed',
      message: expect.stringMatching(/answered vm\.list with a malformed result \(0\.version must be a whole number/),
    });
  });

  it("passes an agent's refusal on with its code, as before", async () => {
    await expect(gateway.suspendVm(target, { machineId, version: 2 })).rejects.toMatchObject({
      code: 'conflict',
      message: 'the agent of host virt8 refused: it is stopped',
    });
  });

  it('counts every command by command and outcome (virtuoso_agent_commands_total)', async () => {
    const count = async (command: string, outcome: string) =>
      (await metrics.agentCommands.get()).values.find((v) => v.labels.command === command && v.labels.outcome === outcome)?.value ?? 0;
    const [ok, refused] = [await count(AgentCommands.start, 'ok'), await count(AgentCommands.suspend, 'refused')];
    await gateway.startVm(target, { machineId, version: 2 });
    await gateway.suspendVm(target, { machineId, version: 2 }).catch(() => undefined);
    expect(await count(AgentCommands.start, 'ok')).toBe(ok + 1);
    expect(await count(AgentCommands.suspend, 'refused')).toBe(refused + 1);
    expect(await metrics.text()).toContain(`virtuoso_agent_commands_total{command="${AgentCommands.start}",outcome="ok"}`);
  });
});
