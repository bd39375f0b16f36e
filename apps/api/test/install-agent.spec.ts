import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, REPO } from './agent-process';
import { startApp, type Agent, type TestApp } from './helpers';

const DATA = 'var/lib/virtuoso-agent';
const BUILT = join(REPO, 'dist', 'agent-package');
const PID_FILE = 'run/virtuoso-agent.pid';

/** The uid of `name` in a passwd file, or undefined. */
function uidIn(passwd: string, name: string): number | undefined {
  const line = readFileSync(passwd, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  return line ? Number(line.split(':')[2]) : undefined;
}

function processUid(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^Uid:\s+(\d+)/m.exec(status)![1]);
}

/** The package in `dir` again as version `to`: a newer release as far as the install script can tell. */
function repack(dir: string, from: string, to: string): void {
  const work = mkdtempSync(join(tmpdir(), 'virtuoso-repack-'));
  try {
    execFileSync('tar', ['-xzf', join(dir, 'virtuoso-agent.tar.gz'), '-C', work]);
    renameSync(join(work, `virtuoso-agent-${from}`), join(work, `virtuoso-agent-${to}`));
    writeFileSync(join(work, `virtuoso-agent-${to}`, 'VERSION'), `${to}\n`);
    execFileSync('tar', ['-I', 'gzip -1', '-cf', join(dir, 'virtuoso-agent.tar.gz'), '-C', work, `virtuoso-agent-${to}`]);
    const sha = createHash('sha256')
      .update(readFileSync(join(dir, 'virtuoso-agent.tar.gz')))
      .digest('hex');
    writeFileSync(join(dir, 'virtuoso-agent.tar.gz.sha256'), `${sha}  virtuoso-agent.tar.gz\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** supertest: the body as text, whatever its type. */
/** supertest's parser for a text body it does not know (a shell script): the body as one string. */
const text = (res: import('superagent').Response, done: (e: Error | null, body: string) => void) => {
  const stream = res as unknown as NodeJS.ReadableStream;
  let body = '';
  stream.on('data', (c: Buffer) => (body += c.toString()));
  stream.on('end', () => done(null, body));
};

/**
 * dpkg-query as the apt test has it: rsync "not installed" (it is installed), every other answer
 * the real one's. So the script's apt step runs: apt-get update, then apt-get install of a package
 * that is there already, a no-op for apt.
 */
const HIDING_DPKG_QUERY = `#!/bin/sh
for a in "$@"; do [ "$a" = rsync ] && { printf 'unknown ok not-installed'; exit 0; }; done
exec /usr/bin/dpkg-query "$@"
`;

const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));

/**
 * The provider package end to end (docs/ARCHITECTURE.md §13): the API serves the install script and
 * the bundle; the install line from the join token runs as root, exactly as a provider pastes it
 * (without sudo: the test is root already), and the host comes online.
 *
 * Isolation: the line runs in a private mount namespace (unshare --mount --propagation private)
 * where a scratch copy of /etc is bind-mounted over /etc, so useradd writes the copy's passwd and
 * group and the machine's users are untouched; --root puts /opt, /var/lib, /etc/virtuoso-agent.env,
 * the unit, the log and the pid file under a scratch root. The agent started there keeps the
 * namespace (and its /etc) alive. systemd is not PID 1 here and --root implies --no-systemd, so the
 * script takes its systemd-less run mode (start-stop-daemon: detached, as the virtuoso user, pid
 * file, log file); the unit is written all the same and checked below (systemd's own path cannot
 * run here). The machine has QEMU, openssh-server, rsync and vde2, so the script's apt step would
 * be skipped: the first install hides rsync from dpkg-query (HIDING_DPKG_QUERY, first on PATH) and
 * apt runs for real in the namespace, on the scratch /etc's sources (none: nothing is fetched) and
 * scratch lists, cache and log directories mounted over the machine's, so nothing of the machine's
 * apt state changes. The address detection (ip route get) runs in network namespaces of its own.
 */
describe('install-agent.sh on a scratch root', () => {
  let t: TestApp;
  let provider: Agent;
  let root: string;
  let etc: string;
  /** What the test's market serves: a copy of the built package, replaced by a newer one for the upgrade. */
  let served: string;
  let line: string;
  /** Scratch apt directories (lists, cache, log) and a bin directory with HIDING_DPKG_QUERY. */
  let apt: string;
  const pids = new Set<number>();

  /**
   * The install line, run in the namespace with the scratch /etc (asynchronously: the API it fetches
   * from is in this process). `hidingRsync`: with HIDING_DPKG_QUERY and the scratch apt directories.
   */
  async function install({ hidingRsync = false } = {}): Promise<string> {
    const sandbox = hidingRsync
      ? `mount --bind ${apt}/lists /var/lib/apt/lists && mount --bind ${apt}/cache /var/cache/apt && mount --bind ${apt}/log /var/log/apt && export PATH=${apt}/bin:$PATH && `
      : '';
    const { code, out } = await run(`${sandbox}${line}`, root);
    if (code !== 0) throw new Error(`the install line failed (${code}):\n${out}`);
    return out;
  }

  /** `command --root into` in a private mount namespace (and a new network namespace with `ownNetwork`) with the scratch /etc. */
  async function run(command: string, into: string, { ownNetwork = false } = {}): Promise<{ code: number | null; out: string }> {
    const script = `mount --bind "$1" /etc && ${command} --root "$2" 2>&1`;
    const namespaces = ['--mount', '--propagation', 'private', ...(ownNetwork ? ['--net'] : [])];
    const child = spawn('unshare', [...namespaces, 'bash', '-o', 'pipefail', '-c', script, 'install', etc, into], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const code = await new Promise<number | null>((done) => child.on('close', done));
    // The agent it started holds the pid file (whatever happened, so that afterAll ends it).
    if (existsSync(join(into, PID_FILE))) pids.add(Number(readFileSync(join(into, PID_FILE), 'utf8')));
    return { code, out };
  }

  async function agentRow(agentId: string) {
    const agents = (await provider.get('/api/agents').expect(200)).body as Array<{
      agentId?: string;
      id?: string;
      online: boolean;
      lastHeartbeatAt: string | null;
    }>;
    return agents.find((a) => (a.agentId ?? a.id) === agentId);
  }

  beforeAll(async () => {
    // The package as the build makes it (seconds; nothing to do when it is up to date).
    execFileSync(process.execPath, [join(REPO, 'tools', 'agent-package', 'build.mjs')], { stdio: ['ignore', 'inherit', 'inherit'] });
    served = mkdtempSync(join(tmpdir(), 'virtuoso-served-'));
    for (const f of ['install-agent.sh', 'virtuoso-agent.tar.gz', 'virtuoso-agent.tar.gz.sha256', 'VERSION']) copyFileSync(join(BUILT, f), join(served, f));
    t = await startApp({ listen: true, config: { agentPackageDir: served } });
    provider = await t.signUp('provider');
    // Short: the agent's data dir (under it) must leave room for its machines' unix socket paths.
    root = mkdtempSync('/tmp/vi-');
    chmodSync(root, 0o755); // the virtuoso user walks down to its files
    etc = mkdtempSync(join(tmpdir(), 'virtuoso-etc-'));
    execFileSync('cp', ['-a', '/etc/.', etc]);
    chmodSync(etc, 0o755); // mounted over /etc: everyone reads it
    // No apt sources in the scratch /etc: apt-get update fetches nothing.
    for (const f of ['apt/sources.list', 'apt/sources.list.d']) rmSync(join(etc, f), { recursive: true, force: true });
    mkdirSync(join(etc, 'apt/sources.list.d'));
    apt = mkdtempSync(join(tmpdir(), 'virtuoso-apt-'));
    for (const d of ['lists/partial', 'cache/archives/partial', 'log', 'bin']) mkdirSync(join(apt, d), { recursive: true });
    writeFileSync(join(apt, 'bin/dpkg-query'), HIDING_DPKG_QUERY, { mode: 0o755 });
  }, 120_000);

  afterAll(async () => {
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
    await eventually(async () => [...pids].every((pid) => !alive(pid)), 'the agents gone', 10_000).catch(() => undefined);
    if (root) rmSync(root, { recursive: true, force: true });
    if (etc) rmSync(etc, { recursive: true, force: true });
    if (served) rmSync(served, { recursive: true, force: true });
    if (apt) rmSync(apt, { recursive: true, force: true });
    await t?.close();
  });

  it('serves the script with this market as its default and the bundle with its sha256, without sign-in', async () => {
    const script = await t.anonymous().get('/install-agent.sh').buffer(true).parse(text).expect(200);
    expect(script.headers['content-type']).toMatch(/^text\/x-shellscript/);
    expect(script.body).toMatch(/^#!\/usr\/bin\/env bash\n/);
    expect(script.body).toContain(`DEFAULT_MARKET_URL='${t.url}'`);
    expect(script.body).not.toContain('@@VIRTUOSO_MARKET_URL@@');
    const tarball = await t
      .anonymous()
      .get('/downloads/virtuoso-agent.tar.gz')
      .buffer(true)
      .parse((res, done) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => done(null, Buffer.concat(chunks)));
      })
      .expect(200);
    const sum = await t.anonymous().get('/downloads/virtuoso-agent.tar.gz.sha256').expect(200);
    expect(sum.text).toBe(
      `${createHash('sha256')
        .update(tarball.body as Buffer)
        .digest('hex')}  virtuoso-agent.tar.gz\n`,
    );
  });

  it("names VIRTUOSO_PUBLIC_URL as the script's market when it is set, as the join command does", async () => {
    const behind = await startApp({ config: { publicUrl: 'https://market.example.com' } });
    try {
      const script = await behind.anonymous().get('/install-agent.sh').set('Host', 'internal:8080').buffer(true).parse(text).expect(200);
      expect(script.body).toContain("DEFAULT_MARKET_URL='https://market.example.com'");
    } finally {
      await behind.close();
    }
  });

  it('a market without a built package says so in a JSON 404', async () => {
    const bare = await startApp({ config: { agentPackageDir: join(root, 'no-package') } });
    try {
      for (const path of ['/install-agent.sh', '/downloads/virtuoso-agent.tar.gz', '/downloads/virtuoso-agent.tar.gz.sha256']) {
        const r = await bare.anonymous().get(path);
        expect(r.status, JSON.stringify({ path, text: r.text, type: r.headers['content-type'] })).toBe(404);
        expect(r.headers['content-type']).toMatch(/^application\/json/);
        expect(r.body.message, r.text).toMatch(/the provider package is not built on this server .*tools\/agent-package\/build\.mjs/);
      }
    } finally {
      await bare.close();
    }
  });

  it('refuses a first install without a token, a bad token or port, and a package that does not match its sha256, changing nothing', async () => {
    const fresh = mkdtempSync('/tmp/vi-');
    const tampered = mkdtempSync(join(tmpdir(), 'virtuoso-package-'));
    const other = await startApp({ listen: true, config: { agentPackageDir: tampered } });
    try {
      const noToken = await run(`curl -fsSL ${t.url}/install-agent.sh | bash -s -- --port 7999`, fresh);
      expect(noToken.code).toBe(1);
      expect(noToken.out).toContain('install-agent: --join TOKEN is required on the first install');
      const badToken = await run(`curl -fsSL ${t.url}/install-agent.sh | bash -s -- --join 'vj_a;b' --port 7999`, fresh);
      expect(badToken.code).toBe(1);
      expect(badToken.out).toContain('install-agent: --join: not a join token: vj_a;b');
      const badPort = await run(`curl -fsSL ${t.url}/install-agent.sh | bash -s -- --join vj_a --port 70000`, fresh);
      expect(badPort.code).toBe(1);
      expect(badPort.out).toContain('install-agent: not a TCP port: 70000');

      copyFileSync(join(BUILT, 'install-agent.sh'), join(tampered, 'install-agent.sh'));
      writeFileSync(join(tampered, 'virtuoso-agent.tar.gz'), 'not the package');
      writeFileSync(join(tampered, 'virtuoso-agent.tar.gz.sha256'), `${'0'.repeat(64)}  virtuoso-agent.tar.gz\n`);
      const bad = await run(`curl -fsSL ${other.url}/install-agent.sh | bash -s -- --join vj_unused --port 7999`, fresh);
      expect(bad.code).toBe(1);
      expect(bad.out).toContain('install-agent: the package does not match its sha256: not installed');

      expect(readdirSync(fresh)).toEqual([]);
      expect(uidIn(join(etc, 'passwd'), 'virtuoso')).toBeUndefined();
    } finally {
      await other.close();
      rmSync(fresh, { recursive: true, force: true });
      rmSync(tampered, { recursive: true, force: true });
    }
  });

  it('finds the address the market dials on the route to it (ip route get) in a network namespace with that route, and says when there is none', async () => {
    const fresh = mkdtempSync('/tmp/vi-');
    // Nothing answers at the market's address in the namespace: the download gives up after 2 s.
    const curlHome = mkdtempSync(join(tmpdir(), 'virtuoso-curl-'));
    writeFileSync(join(curlHome, '.curlrc'), 'connect-timeout = 2\n');
    const script = `CURL_HOME=${curlHome} bash ${join(served, 'install-agent.sh')} --market http://10.213.7.1:7000 --join vj_unused --port 7999`;
    try {
      // An interface with an address on the market's network (a veth pair: nobody at its other end).
      const route =
        'ip link set lo up && ip link add vi0 type veth peer name vi1 && ip addr add 10.213.7.2/24 dev vi0 && ip link set vi0 up && ip link set vi1 up';
      const routed = await run(`${route} && ${script}`, fresh, { ownNetwork: true });
      expect(routed.out).toContain('==> the market will dial this host at 10.213.7.2, its address on the route to 10.213.7.1 (--advertise HOST to choose)\n');
      expect(routed.out).toContain('==> downloading the agent from http://10.213.7.1:7000\n');
      expect(routed.code).not.toBe(0);

      const unrouted = await run(`ip link set lo up && ${script}`, fresh, { ownNetwork: true });
      expect(unrouted.code).toBe(1);
      expect(unrouted.out).toContain('install-agent: cannot tell which address the market should dial: give --advertise HOST');
      expect(readdirSync(fresh)).toEqual([]);
    } finally {
      rmSync(fresh, { recursive: true, force: true });
      rmSync(curlHome, { recursive: true, force: true });
    }
  });

  it('installs from the join token line, runs the agent as virtuoso and the host comes online; the same line again upgrades', async () => {
    const made = await provider.post('/api/agents/join-tokens').send({}).expect(201);
    const { token, agentPort, consolePort, installCommand } = made.body as { token: string; agentPort: number; consolePort: number; installCommand: string };
    expect(installCommand).toBe(`curl -fsSL ${t.url}/install-agent.sh | sudo bash -s -- --join ${token} --port ${agentPort} --console-port ${consolePort}`);
    // Exactly the line the Add host page shows, root already: without sudo.
    line = installCommand.replace('| sudo bash', '| bash');

    const first = await install({ hidingRsync: true });
    // The apt step ran for real: rsync "missing", apt installed it (it is there: a no-op for apt).
    expect(first).toContain('==> installing rsync\n');
    expect(first).toMatch(/^rsync is already the newest version/m);
    expect(existsSync(join(apt, 'lists/lock'))).toBe(true);
    // The systemd-less run mode: systemd is not PID 1 here (and --root implies it on a machine that runs systemd).
    expect(first).toMatch(/^==> (systemd is not running here|--root): the agent runs detached under the virtuoso user/m);
    const uid = uidIn(join(etc, 'passwd'), 'virtuoso');
    expect(uid).toBeDefined();
    expect(uidIn('/etc/passwd', 'virtuoso') === uid && existsSync('/etc/virtuoso-agent.env')).toBe(false);
    expect(readFileSync(join(etc, 'group'), 'utf8')).toMatch(/^virtuoso:/m);
    const data = join(root, DATA);
    for (const f of [data, join(data, 'agent.json'), join(root, 'var/log/virtuoso-agent.log')]) expect(statSync(f).uid, f).toBe(uid);
    expect(statSync(data).mode & 0o777).toBe(0o700);
    const pid = Number(readFileSync(join(root, PID_FILE), 'utf8'));
    expect(processUid(pid)).toBe(uid);
    const unit = readFileSync(join(root, 'etc/systemd/system/virtuoso-agent.service'), 'utf8');
    expect(unit).toContain('User=virtuoso');
    expect(unit).toContain(`ExecStart=${root}/opt/virtuoso-agent/current/bin/node ${root}/opt/virtuoso-agent/current/lib/agent.js`);
    expect(unit).toContain('KillMode=process');
    const env = readFileSync(join(root, 'etc/virtuoso-agent.env'), 'utf8');
    expect(env).toContain(`VIRTUOSO_FRONTEND_URL=${t.url}\n`);
    expect(env).toContain(`VIRTUOSO_AGENT_PORT=${agentPort}\n`);
    expect(env).not.toContain(token); // forgotten once joined
    const version = readFileSync(join(served, 'VERSION'), 'utf8').trim();
    expect(readFileSync(join(root, 'opt/virtuoso-agent/current/VERSION'), 'utf8').trim()).toBe(version);

    const identity = JSON.parse(readFileSync(join(data, 'agent.json'), 'utf8')) as { agentId: string; secret: string };
    const online = await eventually(async () => (await agentRow(identity.agentId))?.online, 'the installed agent online', 60_000);
    expect(online).toBe(true);

    // Again, with a newer package on the market: an upgrade. The agent restarts (a new process) from
    // the new version, keeps its identity and comes back online; the version before it stays.
    const next = `${version}-next`;
    repack(served, version, next);
    const restartedAt = new Date().toISOString();
    const second = await install();
    expect(second).toContain('stopping the running agent');
    expect(second).toContain('==> QEMU, openssh-server, rsync and vde2 are installed\n');
    const pid2 = Number(readFileSync(join(root, PID_FILE), 'utf8'));
    expect(pid2).not.toBe(pid);
    expect(alive(pid)).toBe(false);
    expect(processUid(pid2)).toBe(uid);
    expect(readlinkSync(join(root, 'opt/virtuoso-agent/current'))).toBe(next);
    expect(readlinkSync(`/proc/${pid2}/exe`)).toBe(join(root, 'opt/virtuoso-agent', next, 'bin/node'));
    expect(readdirSync(join(root, 'opt/virtuoso-agent')).sort()).toEqual(['current', version, next].sort());
    expect(JSON.parse(readFileSync(join(data, 'agent.json'), 'utf8'))).toMatchObject(identity);
    expect(uidIn(join(etc, 'passwd'), 'virtuoso')).toBe(uid);
    await eventually(
      async () => {
        const row = await agentRow(identity.agentId);
        return row?.online && row.lastHeartbeatAt! > restartedAt;
      },
      'the upgraded agent online again',
      60_000,
    );
    const agents = (await provider.get('/api/agents').expect(200)).body as unknown[];
    expect(agents).toHaveLength(1);
  }, 300_000);
});
