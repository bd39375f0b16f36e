import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { MachineSpec } from '../vmm-driver';
import type { QemuDriver } from '../qemu/qemu-driver';

export function newSpec(over: Partial<MachineSpec> = {}): MachineSpec {
  const b = randomBytes(3);
  return {
    id: randomUUID(),
    mac: `52:54:00:${[...b].map((x) => x.toString(16).padStart(2, '0')).join(':')}`,
    vcpus: 1,
    memoryMb: 128,
    diskMb: 64,
    ...over,
  };
}

export function serialLog(driver: QemuDriver, id: string): string {
  try {
    return readFileSync(driver.serialLogPath(id), 'latin1');
  } catch {
    return '';
  }
}

/** Poll serial.log (written by QEMU) until `re` matches the text after `from`. */
export async function waitForSerial(
  driver: QemuDriver,
  id: string,
  re: RegExp,
  opts: { from?: number; timeoutMs?: number } = {},
): Promise<{ match: RegExpExecArray; end: number }> {
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  const from = opts.from ?? 0;
  for (;;) {
    const text = serialLog(driver, id).slice(from);
    const m = re.exec(text);
    if (m) return { match: m, end: from + m.index + m[0].length };
    if (Date.now() > deadline) {
      throw new Error(`serial of ${id}: no ${re} within ${opts.timeoutMs ?? 60_000} ms; tail: ${JSON.stringify(text.slice(-400))}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Type a command on the guest's serial shell: newline(s) until a fresh prompt, then the command.
 *  (busybox's prompt sends ESC[6n and the first input can be eaten: send a newline first.) */
export async function typeOnSerial(driver: QemuDriver, id: string, command: string): Promise<void> {
  for (let i = 0; i < 20; i++) {
    const from = serialLog(driver, id).length;
    await driver.serialWrite(id, '\n');
    try {
      await waitForSerial(driver, id, /virtuoso# /, { from, timeoutMs: 1_500 });
      await driver.serialWrite(id, command + '\n');
      return;
    } catch {
      /* shell not there yet */
    }
  }
  throw new Error(`no shell prompt on the serial console of ${id}`);
}

export function ticks(text: string): number[] {
  return [...text.matchAll(/tick (\d+)/g)].map((m) => Number(m[1]));
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
