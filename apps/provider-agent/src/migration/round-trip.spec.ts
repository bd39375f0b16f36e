import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseVmmp, type VmmpMethod } from '@virtuoso/domain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalState } from '../agent/local-state';
import { QemuDriver } from '../vmm/qemu/qemu-driver';
import { newSpec } from '../vmm/test-support/helpers';
import { AuthorizedKeys } from './authorized-keys';
import { MachineCaches } from './caches';
import { MigrationDestination } from './destination';
import { MigrationOrigin } from './origin';
import { capturingReport } from './test-support/exported-machine';
import { freePort } from './test-support/transfer-client';
import { TransferSshd } from './transfer-sshd';

// Two agents' migration halves in one process, each with its own data dir, driver and transfer
// sshd: the origin exports, the destination pulls, both commit; then the machine goes back and
// RSYNC takes the unchanged blocks from the cache the first trip left (report §7.2.3).
const tmp = mkdtempSync(path.join(os.tmpdir(), 'vzt-'));
const MiB = 1024 * 1024;

function agent(name: string) {
  const dataDir = path.join(tmp, name);
  mkdirSync(dataDir, { recursive: true });
  const driver = new QemuDriver({ machinesDir: path.join(dataDir, 'machines') });
  const state = new LocalState(dataDir);
  const caches = new MachineCaches(dataDir);
  const cap = capturingReport();
  return {
    dataDir,
    driver,
    state,
    caches,
    cap,
    sshd: undefined as unknown as TransferSshd,
    origin: undefined as unknown as MigrationOrigin,
    dest: new MigrationDestination({ dataDir, driver, state, caches, report: cap.report, heartbeatMs: 200 }),
  };
}
const A = agent('a');
const B = agent('b');

beforeAll(async () => {
  for (const x of [A, B]) {
    x.sshd = new TransferSshd({ dataDir: x.dataDir, listenHost: '127.0.0.1', port: await freePort() });
    await x.sshd.start();
    x.origin = new MigrationOrigin({
      dataDir: x.dataDir,
      driver: x.driver,
      state: x.state,
      caches: x.caches,
      keys: new AuthorizedKeys(x.sshd.authorizedKeysFile),
    });
  }
});
afterAll(async () => {
  for (const x of [A, B]) await x.sshd?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

/** What the front-end does for one migration, minus the database: prepare, export, REQ, wait for the RESP, finish both. */
async function migrate(
  from: typeof A,
  to: typeof A,
  machineId: string,
  method: VmmpMethod,
  machine: { mac: string; vcpus: number; memoryMb: number; diskMb: number },
) {
  const migrationId = randomUUID();
  const version = (await from.driver.status(machineId)).version;
  const { publicKey } = await to.dest.prepare({ migrationId, machineId, method });
  const exported = await from.origin.export({ migrationId, machineId, version, method, publicKey });
  const e = from.sshd.endpoint();
  await to.dest.request({
    migrationId,
    vmmp: `<VMMP 1.0 REQ ${machineId} ${version} 127.0.0.1 ${e.sshPort} 127.0.0.1 3000 ${method}>`,
    origin: { sshUser: e.sshUser, hostKey: e.hostKey },
    files: exported.files,
    machine,
  });
  await to.dest.settled(migrationId);
  const resp = to.cap.reports.find((r) => r.migrationId === migrationId && r.vmmp.includes(' RESP '))!;
  expect(parseVmmp(resp.vmmp)).toEqual({ ok: true, message: { kind: 'RESP', machineId, version: version + 1, outcome: 'SUCCESS' } });
  await from.origin.finish({ migrationId, machineId, outcome: 'commit' });
  await to.dest.finish({ migrationId, machineId, outcome: 'commit' });
  return resp.transfer!;
}

describe('a machine migrates A → B by SCP, changes at B, and comes back B → A by RSYNC', () => {
  it('the way back sends about the change, not the disk; versions go +1 each trip; caches are where they should be', async () => {
    const spec = newSpec({ diskMb: 128 });
    // A 128 MB disk holding 32 MB of random data.
    const raw = path.join(tmp, 'seed.raw');
    writeFileSync(raw, '');
    execFileSync('truncate', ['-s', '128M', raw]);
    execFileSync('dd', ['if=/dev/urandom', `of=${raw}`, 'bs=1M', 'count=32', 'conv=notrunc', 'status=none']);
    await A.driver.create({ ...spec, baseImage: raw }, { version: 2 });
    const machine = { mac: spec.mac, vcpus: spec.vcpus, memoryMb: spec.memoryMb, diskMb: spec.diskMb };

    const there = await migrate(A, B, spec.id, 'SCP', machine);
    expect(await A.driver.list()).toEqual([]);
    expect(A.caches.has(spec.id)).toBe(true);
    expect(await B.driver.status(spec.id)).toMatchObject({ state: 'stopped', version: 3 });

    const change = 10 * MiB;
    execFileSync('qemu-io', ['-f', 'qcow2', '-c', `write -P 0x6d 4M ${change}`, path.join(B.driver.machineDir(spec.id), 'disk.qcow2')], { stdio: 'ignore' });
    const back = await migrate(B, A, spec.id, 'RSYNC', machine);
    console.log(
      `A → B by SCP: ${there.bytesReceived} bytes in ${there.durationMs} ms; B → A by RSYNC after a ${change}-byte change: ${back.bytesReceived} bytes (${(back.bytesReceived / change).toFixed(2)}× the change) in ${back.durationMs} ms`,
    );
    expect(back.bytesReceived).toBeLessThan(3 * change);
    expect(there.bytesReceived).toBeGreaterThan(32 * MiB);
    expect(await A.driver.status(spec.id)).toMatchObject({ state: 'stopped', version: 4 });
    expect(A.caches.has(spec.id)).toBe(false); // the cache became the machine's basis, then went
    expect(B.caches.has(spec.id)).toBe(true);
    expect(await B.driver.list()).toEqual([]);
  });
});
