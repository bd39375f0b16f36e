import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseVmmp, type VmmpMethod } from '@virtuoso/domain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalState } from '../agent/local-state';
import type { MachineConfig } from '../vmm/qemu/machine-dir';
import { QemuDriver } from '../vmm/qemu/qemu-driver';
import { AuthorizedKeys } from './authorized-keys';
import { MachineCaches } from './caches';
import { MigrationDestination } from './destination';
import { bytesUnder, killLeftoverPulls } from './pull';
import { capturingReport, makeMachineDir, manifestOf } from './test-support/exported-machine';
import { freePort } from './test-support/transfer-client';
import { TransferSshd } from './transfer-sshd';
import { sha256File } from './verify';

// A real origin: its transfer sshd on a loopback port, an export directory per migration and the
// destination's one-time key forced to it (rrsync -ro or scp -r -f). A real destination: rsync or
// scp pulls into staging, verification, machine.json at version + 1, commit into machines/.
const tmp = mkdtempSync(path.join(os.tmpdir(), 'vzd-'));
const originData = path.join(tmp, 'origin');
let sshd: TransferSshd;
let keys: AuthorizedKeys;

beforeAll(async () => {
  sshd = new TransferSshd({ dataDir: originData, listenHost: '127.0.0.1', port: await freePort() });
  await sshd.start();
  keys = new AuthorizedKeys(sshd.authorizedKeysFile);
});
afterAll(async () => {
  await sshd?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

function destinationAgent(dataDir = mkdtempSync(path.join(tmp, 'dest-'))) {
  const cap = capturingReport();
  const driver = new QemuDriver({ machinesDir: path.join(dataDir, 'machines') });
  const caches = new MachineCaches(dataDir);
  const state = new LocalState(dataDir);
  const make = () => new MigrationDestination({ dataDir, driver, state, caches, report: cap.report, heartbeatMs: 100, respBackoffMs: 10 });
  return { dataDir, cap, driver, caches, state, dest: make(), restart: make };
}

/** The origin's side of migration.export: the machine's files in exports/<migration>/<machine>, the key authorised. */
function exportMachine(migrationId: string, method: VmmpMethod, publicKey: string, o: Parameters<typeof makeMachineDir>[1] = {}) {
  const m = makeMachineDir(path.join(originData, 'exports', migrationId), o);
  keys.add(migrationId, method as 'SCP' | 'RSYNC', m.dir, publicKey);
  return m;
}

async function begin(
  d: ReturnType<typeof destinationAgent>,
  method: VmmpMethod,
  o: Parameters<typeof makeMachineDir>[1] & { before?: (m: ReturnType<typeof makeMachineDir>) => void } = {},
) {
  const migrationId = randomUUID();
  const machineId = o.id ?? randomUUID();
  const { publicKey } = await d.dest.prepare({ migrationId, machineId, method });
  const m = exportMachine(migrationId, method, publicKey, { ...o, id: machineId });
  const files = await manifestOf(m.dir, o.suspended ? ['machine.json', 'disk.qcow2', 'state.bin'] : ['machine.json', 'disk.qcow2']);
  o.before?.(m);
  const e = sshd.endpoint();
  const version = m.config.version;
  const reply = await d.dest.request({
    migrationId,
    vmmp: `<VMMP 1.0 REQ ${machineId} ${version} 127.0.0.1 ${e.sshPort} 127.0.0.1 3000 ${method}>`,
    origin: { sshUser: e.sshUser, hostKey: e.hostKey },
    files,
    machine: m.machine,
  });
  expect(reply).toEqual({ migrationId, accepted: true });
  return { migrationId, machineId, m, files, version };
}

/** The RESP the destination sent (waits for it). */
async function resp(d: ReturnType<typeof destinationAgent>, migrationId: string) {
  for (let i = 0; i < 600; i++) {
    const r = d.cap.reports.find((x) => x.migrationId === migrationId && x.vmmp.includes(' RESP '));
    if (r) return { ...r, parsed: parseVmmp(r.vmmp) };
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error('no RESP');
}

/** Stop (SIGSTOP) the origin-side processes serving an export: the pull stalls mid-way. */
function freezeOrigin(exportDir: string, signal: NodeJS.Signals = 'SIGSTOP'): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8');
      if (cmd.includes(exportDir) && !cmd.startsWith('sshd')) {
        process.kill(Number(name), signal);
        pids.push(Number(name));
      }
    } catch {
      /* gone */
    }
  }
  return pids;
}

async function waitFor<T>(fn: () => T | undefined | false, what: string, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('MigrationDestination pulling from a real origin sshd (report §7.2)', () => {
  for (const method of ['RSYNC', 'SCP'] as const) {
    it(`${method}: the copy is verified at version + 1, reported with HEARTBEATs then RESP SUCCESS, and becomes the machine on commit`, async () => {
      const d = destinationAgent();
      const { migrationId, machineId, files, version } = await begin(d, method, { version: 7, dataMb: 16 });
      const r = await resp(d, migrationId);
      expect(r.parsed).toEqual({ ok: true, message: { kind: 'RESP', machineId, version: 8, outcome: 'SUCCESS' } });
      const total = files.reduce((n, f) => n + f.size, 0);
      expect(r.transfer!.bytesReceived).toBeGreaterThan(files.find((f) => f.name === 'disk.qcow2')!.size * 0.9);
      const beats = d.cap.reports.filter((x) => x.vmmp.includes(' HEARTBEAT '));
      expect(beats.length).toBeGreaterThanOrEqual(1);
      expect(parseVmmp(beats[0]!.vmmp)).toMatchObject({ ok: true, message: { kind: 'HEARTBEAT', machineId, progress: { bytesTotal: total } } });
      expect(d.dest.status({ migrationId, machineId })).toEqual({ migrationId, machineId, role: 'destination', phase: 'verified', version: version + 1 });
      // Not a machine of this host before the commit.
      expect(await d.driver.list()).toEqual([]);

      expect(await d.dest.finish({ migrationId, machineId, outcome: 'commit' })).toEqual({ migrationId, machineId, role: 'destination', outcome: 'commit' });
      expect(await d.driver.list()).toEqual([machineId]);
      expect(await d.driver.status(machineId)).toMatchObject({ id: machineId, state: 'stopped', version: 8, media: null });
      expect(await sha256File(path.join(d.dataDir, 'machines', machineId, 'disk.qcow2'))).toBe(files.find((f) => f.name === 'disk.qcow2')!.sha256);
      expect(existsSync(path.join(d.dataDir, 'migrations', migrationId, 'staging'))).toBe(false);
      expect(existsSync(path.join(d.dataDir, 'migrations', migrationId, 'key'))).toBe(false);
      expect(d.state.get(machineId)).toMatchObject({ media: null });
      // finish is idempotent.
      expect(await d.dest.finish({ migrationId, machineId, outcome: 'commit' })).toEqual({ migrationId, machineId, role: 'destination', outcome: 'commit' });
      keys.remove(migrationId);
    });
  }

  it('SCP: a suspended machine arrives suspended, its state.bin with it, machine.json pointing at it', async () => {
    const d = destinationAgent();
    const { migrationId, machineId, files } = await begin(d, 'SCP', { version: 2, dataMb: 4, suspended: true });
    expect((await resp(d, migrationId)).parsed).toMatchObject({ ok: true, message: { outcome: 'SUCCESS', version: 3 } });
    await d.dest.finish({ migrationId, machineId, outcome: 'commit' });
    expect(await d.driver.status(machineId)).toMatchObject({ state: 'suspended', version: 3, accel: 'tcg' });
    const dir = path.join(d.dataDir, 'machines', machineId);
    const c = JSON.parse(readFileSync(path.join(dir, 'machine.json'), 'utf8')) as MachineConfig;
    expect(c.suspended).toMatchObject({ file: 'state.bin', media: null });
    expect(await sha256File(path.join(dir, 'state.bin'))).toBe(files.find((f) => f.name === 'state.bin')!.sha256);
    keys.remove(migrationId);
  });

  it('a byte corrupted at the origin after the manifest: RESP FAIL naming the file, nothing kept', async () => {
    const d = destinationAgent();
    const { migrationId, machineId, version } = await begin(d, 'RSYNC', {
      dataMb: 2,
      before: (m) => {
        const fd = openSync(path.join(m.dir, 'disk.qcow2'), 'r+');
        writeSync(fd, Buffer.from([0x01]), 0, 1, 300_000);
        closeSync(fd);
      },
    });
    const r = await resp(d, migrationId);
    expect(r.parsed).toMatchObject({
      ok: true,
      message: { kind: 'RESP', machineId, version, outcome: 'FAIL', reason: expect.stringMatching(/^disk\.qcow2 differs from the origin's/) },
    });
    await d.dest.settled(migrationId);
    expect(d.dest.status({ migrationId, machineId })).toMatchObject({ phase: 'failed', error: expect.stringMatching(/^disk\.qcow2 differs/) });
    expect(existsSync(path.join(d.dataDir, 'migrations', migrationId, 'staging'))).toBe(false);
    await expect(d.dest.finish({ migrationId, machineId, outcome: 'commit' })).rejects.toMatchObject({ code: 'conflict' });
    expect(await d.dest.finish({ migrationId, machineId, outcome: 'abort' })).toMatchObject({ outcome: 'abort' });
    expect(await d.driver.list()).toEqual([]);
    keys.remove(migrationId);
  });

  it('RSYNC with a cache of the machine: only about the changed 4 MB cross the wire, and the cache goes on commit', async () => {
    const d = destinationAgent();
    const machineId = randomUUID();
    const seed = makeMachineDir(path.join(tmp, 'seed'), { id: machineId, version: 4, dataMb: 16 });
    // What the destination kept when the machine left it (its old directory, now a cache).
    mkdirSync(d.caches.root, { recursive: true });
    cpSync(seed.dir, d.caches.dir(machineId), { recursive: true, preserveTimestamps: true });

    // The origin holds the machine as the cache has it, with 4 MB rewritten inside its data.
    const changeBytes = 4 * 1024 * 1024;
    const mig2 = randomUUID();
    const { publicKey } = await d.dest.prepare({ migrationId: mig2, machineId, method: 'RSYNC' });
    const exportDir = path.join(originData, 'exports', mig2, machineId);
    mkdirSync(path.dirname(exportDir), { recursive: true });
    cpSync(seed.dir, exportDir, { recursive: true });
    execFileSync('qemu-io', ['-f', 'qcow2', '-c', `write -P 0x5c 8M ${changeBytes}`, path.join(exportDir, 'disk.qcow2')], { stdio: 'ignore' });
    keys.add(mig2, 'RSYNC', exportDir, publicKey);
    const cacheSha = await sha256File(path.join(d.caches.dir(machineId), 'disk.qcow2'));
    const e = sshd.endpoint();
    await d.dest.request({
      migrationId: mig2,
      vmmp: `<VMMP 1.0 REQ ${machineId} 4 127.0.0.1 ${e.sshPort} 127.0.0.1 3000 RSYNC>`,
      origin: { sshUser: e.sshUser, hostKey: e.hostKey },
      files: await manifestOf(exportDir),
      machine: seed.machine,
    });
    const r = await resp(d, mig2);
    expect(r.vmmp).toContain('SUCCESS');
    expect(r.parsed).toMatchObject({ ok: true, message: { outcome: 'SUCCESS', version: 5 } });
    const diskSize = (await manifestOf(exportDir)).find((f) => f.name === 'disk.qcow2')!.size;
    console.log(
      `RSYNC re-pull: ${r.transfer!.bytesReceived} bytes received for a ${changeBytes}-byte change of a ${diskSize}-byte disk (${(r.transfer!.bytesReceived / changeBytes).toFixed(2)}× the change) in ${r.transfer!.durationMs} ms`,
    );
    expect(r.transfer!.bytesReceived).toBeLessThan(3 * changeBytes);
    expect(await sha256File(path.join(d.caches.dir(machineId), 'disk.qcow2'))).toBe(cacheSha); // --copy-dest only reads the cache
    await d.dest.finish({ migrationId: mig2, machineId, outcome: 'commit' });
    expect(d.caches.has(machineId)).toBe(false);
    expect(await d.driver.status(machineId)).toMatchObject({ version: 5 });
    keys.remove(mig2);
  });

  it("the destination's disk fills up: RESP FAIL with the tool's words, nothing kept", async () => {
    const small = mkdtempSync(path.join(tmp, 'full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=10m', 'tmpfs', small]);
    try {
      const d = destinationAgent(small);
      const { migrationId, machineId, version } = await begin(d, 'RSYNC', { dataMb: 16 });
      const r = await resp(d, migrationId);
      expect(r.parsed).toMatchObject({
        ok: true,
        message: { kind: 'RESP', machineId, version, outcome: 'FAIL', reason: expect.stringContaining('No space left on device') },
      });
      await d.dest.settled(migrationId);
      expect(existsSync(path.join(small, 'migrations', migrationId, 'staging'))).toBe(false);
      expect(d.dest.status({ migrationId, machineId })).toMatchObject({ phase: 'failed', error: expect.stringContaining('No space left on device') });
      keys.remove(migrationId);
    } finally {
      execFileSync('umount', [small]);
    }
  });

  it('an abort mid-pull kills the pull, removes the staging dir and leaves the cache intact', async () => {
    const d = destinationAgent();
    const machineId = randomUUID();
    const seed = makeMachineDir(path.join(tmp, 'seed'), { id: machineId, version: 1, dataMb: 8 });
    mkdirSync(d.caches.root, { recursive: true });
    cpSync(seed.dir, d.caches.dir(machineId), { recursive: true });
    const cacheSha = await sha256File(path.join(d.caches.dir(machineId), 'disk.qcow2'));
    let exportDir = '';
    const { migrationId } = await begin(d, 'RSYNC', { id: machineId, version: 1, dataMb: 48, before: (m) => void (exportDir = m.dir) });
    // Stall the origin as soon as it serves the export: the pull is under way and cannot finish.
    await waitFor(() => freezeOrigin(exportDir).length > 0, 'the origin serving the export');
    const staging = path.join(d.dataDir, 'migrations', migrationId, 'staging');
    expect(existsSync(staging)).toBe(true);
    expect(d.dest.status({ migrationId, machineId })?.phase).toBe('pulling');
    const key = path.join(d.dataDir, 'migrations', migrationId, 'key');
    expect(await d.dest.finish({ migrationId, machineId, outcome: 'abort', reason: 'cancelled by the buyer' })).toMatchObject({ outcome: 'abort' });
    expect(existsSync(staging)).toBe(false);
    expect(existsSync(key)).toBe(false);
    expect(killLeftoverPulls(key)).toEqual([]); // the rsync and its ssh are gone
    expect(d.dest.status({ migrationId, machineId })).toMatchObject({ phase: 'finished' });
    expect(await sha256File(path.join(d.caches.dir(machineId), 'disk.qcow2'))).toBe(cacheSha);
    expect(readdirSync(d.caches.dir(machineId)).sort()).toEqual(['disk.qcow2', 'machine.json']);
    freezeOrigin(exportDir, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    expect(existsSync(staging)).toBe(false);
    expect(d.cap.reports.some((x) => x.migrationId === migrationId && x.vmmp.includes(' RESP '))).toBe(false);
    keys.remove(migrationId);
  });

  it('the origin goes silent mid-copy (as when the link is down): ssh keepalives end the pull, RESP FAIL with ssh words, nothing kept', async () => {
    const d = destinationAgent();
    let exportDir = '';
    const { migrationId, machineId, version } = await begin(d, 'RSYNC', { dataMb: 48, before: (m) => void (exportDir = m.dir) });
    const served = await waitFor(() => {
      const p = freezeOrigin(exportDir, 'SIGSTOP');
      return p.length > 0 && p;
    }, 'the origin serving the export');
    // Its sshd session too (the parent of what serves the export): nothing answers the keepalives.
    const sessions = served.map((p) => Number(readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ')[1])).filter((pp) => pp > 1);
    for (const p of new Set(sessions)) process.kill(p, 'SIGSTOP');
    const t0 = Date.now();
    const r = await resp(d, migrationId);
    console.log(`origin silent: the pull gave up after ${Date.now() - t0} ms: ${r.vmmp}`);
    expect(r.parsed).toMatchObject({
      ok: true,
      message: {
        kind: 'RESP',
        machineId,
        version,
        outcome: 'FAIL',
        reason: expect.stringMatching(/RSYNC pull from 127\.0\.0\.1:\d+ failed: .*(not responding|Timeout|connection unexpectedly closed)/),
      },
    });
    await d.dest.settled(migrationId);
    expect(existsSync(path.join(d.dataDir, 'migrations', migrationId, 'staging'))).toBe(false);
    for (const p of [...served, ...sessions]) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    keys.remove(migrationId);
  });

  it('close() at agent shutdown kills the running pull; the next start discards the job', async () => {
    const d = destinationAgent();
    let exportDir = '';
    const { migrationId, machineId } = await begin(d, 'RSYNC', { dataMb: 48, before: (m) => void (exportDir = m.dir) });
    await waitFor(() => freezeOrigin(exportDir).length > 0, 'the origin serving the export');
    const key = path.join(d.dataDir, 'migrations', migrationId, 'key');
    d.dest.close();
    await d.dest.settled(migrationId);
    expect(killLeftoverPulls(key)).toEqual([]); // nothing of the pull is left running
    expect(d.dest.status({ migrationId, machineId })?.phase).toBe('pulling');
    const restarted = d.restart();
    restarted.recover();
    expect(restarted.status({ migrationId, machineId })).toMatchObject({ phase: 'failed', error: 'the destination agent restarted mid-copy' });
    expect(existsSync(path.join(d.dataDir, 'migrations', migrationId, 'staging'))).toBe(false);
    freezeOrigin(exportDir, 'SIGKILL');
    keys.remove(migrationId);
  });

  it('recover() after a restart mid-copy: the pull left running is killed, the partial copy removed, the job failed', async () => {
    const d = destinationAgent();
    let exportDir = '';
    const { migrationId, machineId } = await begin(d, 'SCP', { dataMb: 48, before: (m) => void (exportDir = m.dir) });
    await waitFor(() => freezeOrigin(exportDir).length > 0, 'the origin serving the export');
    const staging = path.join(d.dataDir, 'migrations', migrationId, 'staging');
    await waitFor(() => existsSync(staging), 'the staging dir');
    // The old process is gone for the job's purposes (its pull child still runs, as after a SIGKILL of the agent).
    const restarted = d.restart();
    restarted.recover();
    expect(existsSync(staging)).toBe(false);
    expect(restarted.status({ migrationId, machineId })).toEqual({
      migrationId,
      machineId,
      role: 'destination',
      phase: 'failed',
      error: 'the destination agent restarted mid-copy',
    });
    const r = await resp(d, migrationId);
    expect(r.parsed).toMatchObject({ ok: true, message: { outcome: 'FAIL', reason: 'the destination agent restarted mid-copy' } });
    freezeOrigin(exportDir, 'SIGKILL');
    await d.dest.settled(migrationId);
    await new Promise((res) => setTimeout(res, 300));
    expect(existsSync(staging)).toBe(false);
    expect(bytesUnder(path.join(d.dataDir, 'migrations', migrationId))).toBeLessThan(2_000);
    keys.remove(migrationId);
  });
});
