import { describe, expect, it } from 'vitest';
import { parseBytesReceived, pullCommand, stderrTail } from './pull';

const source = { user: 'root', host: '10.0.0.7', port: 2222, keyFile: '/data/migrations/m/key', knownHostsFile: '/data/migrations/m/known_hosts' };
const sshOpts = ['-i', '/data/migrations/m/key', '-o', 'UserKnownHostsFile=/data/migrations/m/known_hosts', '-o', 'StrictHostKeyChecking=yes', '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=3', '-o', 'ServerAliveInterval=2', '-o', 'ServerAliveCountMax=3', '-c', 'aes128-gcm@openssh.com'];

describe('pull command lines (docs/ARCHITECTURE.md §7)', () => {
  it('RSYNC: a fresh target, the cache as --copy-dest (never --inplace), every file through the delta algorithm', () => {
    const c = pullCommand({ ...source, method: 'RSYNC', machineId: 'abc', stagingDir: '/data/migrations/m/staging', cacheDir: 'rel/caches/abc', totalBytes: 1 });
    expect(c.file).toBe('rsync');
    expect(c.args).toEqual([
      '-a', '--ignore-times', '--safe-links', '--stats',
      '-e', ['ssh', '-p', '2222', ...sshOpts].join(' '),
      `--copy-dest=${process.cwd()}/rel/caches/abc`,
      'root@10.0.0.7:/',
      '/data/migrations/m/staging/abc/',
    ]);
    expect(c.args.join(' ')).not.toContain('--inplace');
  });

  it('SCP: legacy protocol, recursive, into the staging dir (the origin forces which directory it sends)', () => {
    const c = pullCommand({ ...source, method: 'SCP', machineId: 'abc', stagingDir: '/s', totalBytes: 1 });
    expect(c).toEqual({ file: 'scp', args: ['-O', '-r', '-p', '-P', '2222', ...sshOpts, 'root@10.0.0.7:abc', '/s/'] });
  });

  it('reads the bytes received from rsync --stats and keeps the end of a failing tool stderr', () => {
    expect(parseBytesReceived('Total bytes sent: 101,526\nTotal bytes received: 10,512,345\n')).toBe(10_512_345);
    expect(parseBytesReceived('nothing')).toBeNull();
    expect(stderrTail('a\nb\n\nrsync: write failed on "x": No space left on device (28)\nrsync error: error in file IO (code 11)\n')).toBe(
      'a; b; rsync: write failed on "x": No space left on device (28); rsync error: error in file IO (code 11)',
    );
  });
});
