import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthorizedKeys } from './authorized-keys';
import { TransferClient, freePort } from './test-support/transfer-client';
import { accepts, TransferSshd } from './transfer-sshd';

// A real sshd on a free loopback port, real rsync/scp/ssh clients (report §7.3: the one-time key
// reads one machine's export directory and nothing else).
const tmp = mkdtempSync(path.join(os.tmpdir(), 'vzs-'));
const dataDir = path.join(tmp, 'data');
const idA = randomUUID();
const idB = randomUUID();
const migA = randomUUID();
const dirA = path.join(dataDir, 'exports', migA, idA);
const dirB = path.join(dataDir, 'exports', randomUUID(), idB);
const diskA = randomBytes(300_000);
let sshd: TransferSshd;
let keys: AuthorizedKeys;
let client: TransferClient;

beforeAll(async () => {
  mkdirSync(dirA, { recursive: true });
  mkdirSync(dirB, { recursive: true });
  writeFileSync(path.join(dirA, 'machine.json'), '{"id":"A"}\n');
  writeFileSync(path.join(dirA, 'disk.qcow2'), diskA);
  writeFileSync(path.join(dirB, 'secret'), 'B-SECRET\n');
  sshd = new TransferSshd({ dataDir, listenHost: '127.0.0.1', port: await freePort() });
  await sshd.start();
  keys = new AuthorizedKeys(sshd.authorizedKeysFile);
  mkdirSync(path.join(tmp, 'client'));
  client = new TransferClient(path.join(tmp, 'client'), '127.0.0.1', sshd.endpoint());
});
afterAll(async () => {
  await sshd?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const fresh = () => mkdtempSync(path.join(tmp, 'dst-'));
/** Every file name under a directory, recursively. */
const tree = (dir: string): string[] => readdirSync(dir, { recursive: true }).map(String).sort();
const sawSecret = (dir: string) => tree(dir).some((f) => f.endsWith('secret')) || JSON.stringify(tree(dir)).includes('B-SECRET');

describe('TransferSshd', () => {
  it('reports its endpoint: port, user, host key without comment, SHA256 fingerprint', async () => {
    const e = sshd.endpoint();
    expect(e.sshUser).toBe(os.userInfo().username);
    expect(e.hostKey).toMatch(/^ssh-ed25519 [A-Za-z0-9+/]+=*$/);
    expect(e.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]+$/);
    expect(readFileSync(path.join(dataDir, 'ssh', 'sshd_config'), 'utf8')).toContain(`AuthorizedKeysFile ${sshd.authorizedKeysFile}`);
  });

  describe('RSYNC key (rrsync -ro on machine A export)', () => {
    beforeAll(() => keys.add(migA, 'RSYNC', dirA, client.publicKey));
    afterAll(() => keys.remove(migA));

    it('reads A files', async () => {
      const dst = fresh();
      const r = await client.rsync(['-a', `${client.target}:/`, `${dst}/`]);
      expect(r.status, r.stderr).toBe(0);
      expect(tree(dst)).toEqual(['disk.qcow2', 'machine.json']);
      expect(readFileSync(path.join(dst, 'disk.qcow2')).equals(diskA)).toBe(true);
    });

    it('cannot read B: ../B, the absolute path of B, a symlink to B', async () => {
      const rel = path.relative(dirA, dirB);
      for (const src of [`../${idB}`, rel, `/${rel}`, dirB, path.join(dirB, 'secret')]) {
        const dst = fresh();
        const r = await client.rsync(['-a', `${client.target}:${src}`, `${dst}/`]);
        expect(r.status, `${src}: ${r.stderr}`).not.toBe(0);
        expect(sawSecret(dst), src).toBe(false);
      }
      // A symlink inside A pointing at B arrives as a symlink at most, never with B's content.
      symlinkSync(dirB, path.join(dirA, 'link'));
      try {
        for (const opts of [['-a'], ['-aL'], ['-a', '--copy-unsafe-links']]) {
          const dst = fresh();
          await client.rsync([...opts, `${client.target}:/`, `${dst}/`]);
          // (dst/link may be a symlink to B on this same machine: only real content counts)
          const link = path.join(dst, 'link');
          const copied = existsSync(link) && !lstatSync(link).isSymbolicLink();
          expect(copied && existsSync(path.join(link, 'secret')), opts.join(' ')).toBe(false);
        }
      } finally {
        rmSync(path.join(dirA, 'link'));
      }
    });

    it('cannot upload', async () => {
      const src = fresh();
      writeFileSync(path.join(src, 'evil'), 'x');
      const r = await client.rsync(['-a', `${src}/`, `${client.target}:/`]);
      expect(r.status).not.toBe(0);
      expect(existsSync(path.join(dirA, 'evil'))).toBe(false);
    });

    it('cannot run a shell or a command', async () => {
      for (const args of [
        [client.target, 'id'],
        ['-tt', client.target],
        [client.target, 'sh -c id; id'],
      ]) {
        const r = await client.ssh(args);
        expect(r.stdout + r.stderr, args.join(' ')).not.toMatch(/uid=/);
      }
    });

    it('cannot forward a port (stdio forward, remote forward)', async () => {
      const w = await client.ssh(['-W', `127.0.0.1:${sshd.endpoint().sshPort}`, client.target]);
      expect(w.status).toBe(255);
      expect(w.stderr).toMatch(/prohibited|refused|denied/i);
      const port = sshd.endpoint().sshPort + 1;
      const r = await client.ssh(['-N', '-o', 'ExitOnForwardFailure=yes', '-R', `127.0.0.1:${port}:127.0.0.1:22`, client.target]);
      expect(r.status).toBe(255);
      expect(r.stderr).toMatch(/forwarding failed/i);
    });
  });

  describe('SCP key (scp -r -f on machine A export)', () => {
    const migS = randomUUID();
    beforeAll(() => keys.add(migS, 'SCP', dirA, client.publicKey));
    afterAll(() => keys.remove(migS));

    it('reads A files with scp -O -r, whatever path is asked, never B', async () => {
      for (const src of ['x', `../${idB}`, dirB, '/etc/passwd']) {
        const parent = fresh();
        const r = await client.scp(['-r', `${client.target}:${src}`, `${parent}/`]);
        expect(r.status, `${src}: ${r.stderr}`).toBe(0);
        expect(tree(parent), src).toEqual([idA, `${idA}/disk.qcow2`, `${idA}/machine.json`]);
        expect(readFileSync(path.join(parent, idA, 'disk.qcow2')).equals(diskA)).toBe(true);
      }
    });

    it('cannot upload, run a command or forward', async () => {
      const src = path.join(fresh(), 'evil');
      writeFileSync(src, 'x');
      // The forced command only sends: the upload goes nowhere (and may hang: bounded).
      await client.scp([src, `${client.target}:evil`], 5_000);
      expect(existsSync(path.join(dirA, 'evil'))).toBe(false);
      const r = await client.ssh([client.target, 'id']);
      expect(r.stdout + r.stderr).not.toMatch(/uid=/);
      const w = await client.ssh(['-W', `127.0.0.1:${sshd.endpoint().sshPort}`, client.target]);
      expect(w.status).toBe(255);
    });
  });

  it('after remove() the key is refused', async () => {
    const mig = randomUUID();
    keys.add(mig, 'RSYNC', dirA, client.publicKey);
    const ok = await client.rsync(['-a', `${client.target}:/`, `${fresh()}/`]);
    expect(ok.status, ok.stderr).toBe(0);
    keys.remove(mig);
    expect(keys.has(mig)).toBe(false);
    const r = await client.ssh([client.target, 'true']);
    expect(r.status).toBe(255);
    expect(r.stderr).toMatch(/Permission denied/);
    const d = fresh();
    expect((await client.rsync(['-a', `${client.target}:/`, `${d}/`])).status).not.toBe(0);
    expect(tree(d)).toEqual([]);
  });

  it('an sshd that dies unasked is started again', async () => {
    const before = sshd.pid!;
    process.kill(before, 'SIGKILL');
    const deadline = Date.now() + 15_000;
    while (!(sshd.pid && sshd.pid !== before && (await accepts('127.0.0.1', sshd.endpoint().sshPort)))) {
      if (Date.now() > deadline) throw new Error('the transfer sshd was not started again');
      await new Promise((r) => setTimeout(r, 100));
    }
    const mig = randomUUID();
    keys.add(mig, 'RSYNC', dirA, client.publicKey);
    const r = await client.rsync(['-a', `${client.target}:/`, `${fresh()}/`]);
    expect(r.status, r.stderr).toBe(0);
    keys.remove(mig);
  });

  it('a restarted agent replaces an sshd its killed predecessor left running', async () => {
    const port = sshd.endpoint().sshPort;
    const hostKey = sshd.endpoint().hostKey;
    await sshd.stop();
    // What a SIGKILLed agent leaves: its sshd, still serving, its pid in the pid file.
    const cfg = path.join(dataDir, 'ssh', 'sshd_config');
    const leftover = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', cfg], { stdio: 'ignore' });
    const pidFile = path.join(dataDir, 'ssh', 'sshd.pid');
    for (let i = 0; i < 100 && !existsSync(pidFile); i++) await new Promise((r) => setTimeout(r, 50));
    expect(Number(readFileSync(pidFile, 'utf8'))).toBe(leftover.pid);
    const gone = new Promise((r) => leftover.once('exit', r));
    sshd = new TransferSshd({ dataDir, listenHost: '127.0.0.1', port });
    await sshd.start();
    await gone;
    expect(sshd.pid).not.toBe(leftover.pid);
    expect(sshd.endpoint().hostKey).toBe(hostKey); // the host key is kept
    const mig = randomUUID();
    keys.add(mig, 'RSYNC', dirA, client.publicKey);
    expect((await client.rsync(['-a', `${client.target}:/`, `${fresh()}/`])).status).toBe(0);
    keys.remove(mig);
  });
});
