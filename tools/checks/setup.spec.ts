import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// The README's two commands and CI share tools/setup.sh: each installs by itself what it needs on a
// fresh machine. These run the real script with stand-ins for dpkg and id on PATH, so that nothing
// is installed and the machine's own packages do not decide the outcome.
const root = resolve(__dirname, '../..');
const bin = mkdtempSync(join(tmpdir(), 'virtuoso-setup-'));
afterAll(() => rmSync(bin, { recursive: true, force: true }));

function standIns(installed: boolean, uid: number): string {
  const dir = mkdtempSync(join(bin, 'bin-'));
  const write = (name: string, body: string) => {
    writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(dir, name), 0o755);
  };
  write('dpkg', installed ? 'exit 0' : 'exit 1');
  write('id', `echo ${uid}`);
  // Must never be reached in these cases: installing is refused before it, or nothing is missing.
  write('apt-get', 'echo "apt-get $*" >&2; exit 97');
  return dir;
}

function setup(purpose: string, installed: boolean, uid: number) {
  const result = spawnSync('bash', [join(root, 'tools/setup.sh'), purpose], {
    env: { ...process.env, PATH: `${standIns(installed, uid)}:${process.env.PATH}` },
    encoding: 'utf8',
  });
  return { status: result.status, out: result.stdout + result.stderr };
}

describe('tools/setup.sh', () => {
  it('names every missing Debian package the tests need and stops when not root', () => {
    const { status, out } = setup('test', false, 1000);
    expect(status).toBe(1);
    for (const p of ['qemu-system-x86', 'qemu-utils', 'busybox-static', 'chromium', 'openssh-server', 'rsync']) expect(out).toContain(p);
    expect(out).not.toContain('apt-get');
  });

  it('asks npm start for QEMU, the guest-image tools and what migration needs (sshd, rsync), not for the browser', () => {
    const { status, out } = setup('start', false, 1000);
    expect(status).toBe(1);
    for (const p of ['qemu-system-x86', 'openssh-server', 'rsync']) expect(out).toContain(p);
    expect(out).not.toContain('chromium');
  });

  it('does nothing when every package is there and node_modules matches the lock file', () => {
    const { status, out } = setup('test', true, 1000);
    expect(status).toBe(0);
    expect(out).not.toContain('installing');
  });

  it('refuses an unknown purpose', () => {
    expect(setup('deploy', true, 0).status).toBe(2);
  });

  it('is what npm start, npm test and CI run first', () => {
    for (const file of ['tools/start.sh', 'tools/test.sh', '.ci/run']) {
      expect(readFileSync(join(root, file), 'utf8'), file).toMatch(/bash tools\/setup\.sh (start|test)/);
    }
  });
});
