import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readTextScreen, sendKeys, validateKeys } from './guest-controls';
import { ejectMedium, insertMedium, resolveIso } from './media';
import type { QmpExecutor } from './qmp-client';

/** Records the QMP commands sent; `pmemsave` writes a VGA text buffer showing "OK". */
function recorder() {
  const sent: { command: string; args?: Record<string, unknown> }[] = [];
  const qmp: QmpExecutor = {
    async execute<T>(command: string, args?: Record<string, unknown>): Promise<T> {
      sent.push({ command, args });
      if (command === 'pmemsave') {
        const buf = Buffer.alloc(80 * 25 * 2);
        buf.write('O\x07K\x07', 'latin1');
        writeFileSync(String(args?.['filename']), buf);
      }
      return {} as T;
    },
  };
  return { qmp, sent };
}

describe('guest controls', () => {
  it('validateKeys takes 1 to 8 qcodes and refuses anything else', () => {
    expect(() => validateKeys(['ctrl', 'alt', 'delete'])).not.toThrow();
    for (const bad of [[], Array(9).fill('a'), ['Ctrl'], ['ctrl alt'], [1], 'ctrl']) {
      expect(() => validateKeys(bad)).toThrow(/invalid keys/);
    }
  });

  it('sendKeys presses the keys together as qcodes', async () => {
    const r = recorder();
    await sendKeys(r.qmp, ['ctrl', 'alt', 'delete']);
    expect(r.sent).toEqual([{ command: 'send-key', args: { keys: ['ctrl', 'alt', 'delete'].map((data) => ({ type: 'qcode', data })) } }]);
  });

  it('readTextScreen decodes the VGA text buffer and removes its temporary copy', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vz-screen-'));
    try {
      const r = recorder();
      const lines = await readTextScreen(r.qmp, dir);
      expect(lines[0]?.trim()).toBe('OK');
      expect(r.sent[0]?.args).toMatchObject({ val: 0xb8000, size: 4000 });
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('media', () => {
  it('resolveIso accepts an existing file only', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vz-iso-'));
    try {
      writeFileSync(path.join(dir, 'a.iso'), '');
      expect(resolveIso(path.join(dir, 'a.iso'))).toBe(path.join(dir, 'a.iso'));
      expect(() => resolveIso(path.join(dir, 'missing.iso'))).toThrow('ISO not found');
      expect(() => resolveIso(dir)).toThrow('ISO not found');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('insert and eject drive the CD-ROM (forced: the guest may lock the tray)', async () => {
    const r = recorder();
    await insertMedium(r.qmp, '/isos/a.iso');
    await ejectMedium(r.qmp);
    expect(r.sent).toEqual([
      { command: 'blockdev-change-medium', args: { id: 'cdrom0', filename: '/isos/a.iso', format: 'raw', 'read-only-mode': 'read-only', force: true } },
      { command: 'eject', args: { id: 'cdrom0', force: true } },
    ]);
  });
});
