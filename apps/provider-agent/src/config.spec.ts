import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config';

const dir = mkdtempSync(path.join(os.tmpdir(), 'vzc-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function problems(argv: string[], env: Record<string, string> = {}): string[] {
  try {
    loadConfig(argv, env);
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
}

describe('agent configuration', () => {
  it('takes the add-host command line, defaults the rest', () => {
    const c = loadConfig(['--data', dir, '--port', '7001', '--frontend', 'http://127.0.0.1:8080/', '--join=tok'], {});
    expect(c).toMatchObject({
      dataDir: dir,
      listenHost: '127.0.0.1',
      port: 7001,
      consolePort: 7002,
      advertiseHost: '127.0.0.1',
      frontendUrl: 'http://127.0.0.1:8080',
      joinToken: 'tok',
      accel: 'probe',
      heartbeatMs: 5_000,
    });
  });

  it('flags override the environment', () => {
    const env = {
      VIRTUOSO_AGENT_DATA_DIR: '/nonexistent-but-fine',
      VIRTUOSO_AGENT_PORT: '9000',
      VIRTUOSO_FRONTEND_URL: 'http://a',
      VIRTUOSO_JOIN_TOKEN: 't',
      VIRTUOSO_AGENT_ADVERTISE_HOST: '10.0.0.5',
    };
    expect(loadConfig(['--port', '9100'], env)).toMatchObject({ port: 9100, consolePort: 9101, advertiseHost: '10.0.0.5' });
  });

  it('names every bad variable', () => {
    const p = problems(['--bogus', 'x'], {
      VIRTUOSO_AGENT_PORT: '70000',
      VIRTUOSO_AGENT_CONSOLE_PORT: 'x',
      VIRTUOSO_FRONTEND_URL: 'ftp://x',
      VIRTUOSO_ACCEL: 'fast',
      VIRTUOSO_AGENT_LISTEN: '0.0.0.0',
    });
    const text = p.join('\n');
    for (const name of [
      '--bogus',
      'VIRTUOSO_AGENT_DATA_DIR',
      'VIRTUOSO_AGENT_PORT',
      'VIRTUOSO_AGENT_CONSOLE_PORT',
      'VIRTUOSO_FRONTEND_URL',
      'VIRTUOSO_ACCEL',
      'VIRTUOSO_AGENT_ADVERTISE_HOST',
    ]) {
      expect(text).toContain(name);
    }
  });

  it("refuses a data directory too deep for the machines' unix sockets", () => {
    expect(problems(['--data', `/tmp/${'d'.repeat(60)}`, '--port', '7001', '--frontend', 'http://a', '--join', 't']).join()).toMatch(/too deep/);
  });

  it('after the join, agent.json supplies the front-end and ports: no token needed', () => {
    const d = mkdtempSync(path.join(os.tmpdir(), 'vzc-'));
    writeFileSync(
      path.join(d, 'agent.json'),
      JSON.stringify({ agentId: 'a', secret: 's'.repeat(32), frontendUrl: 'http://fe:8080', agentHost: '127.0.0.1', agentPort: 7100, consolePort: 7200 }),
    );
    expect(loadConfig(['--data', d], {})).toMatchObject({ frontendUrl: 'http://fe:8080', port: 7100, consolePort: 7200, joinToken: undefined });
    rmSync(d, { recursive: true, force: true });
  });

  describe('transfer sshd (report §7.3)', () => {
    const base = ['--data', dir, '--port', '7001', '--frontend', 'http://a', '--join', 't'];

    it('none without --ssh-port: the agent can only be a destination', () => {
      expect(loadConfig(base, {}).transfer).toBeUndefined();
    });

    it('--ssh-port (or VIRTUOSO_AGENT_SSH_PORT): a private sshd on that port', () => {
      expect(loadConfig([...base, '--ssh-port', '7022'], {}).transfer).toEqual({ sshPort: 7022 });
      expect(loadConfig(base, { VIRTUOSO_AGENT_SSH_PORT: '7023' }).transfer).toEqual({ sshPort: 7023 });
    });

    it('refuses a bad port or one of the agent ports', () => {
      expect(problems([...base, '--ssh-port', 'ssh']).join()).toMatch(/VIRTUOSO_AGENT_SSH_PORT \(--ssh-port\): must be a TCP port number/);
      expect(problems([...base, '--ssh-port', '7002']).join()).toMatch(/VIRTUOSO_AGENT_SSH_PORT.*must differ from the command and console ports/);
    });

    it("the system's sshd: its port, the authorized_keys file it reads, its public host key", () => {
      const pub = path.join(dir, 'host.pub');
      writeFileSync(pub, 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOk3oJ8QH6M0Lq0W5Zq8bIh4vbm5dXqj6tJbVY1tZbmQ root@h\n');
      const keys = path.join(dir, 'virtuoso_keys');
      expect(loadConfig([...base, '--ssh-port', '22', '--ssh-authorized-keys', keys, '--ssh-host-key', pub], {}).transfer).toEqual({
        sshPort: 22,
        system: { authorizedKeysFile: keys, hostKeyFile: pub },
      });
    });

    it('names what is missing or wrong for the system sshd', () => {
      const pub = path.join(dir, 'host.pub');
      expect(problems([...base, '--ssh-host-key', pub]).join()).toMatch(/VIRTUOSO_AGENT_SSH_PORT \(--ssh-port\): required with/);
      expect(problems([...base, '--ssh-port', '22', '--ssh-host-key', pub]).join()).toMatch(/VIRTUOSO_AGENT_SSH_AUTHORIZED_KEYS.*required with --ssh-host-key/);
      expect(problems([...base, '--ssh-port', '22', '--ssh-authorized-keys', path.join(dir, 'k')]).join()).toMatch(/VIRTUOSO_AGENT_SSH_HOST_KEY.*required/);
      const priv = path.join(dir, 'host');
      writeFileSync(priv, '-----BEGIN OPENSSH PRIVATE KEY-----\n');
      const p = problems([...base, '--ssh-port', '22', '--ssh-authorized-keys', '/nonexistent/dir/keys', '--ssh-host-key', priv]).join('\n');
      expect(p).toMatch(/VIRTUOSO_AGENT_SSH_AUTHORIZED_KEYS.*\/nonexistent\/dir is not a directory/);
      expect(p).toMatch(/VIRTUOSO_AGENT_SSH_HOST_KEY.*is not a public key \(give the .pub file\)/);
    });
  });

  it('--cache-limit-mb: the most the caches of machines that migrated away may take', () => {
    const base = ['--data', dir, '--port', '7001', '--frontend', 'http://a', '--join', 't'];
    expect(loadConfig(base, {}).cacheLimitBytes).toBeUndefined();
    expect(loadConfig([...base, '--cache-limit-mb', '2048'], {}).cacheLimitBytes).toBe(2048 * 1024 * 1024);
    expect(problems([...base, '--cache-limit-mb', '1.5G']).join()).toMatch(/VIRTUOSO_AGENT_CACHE_LIMIT_MB \(--cache-limit-mb\): must be a whole number of MB/);
  });

  it('--transfer-limit-kbps: a cap on incoming transfers, a whole number of KiB/s', () => {
    const base = ['--data', dir, '--port', '7001', '--frontend', 'http://a', '--join', 't'];
    expect(loadConfig(base, {}).transferLimitKBps).toBeUndefined();
    expect(loadConfig([...base, '--transfer-limit-kbps', '4096'], {}).transferLimitKBps).toBe(4096);
    expect(problems([...base, '--transfer-limit-kbps', '0']).join()).toMatch(
      /VIRTUOSO_AGENT_TRANSFER_LIMIT_KBPS \(--transfer-limit-kbps\): must be a whole number of KiB per second/,
    );
  });

  it('--port-range, --outbound, --public-host: guest networking, with defaults', () => {
    const base = ['--data', dir, '--port', '7001', '--frontend', 'http://a', '--join', 't', '--advertise', 'rack7.example.net'];
    expect(loadConfig(base, {}).network).toEqual({ portRange: { first: 20000, last: 20999 }, outbound: 'allow', publicHost: 'rack7.example.net' });
    expect(loadConfig([...base, '--port-range', '30000-30009', '--outbound', 'none', '--public-host', '203.0.113.7'], {}).network).toEqual({
      portRange: { first: 30000, last: 30009 },
      outbound: 'none',
      publicHost: '203.0.113.7',
    });
    expect(loadConfig(base, { VIRTUOSO_AGENT_PORT_RANGE: '40000-40000', VIRTUOSO_AGENT_OUTBOUND: 'NONE' }).network).toMatchObject({
      portRange: { first: 40000, last: 40000 },
      outbound: 'none',
    });
    for (const range of ['30009-30000', '80-90', '20000-70000', '20000', 'a-b'])
      expect(problems([...base, '--port-range', range]).join()).toMatch(/VIRTUOSO_AGENT_PORT_RANGE \(--port-range\): must be FIRST-LAST/);
    expect(problems([...base, '--port-range', '7000-7010']).join()).toMatch(
      /VIRTUOSO_AGENT_PORT_RANGE \(--port-range\): 7000-7010 holds the agent's own port\(s\) 7001, 7002/,
    );
    expect(problems(['--data', dir, '--port', '20001', '--frontend', 'http://a', '--join', 't']).join()).toMatch(
      /the default 20000-20999 holds the agent's own port\(s\) 20001/,
    );
    expect(problems([...base, '--outbound', 'some']).join()).toMatch(/VIRTUOSO_AGENT_OUTBOUND \(--outbound\): must be allow or none/);
    expect(problems([...base, '--public-host', '0.0.0.0']).join()).toMatch(/VIRTUOSO_AGENT_PUBLIC_HOST \(--public-host\): buyers cannot connect/);
    expect(problems([...base, '--public-host', 'a b']).join()).toMatch(/VIRTUOSO_AGENT_PUBLIC_HOST \(--public-host\): not a host name/);
  });
});
