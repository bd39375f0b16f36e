import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAgentAddressPolicy } from '../src/agents/agent-address';
import { AgentProcess, eventually } from './agent-process';
import { Agent, TestApp, addAgentHost, startApp } from './helpers';

const execFileP = promisify(execFile);
type User = Agent & { handle: string; userId: string };
type MachineNetwork = {
  mac: string;
  privateAddress: string | null;
  subnet: string;
  forwards: Array<{ guestPort: number; hostPort: number }>;
  publicHost: string | null;
  sshCommand: string | null;
};

/**
 * Guest networking end to end (docs/ARCHITECTURE.md §11): the API and two REAL provider agents,
 * each in a network namespace of its own, the two joined by a veth pair (their "provider link");
 * each namespace also has a veth to this one, the front-end's. Real tiny-linux guests on each get
 * their private addresses from the market through the NoCloud seed, and the buyer reaches them over
 * ssh through their forwarded ports. Every check runs a real command in a real guest, over ssh.
 */
describe.sequential('guest networking across two agents in two network namespaces', () => {
  const tag = `vzn${process.pid % 10000}`;
  const s = process.pid % 250;
  const nsA = `${tag}a`;
  const nsB = `${tag}b`;
  /** The provider link between the two namespaces: the agents advertise these addresses. */
  const linkA = `10.233.${s}.1`;
  const linkB = `10.233.${s}.2`;
  const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });
  const work = mkdtempSync('/tmp/vznet-');
  const buyerKey = join(work, 'buyer');
  const strangerKey = join(work, 'stranger');
  const otherBuyerKey = join(work, 'other');

  let t: TestApp;
  let provider: User;
  let buyer: User;
  let otherBuyer: User;
  let a: AgentProcess;
  let b: AgentProcess;
  let hostA: { id: string; name: string };
  let hostB: { id: string; name: string };
  const machines: Record<string, { id: string; agent: AgentProcess; owner: User; key: string }> = {};
  const servers: ChildProcess[] = [];

  const network = async (name: string): Promise<MachineNetwork> => {
    const m = machines[name];
    const response = await m.owner.get(`/api/machines/${m.id}/network`);
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    return response.body;
  };
  /** Runs `command` in the guest over ssh, through its forwarded port, with `key`. */
  const sshArgs = (net: MachineNetwork, key: string) => {
    const port = net.forwards.find((f) => f.guestPort === 22)!.hostPort;
    return [
      '-i',
      key,
      '-p',
      String(port),
      '-o',
      'StrictHostKeyChecking=no',
      '-o',
      'UserKnownHostsFile=/dev/null',
      '-o',
      'BatchMode=yes',
      '-o',
      'ConnectTimeout=10',
      '-o',
      'LogLevel=ERROR',
      `root@${net.publicHost}`,
    ];
  };
  const inGuest = async (name: string, command: string, key = machines[name].key): Promise<string> => {
    const net = await network(name);
    const { stdout } = await execFileP('ssh', [...sshArgs(net, key), command], { timeout: 60_000 });
    return stdout;
  };
  const ready = async (name: string) => {
    const m = machines[name];
    await m.agent.waitForSerial(m.id, /VIRTUOSO-SSHD-READY/, 90_000);
    await eventually(async () => (await network(name)).sshCommand !== null, `${name}'s forwarded ssh port`);
  };

  async function register(owner: User, name: string, host: { id: string }, agent: AgentProcess, key: string) {
    const tiny = ((await t.anonymous().get('/api/catalog')).body as Array<{ id: string; name: string }>).find((entry) => entry.name === 'tiny-linux')!;
    const registered = await owner.post('/api/machines').send({
      name,
      processor: 'x',
      speed: 500,
      os: 'tiny-linux',
      memory: 128,
      disk: 64,
      askedStoragePerMonth: '100',
      askedRunningPerHour: '100',
      configurationId: tiny.id,
    });
    expect(registered.status, JSON.stringify(registered.body)).toBe(201);
    const stored = await owner.post(`/api/machines/${registered.body.id}/store`).send({ hostId: host.id });
    expect(stored.status, JSON.stringify(stored.body)).toBe(200);
    machines[name] = { id: registered.body.id, agent, owner, key };
  }
  const start = async (name: string) => {
    const m = machines[name];
    const response = await m.owner.post(`/api/machines/${m.id}/start`);
    expect(response.status, JSON.stringify(response.body)).toBe(200);
  };

  beforeAll(async () => {
    for (const key of [buyerKey, strangerKey, otherBuyerKey]) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    ip('netns', 'add', nsA);
    ip('netns', 'add', nsB);
    // This namespace ↔ each agent's (the front-end's links), and A ↔ B (the provider link).
    const pairs: Array<[string, string | null, string, string, string, string]> = [
      [`${tag}ra`, null, `${tag}ar`, nsA, `10.231.${s}.1`, `10.231.${s}.2`],
      [`${tag}rb`, null, `${tag}br`, nsB, `10.232.${s}.1`, `10.232.${s}.2`],
      [`${tag}ab`, nsA, `${tag}ba`, nsB, linkA, linkB],
    ];
    for (const [left, leftNs, right, rightNs, leftAddress, rightAddress] of pairs) {
      ip('link', 'add', left, 'type', 'veth', 'peer', 'name', right);
      if (leftNs) ip('link', 'set', left, 'netns', leftNs);
      ip('link', 'set', right, 'netns', rightNs);
      ip(...(leftNs ? ['-n', leftNs] : []), 'addr', 'add', `${leftAddress}/24`, 'dev', left);
      ip(...(leftNs ? ['-n', leftNs] : []), 'link', 'set', left, 'up');
      ip('-n', rightNs, 'addr', 'add', `${rightAddress}/24`, 'dev', right);
      ip('-n', rightNs, 'link', 'set', right, 'up');
    }
    for (const ns of [nsA, nsB]) ip('-n', ns, 'link', 'set', 'lo', 'up');
    // The front-end (and the buyer's ssh) reach each agent at its provider-link address through its
    // own veth: an address of the namespace it arrives in, so nothing is forwarded.
    ip('route', 'add', `${linkA}/32`, 'via', `10.231.${s}.2`);
    ip('route', 'add', `${linkB}/32`, 'via', `10.232.${s}.2`);

    // The agents join through their front-end links but advertise their provider-link addresses,
    // which the operator allows (VIRTUOSO_AGENT_ADDRESSES).
    const agentAddresses = parseAgentAddressPolicy(`10.233.${s}.0/24`, []);
    t = await startApp({ listen: true, listenHost: '0.0.0.0', config: { stopTimeoutMs: 15_000, agentAddresses } });
    const port = new URL(t.url).port;
    provider = await t.signUp('provider');
    buyer = await t.signUp('buyer');
    otherBuyer = await t.signUp('buyer');
    const agentIn = (ns: string, frontend: string, advertise: string, range: string) =>
      AgentProcess.join(t, provider, {
        transfer: true,
        heartbeatMs: 500,
        netns: { name: ns, address: '0.0.0.0', frontendUrl: `http://${frontend}:${port}` },
        extraArgs: ['--advertise', advertise, '--port-range', range, '--outbound', 'allow'],
      });
    [a, b] = await Promise.all([agentIn(nsA, `10.231.${s}.1`, linkA, '22000-22009'), agentIn(nsB, `10.232.${s}.1`, linkB, '22100-22109')]);
    hostA = await addAgentHost(provider, a.agentId, { name: 'net-a' });
    hostB = await addAgentHost(provider, b.agentId, { name: 'net-b' });
    for (const [user, key] of [
      [buyer, buyerKey],
      [otherBuyer, otherBuyerKey],
    ] as const) {
      const added = await user.post('/api/account/ssh-keys').send({ name: 'test', publicKey: readFileSync(`${key}.pub`, 'utf8') });
      expect(added.status, JSON.stringify(added.body)).toBe(201);
    }
    await eventually(async () => {
      const hosts = (await provider.get('/api/hosts')).body as Array<{ id: string; network: { vnet: boolean } | null }>;
      return [hostA.id, hostB.id].every((id) => hosts.find((h) => h.id === id)?.network?.vnet === true);
    }, 'both hosts reporting they can carry private networks');
    await register(buyer, 'alpha', hostA, a, buyerKey);
    await register(buyer, 'beta', hostB, b, buyerKey);
    await register(otherBuyer, 'gamma', hostA, a, otherBuyerKey);
    // Three guests boot at once (TCG).
    await Promise.all(['alpha', 'beta', 'gamma'].map(start));
    await Promise.all(['alpha', 'beta', 'gamma'].map(ready));
  }, 240_000);

  afterAll(async () => {
    for (const server of servers) server.kill('SIGKILL');
    await Promise.all([a?.cleanup(), b?.cleanup()]);
    await t?.close();
    for (const ns of [nsA, nsB]) {
      try {
        ip('netns', 'del', ns);
      } catch {
        /* already gone */
      }
    }
    rmSync(work, { recursive: true, force: true });
  }, 60_000);

  it("each guest has the private address the market gave it (and its MAC), in its buyer's subnet", async () => {
    const [alpha, beta, gamma] = await Promise.all(['alpha', 'beta', 'gamma'].map(network));
    expect(alpha.subnet).toBe(beta.subnet);
    expect(gamma.subnet).not.toBe(alpha.subnet);
    expect(alpha.privateAddress).not.toBe(beta.privateAddress);
    expect(alpha.publicHost).toBe(linkA);
    expect(beta.publicHost).toBe(linkB);
    expect(alpha.sshCommand).toBe(`ssh -p ${alpha.forwards.find((f) => f.guestPort === 22)!.hostPort} root@${linkA}`);
    for (const [name, net] of [
      ['alpha', alpha],
      ['beta', beta],
    ] as const) {
      const shown = await inGuest(name, 'ip -o -4 addr show; cat /sys/class/net/*/address');
      expect(shown).toContain(`${net.privateAddress}/24`);
      expect(shown).toContain(net.mac);
    }
  }, 120_000);

  it('ssh through the forwarded port takes the buyer’s key and refuses another', async () => {
    expect((await inGuest('alpha', 'cat /etc/hostname')).trim()).toBe('alpha');
    await expect(inGuest('alpha', 'true', strangerKey)).rejects.toThrow(/Permission denied/);
    // Another buyer's key opens only that buyer's machine.
    await expect(inGuest('alpha', 'true', otherBuyerKey)).rejects.toThrow(/Permission denied/);
  }, 120_000);

  it('the two guests, on two agents, ping each other across the segment and talk TCP', async () => {
    const beta = await network('beta');
    const alpha = await network('alpha');
    expect(await inGuest('alpha', `ping -c 3 -W 5 ${beta.privateAddress}`)).toMatch(/3 packets received/);
    expect(await inGuest('beta', `ping -c 3 -W 5 ${alpha.privateAddress}`)).toMatch(/3 packets received/);
    await inGuest('beta', 'rm -f /tmp/got; (nc -l -p 7000 > /tmp/got 2>&1 </dev/null &) ; sleep 1');
    await inGuest('alpha', `echo hello-across-the-segment | nc -w 5 ${beta.privateAddress} 7000`);
    await eventually(async () => (await inGuest('beta', 'cat /tmp/got')).includes('hello-across-the-segment'), 'the line at beta', 20_000);
  }, 120_000);

  it("the buyer's own computer joins with the downloaded join.sh (here: agent B's namespace) and reaches both guests", async () => {
    const [alpha, beta] = await Promise.all(['alpha', 'beta'].map(network));
    const script = await buyer.get('/api/network/join.sh?device=1');
    expect(script.status, script.text).toBe(200);
    const file = join(work, 'join.sh');
    writeFileSync(file, script.text);
    const device = ((await buyer.get('/api/network')).body as { deviceAddresses: string[] }).deviceAddresses[0];
    // As the buyer would run it (as root), with their key; it stays in the foreground until stopped.
    const joined = spawn('ip', ['netns', 'exec', nsB, 'bash', file], {
      env: { ...process.env, VIRTUOSO_SSH_IDENTITY: buyerKey },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let out = '';
    joined.stdout!.on('data', (d: Buffer) => (out += d));
    joined.stderr!.on('data', (d: Buffer) => (out += d));
    try {
      await eventually(async () => out.includes(`joined as ${device}/24`), 'join.sh to make its interface', 20_000);
      for (const peer of [alpha, beta]) {
        await eventually(
          // busybox's ping (busybox-static is installed for the guest image; iputils may not be).
          async () =>
            (await execFileP('ip', ['netns', 'exec', nsB, 'busybox', 'ping', '-c', '1', '-W', '2', peer.privateAddress!])).stdout.includes(
              '1 packets received',
            ),
          `the computer to reach ${peer.privateAddress}: ${out}`,
          60_000,
        );
      }
      // And the guests see the computer at its device address.
      expect(await inGuest('alpha', `ping -c 2 -W 5 ${device}`)).toMatch(/2 packets received/);
    } finally {
      // Ctrl-C at the buyer's terminal: the signal reaches the script's process group.
      process.kill(-joined.pid!, 'SIGINT');
      await new Promise((done) => (joined.exitCode !== null ? done(undefined) : joined.once('exit', done)));
    }
    // It leaves nothing behind: its interface is gone.
    expect(execFileSync('ip', ['-n', nsB, 'link'], { encoding: 'utf8' })).not.toContain('vnet0');
  }, 120_000);

  it("another buyer's machine on the same agent cannot see the segment: no ARP reply, no frames", async () => {
    const alpha = await network('alpha');
    const beta = await network('beta');
    // gamma puts an address of the first buyer's subnet on its private NIC and asks for alpha's MAC.
    const intruder = alpha.subnet.replace(/\.0\/24$/, '.250');
    await inGuest('gamma', `ip addr add ${intruder}/24 dev eth0`);
    const rx = async () => Number((await inGuest('gamma', 'cat /sys/class/net/eth0/statistics/rx_packets')).trim());
    const before = await rx();
    await expect(inGuest('gamma', `arping -c 3 -w 4 -I eth0 ${alpha.privateAddress}`)).rejects.toThrow();
    // Meanwhile alpha broadcasts on its segment (ARP for an address nobody has) and talks to beta.
    await inGuest('alpha', `ping -c 2 -W 2 ${alpha.subnet.replace(/\.0\/24$/, '.249')} || true; ping -c 2 -W 3 ${beta.privateAddress}`);
    expect(await rx()).toBe(before);
  }, 120_000);

  it("the guest's outbound request reaches a server on its host's loopback (outbound 'allow')", async () => {
    const token = `token-${process.pid}`;
    const seen: string[] = [];
    const server = spawn('nsenter', [
      `--net=/var/run/netns/${nsA}`,
      process.execPath,
      '-e',
      `require('http').createServer((q, r) => { console.log('GET ' + q.url); r.end('pong ' + q.url); }).listen(18080, '127.0.0.1', () => console.log('listening'))`,
    ]);
    servers.push(server);
    server.stdout!.on('data', (d: Buffer) => seen.push(d.toString()));
    await eventually(async () => seen.join('').includes('listening'), 'the loopback server');
    const out = await inGuest('alpha', `wget -q -O - http://10.0.2.2:18080/${token}`);
    expect(out).toContain(`pong /${token}`);
    expect(seen.join('')).toContain(`GET /${token}`);
  }, 60_000);

  it('beta migrates to agent A and alpha reaches it again at the same address, with the same MAC', async () => {
    const before = await network('beta');
    const m = machines.beta;
    const stopped = await buyer.post(`/api/machines/${m.id}/stop`);
    expect(stopped.status, JSON.stringify(stopped.body)).toBe(200);
    const started = await buyer.post(`/api/machines/${m.id}/migrate`).send({ hostId: hostA.id, method: 'RSYNC' });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    await eventually(
      async () => {
        const mig = (await buyer.get(`/api/machines/${m.id}/migration`)).body as { phase: string; cleanedUp: boolean };
        if (mig.phase === 'rolled-back') throw new Error(`the migration rolled back: ${JSON.stringify(mig)}`);
        return mig.phase === 'committed' && mig.cleanedUp;
      },
      'the migration to commit',
      90_000,
    );
    machines.beta.agent = a;
    await start('beta');
    await ready('beta');
    const after = await network('beta');
    expect(after.privateAddress).toBe(before.privateAddress);
    expect(after.mac).toBe(before.mac);
    expect(after.publicHost).toBe(linkA);
    expect(await inGuest('alpha', `ping -c 3 -W 5 ${before.privateAddress}`)).toMatch(/3 packets received/);
    expect(await inGuest('beta', 'cat /sys/class/net/eth0/address')).toContain(before.mac);
  }, 240_000);
});
