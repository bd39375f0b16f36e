import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newSpec } from '../test-support/helpers';
import { QemuDriver } from './qemu-driver';

/**
 * The driver's one lock per machine, seen from a caller that checks, then acts (the agent's
 * command layer). Stopped machines only: qemu-img makes the disks, no guest boots.
 */
let root: string;
let iso: string;
beforeAll(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'vz-lock-'));
  iso = path.join(root, 'install.iso');
  writeFileSync(iso, '');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const tick = () => new Promise<void>((r) => setTimeout(r, 20));

describe('QemuDriver.exclusive', () => {
  it("operations called inside join the machine's lock; other callers' operations wait; status does not", async () => {
    const driver = new QemuDriver({ machinesDir: root });
    const spec = newSpec();
    await driver.create(spec);
    const log: string[] = [];
    let endSection!: () => void;
    const sectionMayEnd = new Promise<void>((r) => (endSection = r));
    const section = driver.exclusive(spec.id, async () => {
      const st = await driver.status(spec.id); // the check: inside, no deadlock
      await driver.ejectMedia(spec.id); // the action: joins the held lock
      log.push(`inside at version ${st.version}`);
      await sectionMayEnd;
      log.push('section ends');
    });
    const outside = driver.attachMedia(spec.id, iso).then(() => log.push('attach from outside'));
    await tick();
    expect(log).toEqual(['inside at version 1']);
    expect((await driver.status(spec.id)).state).toBe('stopped'); // a reader does not wait
    expect(log).toEqual(['inside at version 1']);
    endSection();
    await Promise.all([section, outside]);
    expect(log).toEqual(['inside at version 1', 'section ends', 'attach from outside']);
    expect((await driver.status(spec.id)).media).toBe(iso);
  });

  it('machines do not wait for each other', async () => {
    const driver = new QemuDriver({ machinesDir: root });
    const [a, b] = [newSpec(), newSpec()];
    await driver.create(a);
    await driver.create(b);
    let endSection!: () => void;
    const section = driver.exclusive(a.id, () => new Promise<void>((r) => (endSection = r)));
    await driver.attachMedia(b.id, iso);
    expect((await driver.status(b.id)).media).toBe(iso);
    endSection();
    await section;
  });
});
