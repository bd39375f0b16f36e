import { Logger, type INestMicroservice } from '@nestjs/common';
import { AgentCommands, sign, type AgentVmState } from '@virtuoso/contracts';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { InvalidMachineStateError } from '../vmm/vmm-driver';
import { CommandAuth } from './command-auth';
import type { ConsoleRelay } from './console-relay';
import type { MachinesService } from './machines.service';
import type { MigrationService } from '../migration/migration.service';
import type { VnetService } from '../network/vnet.service';
import type { CommandClient } from './test-support/fake-frontend';
import { startCommandPort } from './test-support/command-port';
import { setCommandLogLevels } from './command-log';

/**
 * The command port's Nest wiring without QEMU: SignedCommandGuard, CommandBodyPipe and the
 * AgentReply interceptor and filter around CommandsController, over the real TCP transport, with
 * a machines service that records what reaches it.
 */
const agentId = '9b2d3a4c-1111-4a53-9d0e-6c1f0f2f9b11';
const secret = randomBytes(32).toString('hex');
const machineId = '7c9e6679-7425-40de-944b-e07fc1f90ae7';
const calls: Array<[string, unknown]> = [];
const stateAfter = (cmd: { machineId: string; version?: number }): AgentVmState => ({
  machineId: cmd.machineId,
  state: 'running',
  version: cmd.version ?? 0,
  media: null,
});
const machines = {
  facts: () => ({ bogomips: 1, cpus: 1, memoryMb: 1, freeDiskMb: 1, accelerator: 'tcg', agentVersion: 'test', hostname: 'h' }),
  list: async () => [],
  create: async (cmd: { machineId: string; version: number }) => (calls.push(['create', cmd]), stateAfter(cmd)),
  start: async (cmd: { machineId: string; version: number }) => {
    calls.push(['start', cmd]);
    throw new InvalidMachineStateError(cmd.machineId, 'running', 'start');
  },
  stop: async (cmd: { machineId: string; version: number }) => (calls.push(['stop', cmd]), stateAfter(cmd)),
  sendKeys: async (cmd: { machineId: string }) => (calls.push(['sendKeys', cmd]), stateAfter(cmd)),
  ejectMedia: async () => {
    throw new Error('qemu: boom\nsecond line');
  },
} as unknown as MachinesService;
const relay = { closeMachine: () => undefined } as unknown as ConsoleRelay;
const migrations = {
  status: (cmd: { migrationId: string; machineId: string }) => (calls.push(['migration.status', cmd]), { ...cmd, role: 'none', phase: 'none' }),
  finish: async (cmd: { migrationId: string; machineId: string; outcome: string }) => (
    calls.push(['migration.finish', cmd]),
    { migrationId: cmd.migrationId, machineId: cmd.machineId, role: 'origin', outcome: cmd.outcome }
  ),
} as unknown as MigrationService;

const vnet = {
  available: () => true,
  sync: async (cmd: { networks: unknown[] }) => (calls.push(['vnet.sync', cmd]), { networks: [] }),
} as unknown as VnetService;

let app: INestMicroservice;
let client: CommandClient;
const auth = new CommandAuth();
const warnings: string[] = [];
const errors: string[] = [];

beforeAll(async () => {
  vi.spyOn(Logger.prototype, 'warn').mockImplementation(function (this: Logger, message: unknown) {
    warnings.push(`${(this as unknown as { context?: string }).context}: ${String(message)}`);
  });
  vi.spyOn(Logger.prototype, 'error').mockImplementation(function (this: Logger, message: unknown) {
    errors.push(`${(this as unknown as { context?: string }).context}: ${String(message)}`);
  });
  auth.setCredentials({ agentId, secret });
  setCommandLogLevels([]); // quiet, like the microservice's logger: false
  ({ app, client } = await startCommandPort(
    { auth, machines, relay, consolePort: 7102, onRetire: () => undefined, migrations, vnet },
    { agentId, secret },
    false,
  ));
});

afterAll(async () => {
  await client?.close();
  await app?.close();
  vi.restoreAllMocks();
});

describe('SignedCommandGuard', () => {
  it('answers an unsigned, foreign-signed or wrong-agent command with the unauthenticated reply, logs it, and runs nothing', async () => {
    const body = { machineId, mac: '52:54:00:12:34:56', vcpus: 1, memoryMb: 64, diskMb: 16, version: 1 };
    const unauth = { ok: false, code: 'unauthenticated', error: expect.stringMatching(/^command refused: /) };
    expect(await client.sendRaw(AgentCommands.create, body)).toEqual(unauth);
    expect(await client.sendRaw(AgentCommands.create, sign('0'.repeat(64), agentId, AgentCommands.create, body))).toEqual(unauth);
    expect(await client.sendRaw(AgentCommands.create, sign(secret, '00000000-0000-4000-8000-000000000000', AgentCommands.create, body))).toEqual(unauth);
    expect(calls).toEqual([]);
    expect(warnings.filter((w) => w.startsWith('CommandAuth: refused vm.create from 127.0.0.1:'))).toHaveLength(3);
    expect(warnings.join('\n')).toMatch(/refused vm\.create from 127\.0\.0\.1:\d+: malformed/);
    expect(warnings.join('\n')).toMatch(/refused vm\.create from 127\.0\.0\.1:\d+: bad-signature/);
    expect(warnings.join('\n')).toMatch(/refused vm\.create from 127\.0\.0\.1:\d+: wrong-agent/);
  });

  it('lets a correctly signed command through to its handler', async () => {
    expect(await client.send(AgentCommands.list, {})).toEqual({ ok: true, result: [] });
    expect(await client.send(AgentCommands.facts, {})).toMatchObject({ ok: true, result: { hostname: 'h' } });
  });
});

describe('CommandBodyPipe', () => {
  it('answers an invalid body with a failed reply naming the field, and runs nothing', async () => {
    const reply = await client.send(AgentCommands.create, { machineId, mac: '52:54:00:12:34:56', vcpus: 1, memoryMb: 64, diskMb: 0, version: 1 });
    expect(reply).toEqual({ ok: false, code: 'failed', error: 'invalid vm.create command: diskMb must be at least 1' });
    expect(await client.send(AgentCommands.sendKeys, { machineId, keys: ['ctrl', 'del;rm'] })).toMatchObject({
      ok: false,
      code: 'failed',
      error: expect.stringMatching(/^invalid vm\.sendKeys command: keys must be 1 to 8 QEMU qcodes/),
    });
    expect(await client.send(AgentCommands.stop, null)).toEqual({ ok: false, code: 'failed', error: 'invalid vm.stop command: an object is expected' });
    expect(calls).toEqual([]);
  });

  it('hands the handler the checked DTO: ids lower-cased, unknown fields dropped', async () => {
    const reply = await client.send(AgentCommands.stop, { machineId: machineId.toUpperCase(), version: 4, force: true, rogue: 'x' });
    expect(reply).toEqual({ ok: true, result: { machineId, state: 'running', version: 4, media: null } });
    expect(JSON.parse(JSON.stringify(calls.pop()))).toEqual(['stop', { machineId, version: 4, force: true }]);
  });
});

describe('AgentReply filter', () => {
  it("answers the driver's errors with their reply codes, as today", async () => {
    expect(await client.send(AgentCommands.start, { machineId, version: 1 })).toEqual({
      ok: false,
      code: 'conflict',
      error: `cannot start machine ${machineId}: it is running`,
    });
    expect(await client.send(AgentCommands.ejectMedia, { machineId, version: 1 })).toEqual({ ok: false, code: 'failed', error: 'qemu: boom' });
    expect(warnings).toContain('Commands: vm.start → conflict: cannot start machine 7c9e6679-7425-40de-944b-e07fc1f90ae7: it is running');
    expect(errors).toContain('Commands: vm.media.eject → failed: qemu: boom');
  });
});

describe('migration commands', () => {
  it('vnet.sync reaches the vnet service with the checked body, and a bad one names the field', async () => {
    const networkId = '3F1C2B4A-0000-4000-8000-0000000000AA';
    const ok = await client.send(AgentCommands.vnetSync, { networks: [{ networkId, admit: [], extra: 1 }] });
    expect(ok).toEqual({ ok: true, result: { networks: [] } });
    expect(calls.at(-1)).toEqual(['vnet.sync', { networks: [{ networkId: networkId.toLowerCase(), admit: [] }] }]);
    const n = calls.length;
    const bad = await client.send(AgentCommands.vnetSync, { networks: [{ networkId, admit: [{ publicKey: 'command="sh" ssh-ed25519 AAAA', label: 'x' }] }] });
    expect(bad).toMatchObject({ ok: false, code: 'failed', error: expect.stringMatching(/publicKey must be one OpenSSH public key line/) });
    expect(calls.length).toBe(n);
  });

  it('reach the migration service with the checked body', async () => {
    const migrationId = '0f8fad5b-d9cb-469f-a165-70867728950e';
    expect(await client.send(AgentCommands.migrationStatus, { migrationId, machineId })).toEqual({
      ok: true,
      result: { migrationId, machineId, role: 'none', phase: 'none' },
    });
    expect(await client.send(AgentCommands.migrationFinish, { migrationId, machineId, outcome: 'commit' })).toEqual({
      ok: true,
      result: { migrationId, machineId, role: 'origin', outcome: 'commit' },
    });
    expect(calls.map((c) => c[0]).filter((n) => n.startsWith('migration.'))).toEqual(['migration.status', 'migration.finish']);
  });
});

describe('agent.retire', () => {
  it('answers { retired: true }, then the guard refuses every command, even a correctly signed one', async () => {
    expect(await client.send(AgentCommands.retire, { reason: 'the host was deleted' })).toEqual({ ok: true, result: { retired: true } });
    expect(await client.send(AgentCommands.list, {})).toEqual({ ok: false, code: 'refused', error: 'this agent no longer serves: the host was deleted' });
    expect(warnings.join('\n')).toMatch(/refused vm\.list from 127\.0\.0\.1:\d+: this agent is retired \(the host was deleted\)/);
  });
});
