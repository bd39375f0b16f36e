import { Logger, type INestMicroservice } from '@nestjs/common';
import { AgentCommands, sign, type AgentVmState } from '@virtuoso/contracts';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { MigrationService } from '../migration/migration.service';
import type { VnetService } from '../network/vnet.service';
import { CommandAuth } from './command-auth';
import { CommandScopedLogger, setCommandLogLevels } from './command-log';
import type { ConsoleRelay } from './console-relay';
import type { MachinesService } from './machines.service';
import type { CommandClient } from './test-support/fake-frontend';
import { startCommandPort } from './test-support/command-port';

/**
 * The agent's Nest logger lines written while a command is handled carry the command and the API's
 * request id (docs/ARCHITECTURE.md, Operating), through what the handler awaits; lines outside a
 * command do not. The real command port (guard, interceptors, TCP) without QEMU: a stand-in
 * machines service logs the way the real one does.
 */
const agentId = '9b2d3a4c-1111-4a53-9d0e-6c1f0f2f9b11';
const secret = randomBytes(32).toString('hex');
const machineId = '7c9e6679-7425-40de-944b-e07fc1f90ae7';
const requestId = 'req-7f3a9c1e-stop';

const log = new Logger('Machines');
const machines = {
  facts: () => ({ bogomips: 1, cpus: 1, memoryMb: 1, freeDiskMb: 1, accelerator: 'tcg', agentVersion: 'test', hostname: 'h' }),
  list: async () => [],
  stop: async (cmd: { machineId: string; version: number }): Promise<AgentVmState> => {
    log.log(`stopping ${cmd.machineId}`);
    // After a timer and a promise, as QMP's answers come: still the command's scope.
    await new Promise((done) => setTimeout(done, 5));
    await Promise.resolve();
    log.warn(`${cmd.machineId} did not power off in time: quitting QEMU`);
    return { machineId: cmd.machineId, state: 'stopped', version: cmd.version, media: null };
  },
} as unknown as MachinesService;

let app: INestMicroservice;
let client: CommandClient;
const lines: string[] = [];

beforeAll(async () => {
  const auth = new CommandAuth();
  auth.setCredentials({ agentId, secret });
  setCommandLogLevels([]); // the JSON command log is not under test here
  const write = process.stdout.write.bind(process.stdout);
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
    lines.push(String(chunk));
    return (write as (chunk: string | Uint8Array, ...rest: unknown[]) => boolean)(chunk, ...rest);
  });
  ({ app, client } = await startCommandPort(
    {
      auth,
      machines,
      relay: { closeMachine: () => undefined } as unknown as ConsoleRelay,
      consolePort: 7102,
      onRetire: () => undefined,
      migrations: {} as MigrationService,
      vnet: { available: () => true } as unknown as VnetService,
    },
    { agentId, secret },
    // As bootstrap.ts makes it, colours off so the lines compare as text.
    new CommandScopedLogger({ logLevels: ['log', 'warn', 'error'], colors: false }),
  ));
});

afterAll(async () => {
  await client?.close();
  await app?.close();
  vi.restoreAllMocks();
});

describe("the agent's Nest log lines during a command", () => {
  it("name the command and the API's request id, also after the handler awaited; lines outside a command do not", async () => {
    const envelope = sign(secret, agentId, AgentCommands.stop, { machineId, version: 3 }, Date.now(), requestId);
    expect(await client.sendRaw(AgentCommands.stop, envelope)).toMatchObject({ ok: true, result: { state: 'stopped' } });
    log.log('between commands');
    const ours = lines.filter((line) => line.includes('[Machines]'));
    expect(ours).toHaveLength(3);
    expect(ours[0]).toMatch(new RegExp(`LOG \\[Machines\\] \\[vm\\.stop requestId=${requestId}\\] stopping ${machineId}\\n$`));
    expect(ours[1]).toMatch(new RegExp(`WARN \\[Machines\\] \\[vm\\.stop requestId=${requestId}\\] ${machineId} did not power off in time`));
    expect(ours[2]).toMatch(/LOG \[Machines\] between commands\n$/);

    // A command sent without a request id (the API's own polls): the command alone.
    lines.length = 0;
    expect(await client.send(AgentCommands.stop, { machineId, version: 4 })).toMatchObject({ ok: true });
    expect(lines.filter((line) => line.includes('[Machines]'))[0]).toMatch(/LOG \[Machines\] \[vm\.stop\] stopping /);
  });
});
