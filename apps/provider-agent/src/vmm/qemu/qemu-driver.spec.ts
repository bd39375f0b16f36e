import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// Concurrent tests use the `expect` of their own test context for expect.poll / snapshots.
import { guestImage } from '../guest-image';
import { pidAlive, newSpec, serialLog, ticks, typeOnSerial, waitForSerial } from '../test-support/helpers';
import { QemuDriver } from './qemu-driver';
import { countLitPixels, parsePpm } from './screen';

/**
 * Real QEMU guests (TCG here: 128 MB, 1 vCPU). Tests run concurrently (2-3 guests at a time).
 * The tiny guest comes from tools/guest-image/build.sh (vitest globalSetup).
 */
const img = guestImage();
const direct = { kernel: img.vmlinux, initrd: img.initramfs, append: 'console=ttyS0 quiet' };
const MARKER = /VIRTUOSO-GUEST-READY/;

let root: string;
let driver: QemuDriver;
const created: string[] = [];

async function createMachine(over: Parameters<typeof newSpec>[0] = {}) {
  const spec = newSpec(over);
  await driver.create(spec);
  created.push(spec.id);
  return spec;
}

beforeAll(() => {
  // Short root: unix socket paths are limited to 107 bytes.
  root = mkdtempSync(path.join(os.tmpdir(), 'vz-'));
  driver = new QemuDriver({ machinesDir: root });
});

afterAll(async () => {
  for (const id of created) await driver.delete(id).catch(() => undefined);
  await driver.detachAll();
  rmSync(root, { recursive: true, force: true });
});

describe.concurrent('QemuDriver with real QEMU', () => {
  it('a blank machine shows "No bootable device" and stop falls back to a forced quit', async () => {
    const spec = await createMachine({ memoryMb: 64 });
    await driver.start(spec.id);
    let screen: string[] = [];
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      screen = await driver.textScreen(spec.id);
      if (screen.some((l) => l.includes('No bootable device'))) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(screen.join('\n')).toContain('No bootable device');

    const ppm = path.join(root, `${spec.id}.ppm`);
    await driver.screendump(spec.id, ppm);
    const image = parsePpm(readFileSync(ppm));
    expect([image.width, image.height]).toEqual([720, 400]);
    expect(countLitPixels(image)).toBeGreaterThan(100);
    const png = path.join(root, `${spec.id}.png`);
    await driver.screendump(spec.id, png);
    expect(readFileSync(png).subarray(1, 4).toString('latin1')).toBe('PNG');

    // SeaBIOS does not handle the ACPI power button: stop must force.
    const t0 = Date.now();
    const r = await driver.stop(spec.id, { timeoutMs: 1_500 });
    expect(r).toEqual({ forced: true, wasRunning: true });
    expect(Date.now() - t0).toBeLessThan(10_000);
    const st = await driver.status(spec.id);
    expect(st.state).toBe('stopped');
    expect(st.version).toBe(2);
  });

  it('the preconfigured image boots from its disk (no -kernel) and a VGA user can type', async ({ expect }) => {
    const spec = await createMachine({ baseImage: img.qcow2, diskMb: 256 });
    const created = await driver.status(spec.id);
    expect(created.diskMb).toBe(256); // copied, then grown to the registered size
    const t0 = Date.now();
    await driver.start(spec.id);
    await waitForSerial(driver, spec.id, MARKER, { timeoutMs: 60_000 });
    console.log(`preconfigured disk boot to marker: ${Date.now() - t0} ms`);
    const cmdline = readFileSync(`/proc/${(await driver.status(spec.id)).pid}/cmdline`, 'utf8');
    expect(cmdline).not.toContain('-kernel');

    // The marker is on the VGA console too; type a command on tty1 through the keyboard.
    await expect.poll(async () => (await driver.textScreen(spec.id)).join('\n'), { timeout: 20_000 }).toContain('VIRTUOSO-GUEST-READY');
    await expect.poll(async () => (await driver.textScreen(spec.id)).join('\n'), { timeout: 20_000 }).toContain('virtuoso#');
    for (const key of ['ret', 'u', 'n', 'a', 'm', 'e', 'ret']) {
      await driver.qmp(spec.id, 'send-key', { keys: [{ type: 'qcode', data: key }] });
    }
    await expect.poll(async () => (await driver.textScreen(spec.id)).join('\n'), { timeout: 20_000 }).toMatch(/^Linux$/m);

    // The guest handles the power button: no forced fallback.
    const r = await driver.stop(spec.id, { timeoutMs: 30_000 });
    expect(r).toEqual({ forced: false, wasRunning: true });
    expect(serialLog(driver, spec.id)).toContain('VIRTUOSO-GUEST-POWERDOWN');
  });

  it('suspend then resume keeps guest memory (the tick counter continues)', async () => {
    const spec = await createMachine();
    await driver.start(spec.id, { directKernel: direct });
    await waitForSerial(driver, spec.id, /tick 3\r?\n/, { timeoutMs: 60_000 });
    const pid = (await driver.status(spec.id)).pid!;

    const s = await driver.suspend(spec.id);
    console.log(`suspend: ${s.durationMs} ms, ${s.stateBytes} bytes, ${s.attempts} attempt(s)`);
    const stateFile = path.join(root, spec.id, 'state.bin');
    expect(existsSync(stateFile)).toBe(true);
    expect(pidAlive(pid)).toBe(false);
    const st = await driver.status(spec.id);
    expect(st.state).toBe('suspended');
    expect(st.pid).toBeUndefined();
    const before = serialLog(driver, spec.id);
    const lastBefore = Math.max(...ticks(before));
    expect(lastBefore).toBeGreaterThanOrEqual(3);

    await new Promise((r) => setTimeout(r, 1_500)); // nothing runs while suspended
    expect(serialLog(driver, spec.id).length).toBe(before.length);

    const t0 = Date.now();
    await driver.resume(spec.id);
    console.log(`resume to running: ${Date.now() - t0} ms`);
    expect((await driver.status(spec.id)).state).toBe('running');
    expect(existsSync(stateFile)).toBe(false);
    await waitForSerial(driver, spec.id, new RegExp(`tick ${lastBefore + 2}\\r?\\n`), { from: before.length, timeoutMs: 30_000 });
    const after = ticks(serialLog(driver, spec.id).slice(before.length));
    expect(after[0]).toBe(lastBefore + 1); // continued, not restarted from 1
    expect(after).not.toContain(1);

    await driver.stop(spec.id, { timeoutMs: 20_000 });
  });

  it('stop then start: ACPI power-down without the forced fallback, then a fresh boot', async ({ expect }) => {
    const spec = await createMachine();
    await driver.start(spec.id, { directKernel: direct });
    await waitForSerial(driver, spec.id, MARKER);
    const t0 = Date.now();
    const r = await driver.stop(spec.id, { timeoutMs: 30_000 });
    console.log(`graceful stop: ${Date.now() - t0} ms`);
    expect(r.forced).toBe(false);
    expect((await driver.status(spec.id)).state).toBe('stopped');

    await driver.start(spec.id, { directKernel: direct });
    await expect.poll(() => (serialLog(driver, spec.id).match(/VIRTUOSO-GUEST-READY/g) ?? []).length, { timeout: 60_000 }).toBe(2);
    const r2 = await driver.stop(spec.id, { timeoutMs: 30_000 });
    expect(r2.forced).toBe(false);
    expect((await driver.status(spec.id)).version).toBe(3);
  });

  it('reboot (Ctrl-Alt-Del) and reset restart the guest in the same run; a forced stop quits at once', async ({ expect }) => {
    const spec = await createMachine();
    await driver.start(spec.id, { directKernel: direct });
    await waitForSerial(driver, spec.id, MARKER);
    const { pid, version } = await driver.status(spec.id);
    const readyCount = () => (serialLog(driver, spec.id).match(/VIRTUOSO-GUEST-READY/g) ?? []).length;
    const exits: string[] = [];
    const onExit = (e: { id: string; reason: string }) => e.id === spec.id && exits.push(e.reason);
    driver.events.on('exited', onExit);
    try {
      // Reboot: the guest's init gets Ctrl-Alt-Del and reboots; QEMU keeps running.
      const rebooted = await driver.reboot(spec.id);
      expect(rebooted).toMatchObject({ state: 'running', version, pid });
      await expect.poll(readyCount, { timeout: 60_000, message: 'the guest boots again after the reboot' }).toBe(2);
      expect(serialLog(driver, spec.id)).toContain('VIRTUOSO-GUEST-REBOOT');
      expect(await driver.status(spec.id)).toMatchObject({ state: 'running', version, pid });

      // Reset: the reset line, without asking the guest; again the same QEMU process.
      const reset = await driver.reset(spec.id);
      expect(reset).toMatchObject({ state: 'running', version, pid });
      await expect.poll(readyCount, { timeout: 60_000, message: 'the guest boots again after the reset' }).toBe(3);
      expect(serialLog(driver, spec.id).match(/VIRTUOSO-GUEST-REBOOT/g)).toHaveLength(1); // the reset did not ask the guest
      expect(await driver.status(spec.id)).toMatchObject({ state: 'running', version, pid });
      expect(exits).toEqual([]);

      // Force stop: no power button (the guest would print its power-down marker), the VMM quits.
      const r = await driver.stop(spec.id, { force: true, timeoutMs: 30_000 });
      expect(r).toEqual({ forced: true, wasRunning: true });
      expect(serialLog(driver, spec.id)).not.toContain('VIRTUOSO-GUEST-POWERDOWN');
      expect(pidAlive(pid!)).toBe(false);
      expect(await driver.status(spec.id)).toMatchObject({ state: 'stopped', version: version + 1 });
      expect(exits).toEqual(['stopped']);

      // Neither can be asked of a stopped machine.
      await expect(driver.reboot(spec.id)).rejects.toThrow(/cannot reboot machine .*: it is stopped/);
      await expect(driver.reset(spec.id)).rejects.toThrow(/cannot reset machine .*: it is stopped/);
    } finally {
      driver.events.off('exited', onExit);
    }
  });

  it('power-off from inside the guest is reported, also after the agent restarted (reattach)', async () => {
    const spec = await createMachine();
    const agent1 = new QemuDriver({ machinesDir: root });
    await agent1.start(spec.id, { directKernel: direct });
    await waitForSerial(agent1, spec.id, MARKER);

    // Simulate an agent restart: a second driver finds the running QEMU again.
    await agent1.detachAll();
    const agent2 = new QemuDriver({ machinesDir: root });
    expect(await agent2.reattach(spec.id)).toBe(true);
    expect((await agent2.status(spec.id)).state).toBe('running');

    const poweredOff = new Promise<{ id: string; reason: string }>((resolve) => agent2.events.once('poweredOff', resolve));
    const exited = new Promise<{ id: string; reason: string }>((resolve) => agent2.events.once('exited', resolve));
    await typeOnSerial(agent2, spec.id, 'poweroff -f');
    expect(await poweredOff).toEqual({ id: spec.id, reason: 'guest-shutdown' });
    expect(await exited).toMatchObject({ id: spec.id, reason: 'poweredOff' });
    expect((await agent2.status(spec.id)).state).toBe('stopped');
    await agent2.detachAll();
  });

  it('an ISO boots a blank machine from the CD-ROM; eject and re-attach work live', async () => {
    const spec = await createMachine();
    await driver.attachMedia(spec.id, img.iso);
    const t0 = Date.now();
    await driver.start(spec.id, { bootFrom: 'cdrom' });
    await waitForSerial(driver, spec.id, MARKER, { timeoutMs: 60_000 });
    console.log(`ISO boot to marker: ${Date.now() - t0} ms`);
    expect((await driver.status(spec.id)).media).toBe(img.iso);

    type BlockInfo = { qdev?: string; device: string; inserted?: { file: string } };
    const cd = async () => (await driver.qmp<BlockInfo[]>(spec.id, 'query-block')).find((b) => b.qdev?.includes('cdrom0') || b.device === 'cd0');
    expect((await cd())?.inserted?.file).toBe(img.iso);

    await driver.ejectMedia(spec.id);
    expect((await cd())?.inserted).toBeUndefined();
    expect((await driver.status(spec.id)).media).toBeNull();

    await driver.attachMedia(spec.id, img.iso);
    expect((await cd())?.inserted?.file).toBe(img.iso);

    await driver.delete(spec.id);
    expect(existsSync(path.join(root, spec.id))).toBe(false);
    await expect(driver.status(spec.id)).rejects.toThrow(/not found/);
  });
});

describe('qemu-img plumbing', () => {
  it('creates a blank qcow2 of the registered size', async () => {
    const spec = await createMachine({ diskMb: 100 });
    const info = JSON.parse(execFileSync('qemu-img', ['info', '--output=json', path.join(root, spec.id, 'disk.qcow2')], { encoding: 'utf8' }));
    expect(info.format).toBe('qcow2');
    expect(info['virtual-size']).toBe(100 * 1024 * 1024);
    await expect(driver.create(spec)).rejects.toThrow(/already exists/);
    expect(await driver.list()).toContain(spec.id);
  });
});
