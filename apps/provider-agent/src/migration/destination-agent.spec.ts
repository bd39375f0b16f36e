import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AgentCommands, type AgentVmState, type MigrationExportResult, type MigrationStatusResult, type TransferEndpoint } from '@virtuoso/contracts';
import { parseVmmp } from '@virtuoso/domain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentProcess, freePorts } from '../agent/test-support/agent-process';
import { CommandClient, FakeFrontend } from '../agent/test-support/fake-frontend';

/**
 * The destination's commands through real agent processes (docs/ARCHITECTURE.md §7): agent A is
 * the origin (its transfer sshd serves the export), agent B the destination; each joined its own
 * fake front-end, which checks the signatures of B's HEARTBEATs and RESP. Then B is SIGKILLed
 * mid-copy and restarted: it discards the partial copy and says why.
 */
const tmp = mkdtempSync(path.join(os.tmpdir(), 'vzg-'));
const mac = () => `52:54:00:${[...randomBytes(3)].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;

interface Side {
  fe: FakeFrontend;
  dataDir: string;
  env: Record<string, string>;
  agent: AgentProcess;
  cmd: CommandClient;
}
let A: Side;
let B: Side;

async function startSide(name: string): Promise<Side> {
  const fe = new FakeFrontend();
  await fe.start();
  const dataDir = path.join(tmp, name);
  const [port, consolePort, sshPort] = await freePorts(3);
  const env = {
    VIRTUOSO_AGENT_DATA_DIR: dataDir,
    VIRTUOSO_AGENT_PORT: String(port),
    VIRTUOSO_AGENT_CONSOLE_PORT: String(consolePort),
    VIRTUOSO_AGENT_SSH_PORT: String(sshPort),
    VIRTUOSO_ACCEL: 'tcg',
    VIRTUOSO_AGENT_HEARTBEAT_MS: '500',
  };
  const agent = new AgentProcess(env, ['--frontend', fe.url, '--join', fe.joinToken]);
  await agent.ready();
  return { fe, dataDir, env, agent, cmd: new CommandClient('127.0.0.1', port!, fe.agentId, fe.secret) };
}

async function ok<T>(side: Side, pattern: string, body: unknown): Promise<T> {
  const r = await side.cmd.send<T>(pattern, body);
  if (!r.ok) throw new Error(`${pattern}: ${r.code}: ${r.error}`);
  return r.result;
}

beforeAll(async () => {
  A = await startSide('a');
  B = await startSide('b');
});
afterAll(async () => {
  for (const s of [A, B]) {
    await s?.cmd.close();
    await s?.agent.kill('SIGTERM');
    await s?.fe.stop();
  }
  rmSync(tmp, { recursive: true, force: true });
});

/** A machine on A with `dataMb` of data in its disk, and what a migration to B needs. */
async function machineOnA(dataMb: number) {
  const machineId = randomUUID();
  const machine = { mac: mac(), vcpus: 1, memoryMb: 64, diskMb: 64 };
  await ok(A, AgentCommands.create, { machineId, ...machine, version: 3 });
  execFileSync('qemu-io', ['-f', 'qcow2', '-c', `write -P 0x3c 0 ${dataMb}M`, path.join(A.dataDir, 'machines', machineId, 'disk.qcow2')], { stdio: 'ignore' });
  return { machineId, machine };
}

/** prepare at B, export at A, REQ to B: what the front-end's orchestrator does. */
async function startMigration(machineId: string, machine: object, method: 'SCP' | 'RSYNC') {
  const migrationId = randomUUID();
  const { publicKey } = await ok<{ publicKey: string }>(B, AgentCommands.migrationPrepare, { migrationId, machineId, method });
  const exported = await ok<MigrationExportResult>(A, AgentCommands.migrationExport, { migrationId, machineId, version: 3, method, publicKey });
  const e: TransferEndpoint = A.fe.joins[0]!.facts.transfer!;
  const reply = await B.cmd.send(AgentCommands.migrationRequest, {
    migrationId,
    vmmp: `<VMMP 1.0 REQ ${machineId} 3 127.0.0.1 ${e.sshPort} 127.0.0.1 3000 ${method}>`,
    origin: { sshUser: e.sshUser, hostKey: e.hostKey },
    files: exported.files,
    machine,
  });
  expect(reply).toEqual({ ok: true, result: { migrationId, accepted: true } });
  return migrationId;
}

async function waitFor<T>(fn: () => T | undefined | false, what: string, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Processes whose command line names `text` (the origin's rrsync/scp of an export, a pull's key). */
function processesNaming(text: string): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .filter((n) => {
      try {
        return readFileSync(`/proc/${n}/cmdline`, 'utf8').includes(text);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('migration commands at a real destination agent', () => {
  it('migration.query answers the methods it can pull with, and refuses another VMMP version', async () => {
    const id = randomUUID();
    expect(await B.cmd.send(AgentCommands.migrationQuery, { vmmp: `<VMMP 1.0 QUERY ${id} METHODS>` })).toEqual({
      ok: true,
      result: { vmmp: `<VMMP 1.0 RESULTS ${id} 2 SCP RSYNC>` },
    });
    expect(await B.cmd.send(AgentCommands.migrationQuery, { vmmp: `<VMMP 1.1 QUERY ${id} METHODS>` })).toMatchObject({
      ok: false,
      code: 'refused',
      error: expect.stringContaining('VMMP version 1.1 is not supported'),
    });
  });

  it('RSYNC A → B: signed HEARTBEATs and RESP SUCCESS at version + 1, invisible at B until the commit, then B holds it', async () => {
    const { machineId, machine } = await machineOnA(8);
    const migrationId = await startMigration(machineId, machine, 'RSYNC');
    const resp = await waitFor(() => B.fe.migrationReports.find((r) => r.migrationId === migrationId && r.vmmp.includes(' RESP ')), 'the RESP');
    expect(parseVmmp(resp.vmmp)).toEqual({ ok: true, message: { kind: 'RESP', machineId, version: 4, outcome: 'SUCCESS' } });
    expect(resp.agentId).toBe(B.fe.agentId);
    expect(B.fe.migrationReports.find((r) => r.migrationId === migrationId && r.vmmp.includes(' HEARTBEAT '))).toBeDefined();
    expect(await ok(B, AgentCommands.migrationStatus, { migrationId, machineId })).toEqual({
      migrationId,
      machineId,
      role: 'destination',
      phase: 'verified',
      version: 4,
    });
    expect((await ok<AgentVmState[]>(B, AgentCommands.list, {})).map((v) => v.machineId)).not.toContain(machineId);

    expect(await ok(A, AgentCommands.migrationFinish, { migrationId, machineId, outcome: 'commit' })).toMatchObject({ role: 'origin' });
    expect(await ok(B, AgentCommands.migrationFinish, { migrationId, machineId, outcome: 'commit' })).toMatchObject({ role: 'destination', outcome: 'commit' });
    expect((await ok<AgentVmState[]>(B, AgentCommands.list, {})).find((v) => v.machineId === machineId)).toMatchObject({ version: 4 });
    expect((await ok<AgentVmState[]>(A, AgentCommands.list, {})).map((v) => v.machineId)).not.toContain(machineId);
  });

  it('B SIGKILLed mid-copy and restarted: the pull it left is killed, the partial copy removed, status failed with the reason', async () => {
    const { machineId, machine } = await machineOnA(48);
    const migrationId = await startMigration(machineId, machine, 'SCP');
    const exportDir = path.join(A.dataDir, 'exports', migrationId, machineId);
    // Hold the origin's side of the copy so that it is still under way when B dies.
    const held = await waitFor(
      () => processesNaming(exportDir).filter((p) => !readFileSync(`/proc/${p}/cmdline`, 'utf8').startsWith('sshd')).length > 0 && processesNaming(exportDir),
      'the origin serving the export',
    );
    for (const p of held) process.kill(p, 'SIGSTOP');
    const staging = path.join(B.dataDir, 'migrations', migrationId, 'staging');
    const key = path.join(B.dataDir, 'migrations', migrationId, 'key');
    expect(existsSync(staging)).toBe(true);
    expect(processesNaming(key).length).toBeGreaterThan(0); // scp and its ssh, in their own process group

    await B.cmd.close();
    await B.agent.kill('SIGKILL');
    B.agent = new AgentProcess(B.env);
    await B.agent.ready();
    B.cmd = new CommandClient('127.0.0.1', Number(B.env.VIRTUOSO_AGENT_PORT), B.fe.agentId, B.fe.secret);
    expect(await ok<MigrationStatusResult>(B, AgentCommands.migrationStatus, { migrationId, machineId })).toEqual({
      migrationId,
      machineId,
      role: 'destination',
      phase: 'failed',
      error: 'the destination agent restarted mid-copy',
    });
    expect(existsSync(staging)).toBe(false);
    expect(processesNaming(key)).toEqual([]);
    const resp = await waitFor(() => B.fe.migrationReports.find((r) => r.migrationId === migrationId && r.vmmp.includes(' RESP ')), 'the RESP FAIL');
    expect(parseVmmp(resp.vmmp)).toMatchObject({ ok: true, message: { outcome: 'FAIL', version: 3, reason: 'the destination agent restarted mid-copy' } });

    // The front-end rolls back: both finish abort; the machine is on A as it was.
    for (const p of held) process.kill(p, 'SIGKILL');
    expect(await ok(B, AgentCommands.migrationFinish, { migrationId, machineId, outcome: 'abort' })).toMatchObject({ role: 'destination', outcome: 'abort' });
    expect(await ok(A, AgentCommands.migrationFinish, { migrationId, machineId, outcome: 'abort' })).toMatchObject({ role: 'origin', outcome: 'abort' });
    expect((await ok<AgentVmState[]>(A, AgentCommands.list, {})).find((v) => v.machineId === machineId)).toMatchObject({ version: 3 });
    expect((await ok<AgentVmState[]>(B, AgentCommands.list, {})).map((v) => v.machineId)).not.toContain(machineId);
  });
});
