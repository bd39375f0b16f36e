import { readFileSync, rmSync } from 'node:fs';
import type * as net from 'node:net';
import * as path from 'node:path';
import type { QmpExecutor } from './qmp-client';
import { decodeVgaText } from './screen';

/**
 * What a person at the machine's console can do to a running guest: look at the screen, press
 * keys, type on the serial line. Each is one QMP command (or a socket write) and changes no
 * machine state the driver records, so none takes the machine's lock. Other controls of that
 * kind (a Ctrl-Alt-Del reboot through `send-key`, a hardware reset through `system_reset`)
 * belong here; ending the process (stop, a forced stop) is the driver's, as it sets the run's
 * intent and counts the ended run.
 */

/** Ctrl-Alt-Del on the guest's keyboard, as a person at the console would press it. */
export async function askReboot(qmp: QmpExecutor): Promise<void> {
  await qmp.execute('send-key', { keys: ['ctrl', 'alt', 'delete'].map((data) => ({ type: 'qcode', data })) });
}

/** The hardware reset line (QMP system_reset). */
export async function resetLine(qmp: QmpExecutor): Promise<void> {
  await qmp.execute('system_reset');
}

/** Write the current screen to `file`: PNG if it ends in .png, PPM otherwise. */
export async function screendump(qmp: QmpExecutor, file: string): Promise<void> {
  await qmp.execute('screendump', {
    filename: path.resolve(file),
    format: file.toLowerCase().endsWith('.png') ? 'png' : 'ppm',
  });
}

/** Text-mode screen contents (VGA text buffer at 0xb8000, 80x25). Empty lines in graphics modes.
 *  `dir` receives a temporary copy of the buffer (QEMU writes it; the machine's directory). */
export async function readTextScreen(qmp: QmpExecutor, dir: string): Promise<string[]> {
  const tmp = path.join(dir, `screen-${process.pid}-${Date.now()}.vga`);
  try {
    await qmp.execute('pmemsave', { val: 0xb8000, size: 80 * 25 * 2, filename: tmp });
    return decodeVgaText(readFileSync(tmp), 80);
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** Throws unless `keys` is 1 to 8 QEMU qcodes (lower-case names such as 'ctrl', 'alt', 'delete'). */
export function validateKeys(keys: unknown): asserts keys is string[] {
  if (!Array.isArray(keys) || keys.length < 1 || keys.length > 8 || !keys.every((k) => typeof k === 'string' && /^[a-z0-9_]{1,24}$/.test(k))) {
    throw new Error(`invalid keys (1 to 8 QEMU qcodes expected): ${JSON.stringify(keys)}`);
  }
}

/** Press `keys` together on the guest's keyboard (check them with validateKeys first). */
export async function sendKeys(qmp: QmpExecutor, keys: string[]): Promise<void> {
  await qmp.execute('send-key', { keys: keys.map((k) => ({ type: 'qcode', data: k })) });
}

/** Type on the serial console (the driver's connection to serial.sock). */
export async function serialWrite(sock: net.Socket | undefined, id: string, data: string | Buffer): Promise<void> {
  if (!sock || sock.destroyed) throw new Error(`serial console of ${id} is not connected`);
  await new Promise<void>((resolve, reject) => sock.write(data, (e) => (e ? reject(e) : resolve())));
}
