import { randomUUID } from 'node:crypto';
import { linkSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseVmmp } from '@virtuoso/domain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalState } from '../agent/local-state';
import { guestImage } from '../vmm/guest-image';
import { QemuDriver } from '../vmm/qemu/qemu-driver';
import { newSpec, serialLog, ticks, waitForSerial } from '../vmm/test-support/helpers';
import { AuthorizedKeys } from './authorized-keys';
import { MachineCaches } from './caches';
import { MigrationDestination } from './destination';
import { capturingReport, manifestOf } from './test-support/exported-machine';
import { freePort } from './test-support/transfer-client';
import { TransferSshd } from './transfer-sshd';

// A real suspended guest (report §7: the saved memory state travels with the machine and it
// resumes at the destination): booted and suspended at the origin, pulled by SCP through the
// origin's transfer sshd, committed, resumed by the destination's driver; its tick counter goes on.
const img = guestImage();
const direct = { kernel: img.vmlinux, initrd: img.initramfs, append: 'console=ttyS0 quiet' };
// Short paths: the machines' unix sockets must fit in 107 bytes.
const tmp = mkdtempSync(path.join(os.tmpdir(), 'vzr-'));
const originData = path.join(tmp, 'o');
const destData = path.join(tmp, 'd');
const origin = new QemuDriver({ machinesDir: path.join(originData, 'machines') });
const driver = new QemuDriver({ machinesDir: path.join(destData, 'machines') });
let sshd: TransferSshd;

beforeAll(async () => {
  sshd = new TransferSshd({ dataDir: originData, listenHost: '127.0.0.1', port: await freePort() });
  await sshd.start();
});
afterAll(async () => {
  for (const d of [origin, driver]) for (const id of await d.list()) await d.delete(id).catch(() => undefined);
  await sshd?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe('a suspended machine migrates and resumes at the destination', () => {
  it('SCP: state.bin travels, machine.json points at it, resume continues the guest where it stopped', async () => {
    const spec = newSpec();
    await origin.create(spec, { version: 5 });
    await origin.start(spec.id, { directKernel: direct });
    await waitForSerial(origin, spec.id, /tick 3\r?\n/, { timeoutMs: 90_000 });
    await origin.suspend(spec.id);
    const lastBefore = Math.max(...ticks(serialLog(origin, spec.id)));
    const version = (await origin.status(spec.id)).version;

    const cap = capturingReport();
    const dest = new MigrationDestination({
      dataDir: destData,
      driver,
      state: new LocalState(destData),
      caches: new MachineCaches(destData),
      report: cap.report,
      heartbeatMs: 200,
    });
    const migrationId = randomUUID();
    const { publicKey } = await dest.prepare({ migrationId, machineId: spec.id, method: 'SCP' });
    // The origin's export: hard links of the files that travel.
    const exportDir = path.join(originData, 'exports', migrationId, spec.id);
    mkdirSync(exportDir, { recursive: true });
    for (const f of ['machine.json', 'disk.qcow2', 'state.bin']) linkSync(path.join(origin.machineDir(spec.id), f), path.join(exportDir, f));
    new AuthorizedKeys(sshd.authorizedKeysFile).add(migrationId, 'SCP', exportDir, publicKey);
    const e = sshd.endpoint();
    await dest.request({
      migrationId,
      vmmp: `<VMMP 1.0 REQ ${spec.id} ${version} 127.0.0.1 ${e.sshPort} 127.0.0.1 3000 SCP>`,
      origin: { sshUser: e.sshUser, hostKey: e.hostKey },
      files: await manifestOf(exportDir, ['machine.json', 'disk.qcow2', 'state.bin']),
      machine: { mac: spec.mac, vcpus: spec.vcpus, memoryMb: spec.memoryMb, diskMb: spec.diskMb },
    });
    await dest.settled(migrationId);
    const resp = cap.reports.find((r) => r.vmmp.includes(' RESP '));
    expect(parseVmmp(resp!.vmmp)).toEqual({ ok: true, message: { kind: 'RESP', machineId: spec.id, version: version + 1, outcome: 'SUCCESS' } });
    await dest.finish({ migrationId, machineId: spec.id, outcome: 'commit' });
    expect(await driver.status(spec.id)).toMatchObject({ state: 'suspended', version: version + 1 });

    await driver.resume(spec.id);
    await waitForSerial(driver, spec.id, new RegExp(`tick ${lastBefore + 2}\\r?\\n`), { timeoutMs: 30_000 });
    const after = ticks(serialLog(driver, spec.id));
    expect(after[0]).toBe(lastBefore + 1); // continued, not rebooted
    await driver.stop(spec.id, { force: true });
  });
});
