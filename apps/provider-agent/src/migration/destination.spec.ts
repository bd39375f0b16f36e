import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalState } from '../agent/local-state';
import { QemuDriver } from '../vmm/qemu/qemu-driver';
import { MigrationDestination } from './destination';
import { MachineCaches } from './caches';
import { DestinationJobs } from './jobs';
import { capturingReport } from './test-support/exported-machine';

const roots: string[] = [];
afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

function destination(dataDir = mkdtempSync(path.join(os.tmpdir(), 'vz-dest-'))) {
  roots.push(dataDir);
  const cap = capturingReport();
  const driver = new QemuDriver({ machinesDir: path.join(dataDir, 'machines') });
  const caches = new MachineCaches(dataDir);
  const dest = new MigrationDestination({ dataDir, driver, state: new LocalState(dataDir), caches, report: cap.report, respBackoffMs: 1 });
  return { dataDir, dest, cap };
}

const hostKey = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOrigin';
const files = [
  { name: 'machine.json' as const, size: 10, sha256: 'a'.repeat(64) },
  { name: 'disk.qcow2' as const, size: 20, sha256: 'b'.repeat(64) },
];
const machine = { mac: '52:54:00:aa:bb:cc', vcpus: 1, memoryMb: 128, diskMb: 64 };
const req = (machineId: string, method = 'RSYNC', version = 3) => `<VMMP 1.0 REQ ${machineId} ${version} 127.0.0.1 1 127.0.0.1 3000 ${method}>`;

describe('MigrationDestination: the commands before the pull (report §7.2.1)', () => {
  it('answers a QUERY with RESULTS listing SCP and RSYNC (their tools are installed) and refuses another VMMP version', () => {
    const { dest } = destination();
    const id = randomUUID();
    expect(dest.query({ vmmp: `<VMMP 1.0 QUERY ${id} METHODS>` })).toEqual({ vmmp: `<VMMP 1.0 RESULTS ${id} 2 SCP RSYNC>` });
    expect(() => dest.query({ vmmp: `<VMMP 2.0 QUERY ${id} METHODS>` })).toThrow('VMMP version 2.0 is not supported: this side speaks VMMP 1.0 only');
    try {
      dest.query({ vmmp: `<VMMP 2.0 QUERY ${id} METHODS>` });
    } catch (e) {
      expect((e as { code: string }).code).toBe('refused');
    }
  });

  it('prepares a one-time key (idempotently) and refuses a machine that already lives here', async () => {
    const { dest, dataDir } = destination();
    const migrationId = randomUUID();
    const machineId = randomUUID();
    const a = await dest.prepare({ migrationId, machineId, method: 'RSYNC' });
    expect(a.publicKey).toMatch(new RegExp(`^ssh-ed25519 \\S+ virtuoso-migration-${migrationId}$`));
    expect(await dest.prepare({ migrationId, machineId, method: 'RSYNC' })).toEqual(a);
    expect(dest.status({ migrationId, machineId })).toEqual({ migrationId, machineId, role: 'destination', phase: 'prepared' });
    await expect(dest.prepare({ migrationId: randomUUID(), machineId, method: 'SCP' })).rejects.toThrow(/is already arriving here/);
    const here = randomUUID();
    mkdirSync(path.join(dataDir, 'machines', here), { recursive: true });
    await expect(dest.prepare({ migrationId: randomUUID(), machineId: here, method: 'SCP' })).rejects.toMatchObject({
      code: 'conflict',
      message: `machine ${here} already lives on this host`,
    });
    expect(dest.status({ migrationId: randomUUID(), machineId })).toBeNull();
  });

  it('refuses a REQ that does not match what was prepared, and changes nothing', async () => {
    const { dest } = destination();
    const migrationId = randomUUID();
    const machineId = randomUUID();
    await dest.prepare({ migrationId, machineId, method: 'RSYNC' });
    const base = { migrationId, origin: { sshUser: 'root', hostKey }, files, machine };
    await expect(dest.request({ ...base, vmmp: req(randomUUID()) })).rejects.toMatchObject({
      code: 'refused',
      message: expect.stringMatching(/^the REQ names machine/),
    });
    await expect(dest.request({ ...base, vmmp: req(machineId, 'SCP') })).rejects.toThrow(
      `the REQ asks for SCP, migration ${migrationId} was prepared for RSYNC`,
    );
    await expect(dest.request({ ...base, vmmp: req(machineId).replace('1.0', '1.1') })).rejects.toThrow(/VMMP version 1.1 is not supported/);
    await expect(dest.request({ ...base, vmmp: req(machineId).replace(' 1 127', ' 70000 127') })).rejects.toThrow(/origin port must be 1–65535/);
    await expect(dest.request({ ...base, files: files.slice(0, 1), vmmp: req(machineId) })).rejects.toThrow('the manifest lacks disk.qcow2');
    await expect(dest.request({ ...base, migrationId: randomUUID(), vmmp: req(machineId) })).rejects.toMatchObject({ code: 'not-found' });
    expect(dest.status({ migrationId, machineId })?.phase).toBe('prepared');
  });

  it('aborts a prepared migration (key removed, idempotent) and refuses to commit what is not verified', async () => {
    const { dest, dataDir } = destination();
    const migrationId = randomUUID();
    const machineId = randomUUID();
    await dest.prepare({ migrationId, machineId, method: 'SCP' });
    await expect(dest.finish({ migrationId, machineId, outcome: 'commit' })).rejects.toMatchObject({
      code: 'conflict',
      message: `cannot commit migration ${migrationId}: it is prepared here`,
    });
    const done = { migrationId, machineId, role: 'destination', outcome: 'abort' };
    expect(await dest.finish({ migrationId, machineId, outcome: 'abort', reason: 'cancelled by the buyer' })).toEqual(done);
    expect(await dest.finish({ migrationId, machineId, outcome: 'abort' })).toEqual(done);
    expect(existsSync(path.join(dataDir, 'migrations', migrationId, 'key'))).toBe(false);
    expect(dest.status({ migrationId, machineId })?.phase).toBe('finished');
    await expect(dest.finish({ migrationId, machineId, outcome: 'commit' })).rejects.toThrow(/already finished here by abort/);
    expect(await dest.finish({ migrationId: randomUUID(), machineId, outcome: 'abort' })).toBeNull();
  });

  it('recover() discards a copy left pulling by a previous process, answers RESP FAIL, and keeps a verified one', async () => {
    const { dataDir, dest } = destination();
    const pulling = { migrationId: randomUUID(), machineId: randomUUID() };
    const verified = { migrationId: randomUUID(), machineId: randomUUID() };
    await dest.prepare({ ...pulling, method: 'RSYNC' });
    await dest.prepare({ ...verified, method: 'RSYNC' });
    const jobs = new DestinationJobs(dataDir);
    jobs.save({ ...jobs.get(pulling.migrationId)!, phase: 'pulling', fromVersion: 3 });
    jobs.save({ ...jobs.get(verified.migrationId)!, phase: 'verified', fromVersion: 3, version: 4 });
    const partial = path.join(jobs.stagingDir(pulling.migrationId), pulling.machineId);
    mkdirSync(partial, { recursive: true });
    writeFileSync(path.join(partial, '.disk.qcow2.XyZ123'), 'half');

    const restarted = destination(dataDir);
    restarted.dest.recover();
    expect(existsSync(jobs.stagingDir(pulling.migrationId))).toBe(false);
    expect(restarted.dest.status(pulling)).toEqual({ ...pulling, role: 'destination', phase: 'failed', error: 'the destination agent restarted mid-copy' });
    expect(restarted.dest.status(verified)).toEqual({ ...verified, role: 'destination', phase: 'verified', version: 4 });
    await new Promise((r) => setTimeout(r, 50));
    expect(restarted.cap.reports).toEqual([
      { migrationId: pulling.migrationId, vmmp: `<VMMP 1.0 RESP ${pulling.machineId} 3 FAIL the destination agent restarted mid-copy>` },
    ]);
  });
});
