import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AgentCommands,
  type AgentVmState,
  type MigrationExportResult,
  type MigrationFinishResult,
  type MigrationStatusResult,
  type TransferEndpoint,
} from '@virtuoso/contracts';
import { CommandError } from '../agent/errors';
import { LocalState } from '../agent/local-state';
import { AgentProcess, freePorts } from '../agent/test-support/agent-process';
import { CommandClient, FakeFrontend } from '../agent/test-support/fake-frontend';
import type { VmmDriver } from '../vmm/vmm-driver';
import { QemuDriver } from '../vmm/qemu/qemu-driver';
import { AuthorizedKeys } from './authorized-keys';
import { MachineCaches } from './caches';
import { MigrationOrigin } from './origin';
import { TransferClient } from './test-support/transfer-client';

/**
 * The origin's side of a migration (docs/ARCHITECTURE.md §7) through a real agent process: its
 * transfer sshd (--ssh-port), signed commands from a fake front-end, real QEMU machines (blank
 * disks; a "running" one is QEMU in its BIOS), the one-time key used with real rsync.
 */
let fe: FakeFrontend;
let dataDir: string;
let ports: number[];
let agent: AgentProcess;
let cmd: CommandClient;
let endpoint: TransferEndpoint;
const id = randomUUID();
const other = randomUUID();
const tmp = mkdtempSync(path.join(os.tmpdir(), 'vzo-'));
const mac = () => `52:54:00:${[...randomBytes(3)].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
const machineDir = (m: string) => path.join(dataDir, 'machines', m);
const sha256 = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

async function ok<T>(pattern: string, body: unknown): Promise<T> {
  const r = await cmd.send<T>(pattern, body);
  if (!r.ok) throw new Error(`${pattern}: ${r.code}: ${r.error}`);
  return r.result;
}
async function version(m: string): Promise<number> {
  return (await ok<AgentVmState[]>(AgentCommands.list, {})).find((v) => v.machineId === m)!.version;
}
let clientN = 0;
function newClient(): TransferClient {
  const d = path.join(tmp, `client-${clientN++}`);
  mkdirSync(d);
  return new TransferClient(d, '127.0.0.1', endpoint);
}

beforeAll(async () => {
  fe = new FakeFrontend();
  await fe.start();
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'vzo-'));
  ports = await freePorts(3);
  agent = new AgentProcess(
    {
      VIRTUOSO_AGENT_DATA_DIR: dataDir,
      VIRTUOSO_AGENT_PORT: String(ports[0]),
      VIRTUOSO_AGENT_CONSOLE_PORT: String(ports[1]),
      VIRTUOSO_AGENT_SSH_PORT: String(ports[2]),
      VIRTUOSO_ACCEL: 'tcg',
      VIRTUOSO_AGENT_HEARTBEAT_MS: '500',
    },
    ['--frontend', fe.url, '--join', fe.joinToken],
  );
  await agent.ready();
  cmd = new CommandClient('127.0.0.1', ports[0]!, fe.agentId, fe.secret);
  for (const m of [id, other]) await ok(AgentCommands.create, { machineId: m, mac: mac(), vcpus: 1, memoryMb: 64, diskMb: 16, version: 3 });
});

afterAll(async () => {
  await cmd?.close();
  await agent?.kill('SIGTERM');
  await fe?.stop();
  for (const d of [dataDir, tmp]) if (d) rmSync(d, { recursive: true, force: true });
});

describe('transfer endpoint in the host facts', () => {
  it('join and every heartbeat carry the sshd port, user, host key and fingerprint', async () => {
    endpoint = fe.joins[0]!.facts.transfer!;
    expect(endpoint).toEqual({
      sshPort: ports[2],
      sshUser: os.userInfo().username,
      hostKey: readFileSync(path.join(dataDir, 'ssh', 'ssh_host_ed25519_key.pub'), 'utf8')
        .trim()
        .split(' ')
        .slice(0, 2)
        .join(' '),
      fingerprint: expect.stringMatching(/^SHA256:/),
    });
    expect((await fe.waitForHeartbeat(() => true, { since: Date.now() })).facts.transfer).toEqual(endpoint);
  });
});

describe('migration.export → finish abort', () => {
  const migrationId = randomUUID();
  let client: TransferClient;
  let exported: MigrationExportResult;

  it('exports a stopped machine: the manifest has each file with its size and sha256', async () => {
    client = newClient();
    exported = await ok<MigrationExportResult>(AgentCommands.migrationExport, {
      migrationId,
      machineId: id,
      version: 3,
      method: 'RSYNC',
      publicKey: client.publicKey,
    });
    expect(exported).toMatchObject({ migrationId, machineId: id, version: 3, state: 'stopped' });
    expect(exported.files.map((f) => f.name)).toEqual(['machine.json', 'disk.qcow2']);
    for (const f of exported.files) {
      const file = path.join(machineDir(id), f.name);
      expect(f, f.name).toEqual({ name: f.name, size: readFileSync(file).length, sha256: sha256(file) });
    }
    expect(await ok<MigrationStatusResult>(AgentCommands.migrationStatus, { migrationId, machineId: id })).toEqual({
      migrationId,
      machineId: id,
      role: 'origin',
      phase: 'exported',
    });
  });

  it('a retried export answers the same manifest; another migration of the machine is a conflict', async () => {
    const again = await ok<MigrationExportResult>(AgentCommands.migrationExport, {
      migrationId,
      machineId: id,
      version: 3,
      method: 'RSYNC',
      publicKey: client.publicKey,
    });
    expect(again).toEqual(exported);
    const r = await cmd.send(AgentCommands.migrationExport, {
      migrationId: randomUUID(),
      machineId: id,
      version: 3,
      method: 'RSYNC',
      publicKey: client.publicKey,
    });
    expect(r).toMatchObject({ ok: false, code: 'conflict', error: expect.stringContaining(`machine ${id} is being migrated (migration ${migrationId}`) });
  });

  it('the key reads the exported files through rsync', async () => {
    const dst = path.join(tmp, 'pull-1');
    const r = await client.rsync(['-a', `${client.target}:/`, `${dst}/`]);
    expect(r.status, r.stderr).toBe(0);
    for (const f of exported.files) expect(sha256(path.join(dst, f.name))).toBe(f.sha256);
  });

  it('while exported the machine cannot be started, deleted or have its media changed', async () => {
    for (const [pattern, body] of [
      [AgentCommands.start, { machineId: id, version: 3 }],
      [AgentCommands.delete, { machineId: id, version: 3 }],
      [AgentCommands.ejectMedia, { machineId: id, version: 3 }],
    ] as const) {
      expect(await cmd.send(pattern, body), pattern).toEqual({ ok: false, code: 'conflict', error: `machine ${id} is being migrated` });
    }
    expect(existsSync(machineDir(id))).toBe(true);
  });

  it('finish abort: the key stops working, the export goes, the machine is startable again', async () => {
    expect(await ok<MigrationFinishResult>(AgentCommands.migrationFinish, { migrationId, machineId: id, outcome: 'abort', reason: 'test' })).toEqual({
      migrationId,
      machineId: id,
      role: 'origin',
      outcome: 'abort',
    });
    const r = await client.ssh([client.target, 'true']);
    expect(r.status).toBe(255);
    expect(r.stderr).toMatch(/Permission denied/);
    expect(existsSync(path.join(dataDir, 'exports', migrationId))).toBe(false);
    expect(await ok<MigrationStatusResult>(AgentCommands.migrationStatus, { migrationId, machineId: id })).toMatchObject({ role: 'none', phase: 'none' });
    // idempotent
    expect(await ok<MigrationFinishResult>(AgentCommands.migrationFinish, { migrationId, machineId: id, outcome: 'abort' })).toMatchObject({ role: 'none' });
    expect(await ok<AgentVmState>(AgentCommands.start, { machineId: id, version: 3 })).toMatchObject({ state: 'running' });
  });
});

describe('migration.export refusals', () => {
  it('refuses a running machine and a version mismatch with conflict, naming both versions', async () => {
    const client = newClient();
    const running = await cmd.send(AgentCommands.migrationExport, {
      migrationId: randomUUID(),
      machineId: id,
      version: 3,
      method: 'SCP',
      publicKey: client.publicKey,
    });
    expect(running).toEqual({ ok: false, code: 'conflict', error: `cannot migrate machine ${id}: it is running (stop or suspend it first)` });
    await ok(AgentCommands.stop, { machineId: id, version: 3, force: true });
    const stale = await cmd.send(AgentCommands.migrationExport, {
      migrationId: randomUUID(),
      machineId: id,
      version: 3,
      method: 'SCP',
      publicKey: client.publicKey,
    });
    expect(stale).toEqual({
      ok: false,
      code: 'conflict',
      error: `cannot migrate machine ${id}: the agent holds version 4, the command is for version 3`,
    });
    const live = await cmd.send(AgentCommands.migrationExport, {
      migrationId: randomUUID(),
      machineId: id,
      version: 4,
      method: 'LIVE',
      publicKey: client.publicKey,
    });
    expect(live).toMatchObject({ ok: false, code: 'refused', error: 'method LIVE is not served here (SCP, RSYNC)' });
    expect(readdirSync(path.join(dataDir, 'exports'))).toEqual([]);
  });
});

describe('a suspended machine', () => {
  it('exports its saved state too; resume is refused until the migration is aborted', async () => {
    await ok(AgentCommands.start, { machineId: other, version: 3 });
    expect(await ok<AgentVmState>(AgentCommands.suspend, { machineId: other, version: 3 })).toMatchObject({ state: 'suspended', version: 4 });
    const client = newClient();
    const migrationId = randomUUID();
    const exported = await ok<MigrationExportResult>(AgentCommands.migrationExport, {
      migrationId,
      machineId: other,
      version: 4,
      method: 'RSYNC',
      publicKey: client.publicKey,
    });
    expect(exported).toMatchObject({ state: 'suspended', version: 4 });
    expect(exported.files.map((f) => f.name)).toEqual(['machine.json', 'disk.qcow2', 'state.bin']);
    const stateBin = exported.files[2]!;
    expect(stateBin).toEqual({
      name: 'state.bin',
      size: readFileSync(path.join(machineDir(other), 'state.bin')).length,
      sha256: sha256(path.join(machineDir(other), 'state.bin')),
    });
    expect(await cmd.send(AgentCommands.resume, { machineId: other, version: 4 })).toEqual({
      ok: false,
      code: 'conflict',
      error: `machine ${other} is being migrated`,
    });
    await ok(AgentCommands.migrationFinish, { migrationId, machineId: other, outcome: 'abort' });
    expect(await ok<AgentVmState>(AgentCommands.resume, { machineId: other, version: 4 })).toMatchObject({ state: 'running' });
    await ok(AgentCommands.stop, { machineId: other, version: 4, force: true });
  });
});

describe('migration.export → finish commit', () => {
  const migrationId = randomUUID();
  let client: TransferClient;

  it('commit: the key stops working, the machine becomes a cache that vm.list does not show', async () => {
    client = newClient();
    const v = await version(id);
    const exported = await ok<MigrationExportResult>(AgentCommands.migrationExport, {
      migrationId,
      machineId: id,
      version: v,
      method: 'SCP',
      publicKey: client.publicKey,
    });
    const parent = path.join(tmp, 'pull-2');
    mkdirSync(parent);
    const r = await client.scp(['-r', `${client.target}:x`, `${parent}/`]);
    expect(r.status, r.stderr).toBe(0);
    for (const f of exported.files) expect(sha256(path.join(parent, id, f.name))).toBe(f.sha256);

    expect(await ok<MigrationFinishResult>(AgentCommands.migrationFinish, { migrationId, machineId: id, outcome: 'commit' })).toMatchObject({
      role: 'origin',
      outcome: 'commit',
    });
    expect((await client.ssh([client.target, 'true'])).status).toBe(255);
    expect(existsSync(machineDir(id))).toBe(false);
    expect(existsSync(path.join(dataDir, 'caches', id, 'disk.qcow2'))).toBe(true);
    expect((await ok<AgentVmState[]>(AgentCommands.list, {})).map((m) => m.machineId)).toEqual([other]);
    const hb = await fe.waitForHeartbeat(() => true, { since: Date.now() });
    expect(hb.vms.map((m) => m.machineId)).toEqual([other]);
    expect(await cmd.send(AgentCommands.start, { machineId: id, version: v })).toMatchObject({ ok: false, code: 'not-found' });
    // idempotent: a retried commit changes nothing
    expect(await ok<MigrationFinishResult>(AgentCommands.migrationFinish, { migrationId, machineId: id, outcome: 'commit' })).toMatchObject({ role: 'none' });
    expect(existsSync(path.join(dataDir, 'caches', id))).toBe(true);
  });

  it('vm.delete of an id held only as a cache removes the cache and answers absent', async () => {
    expect(await ok<AgentVmState>(AgentCommands.delete, { machineId: id, version: 5 })).toMatchObject({ machineId: id, state: 'absent' });
    expect(existsSync(path.join(dataDir, 'caches', id))).toBe(false);
  });
});

describe('MigrationOrigin without a transfer sshd', () => {
  it('refuses to export: the agent can only be a destination', async () => {
    const d = path.join(tmp, 'no-ssh');
    mkdirSync(d);
    const origin = new MigrationOrigin({ dataDir: d, driver: {} as VmmDriver, state: new LocalState(d), caches: new MachineCaches(d) });
    const p = origin.export({ migrationId: randomUUID(), machineId: id, version: 1, method: 'RSYNC', publicKey: 'ssh-ed25519 AAAA' });
    await expect(p).rejects.toThrow(CommandError);
    await expect(p).rejects.toThrow(/serves no transfers: it was started without --ssh-port/);
  });
});

describe('MigrationOrigin in process', () => {
  const d = path.join(tmp, 'inproc');
  const pub = () => newClient().publicKey;
  let driver: QemuDriver;
  let state: LocalState;
  let caches: MachineCaches;
  let keys: AuthorizedKeys;
  let origin: MigrationOrigin;
  const a = randomUUID();
  const b = randomUUID();

  beforeAll(async () => {
    mkdirSync(d);
    driver = new QemuDriver({ machinesDir: path.join(d, 'machines'), accel: 'tcg' });
    state = new LocalState(d);
    caches = new MachineCaches(d);
    keys = new AuthorizedKeys(path.join(d, 'authorized_keys'));
    for (const m of [a, b]) await driver.create({ id: m, mac: mac(), vcpus: 1, memoryMb: 64, diskMb: 16 });
  });

  it('commit keeps the caches under --cache-limit-mb, the oldest going first', async () => {
    const ma = randomUUID();
    await new MigrationOrigin({ dataDir: d, driver, state, caches, keys }).export({
      migrationId: ma,
      machineId: a,
      version: 1,
      method: 'RSYNC',
      publicKey: pub(),
    });
    await new MigrationOrigin({ dataDir: d, driver, state, caches, keys }).finish({ migrationId: ma, machineId: a, outcome: 'commit' });
    const one = caches.sizeOf(a);
    utimesSync(caches.dir(a), new Date('2026-01-01'), new Date('2026-01-01'));
    origin = new MigrationOrigin({ dataDir: d, driver, state, caches, keys, cacheLimitBytes: one + one / 2 });
    const mb = randomUUID();
    await origin.export({ migrationId: mb, machineId: b, version: 1, method: 'SCP', publicKey: pub() });
    await origin.finish({ migrationId: mb, machineId: b, outcome: 'commit' });
    expect(caches.list()).toEqual([b]);
    expect(await driver.list()).toEqual([]);
  });

  it('recover() at start removes keys and exports no machine is flagged with, keeps the live ones', async () => {
    const live = randomUUID();
    const stale = randomUUID();
    const m = randomUUID();
    state.update(m, (r) => (r.migration = { id: live, role: 'origin', since: new Date().toISOString() }));
    for (const mig of [live, stale]) {
      keys.add(mig, 'RSYNC', path.join(d, 'exports', mig, m), pub());
      mkdirSync(path.join(d, 'exports', mig, m), { recursive: true });
    }
    mkdirSync(path.join(caches.root, '.removing-x-1'));
    new MigrationOrigin({ dataDir: d, driver, state, caches, keys }).recover();
    expect(keys.migrations()).toEqual([live]);
    expect(readdirSync(path.join(d, 'exports'))).toEqual([live]);
    expect(readdirSync(caches.root)).toEqual([b]);
  });
});

describe('agent killed', () => {
  it('an agent killed with SIGKILL takes its transfer sshd with it', async () => {
    const pid = Number(readFileSync(path.join(dataDir, 'ssh', 'sshd.pid'), 'utf8'));
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toContain(path.join(dataDir, 'ssh', 'sshd_config'));
    await agent.kill('SIGKILL');
    const deadline = Date.now() + 10_000;
    while (existsSync(`/proc/${pid}`)) {
      if (Date.now() > deadline) throw new Error(`sshd ${pid} outlived its agent`);
      await new Promise((r) => setTimeout(r, 50));
    }
  });
});
