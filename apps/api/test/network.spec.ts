import { execFileSync, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type VmResumeCommand, type VmStartCommand, type VnetSyncCommand, sign } from '@virtuoso/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSource } from 'typeorm';
import { AgentGateway } from '../src/agents/agent.gateway';
import { Agent as AgentRow } from '../src/agents/agent.entity';
import { Machine } from '../src/machines/machine.entity';
import { NetworkAgentRow } from '../src/network/network-agent.entity';
import { NetworkSync } from '../src/network/network-sync.service';
import { NetworkService } from '../src/network/network.service';
import { isUniqueViolation } from '../src/common/errors';
import { AgentProcess, eventually } from './agent-process';
import { Agent, TestApp, addAgentHost, startApp, virt8, win2000Pro } from './helpers';

type User = Agent & { handle: string; userId: string };

/** The short network name the join script's switch directory carries. */
const network0 = (script: string) => /SWITCH=\/run\/virtuoso-vnet-(\w+)/.exec(script)![1];

/** A fresh OpenSSH key pair made by ssh-keygen: its public line and what ssh-keygen -l prints. */
function newKey(comment = 'me@laptop'): { line: string; fingerprint: string } {
  const dir = mkdtempSync(join(tmpdir(), 'vz-key-'));
  try {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', join(dir, 'k')]);
    const line = readFileSync(join(dir, 'k.pub'), 'utf8').trim();
    const fingerprint = execFileSync('ssh-keygen', ['-l', '-f', join(dir, 'k.pub')], { encoding: 'utf8' }).split(' ')[1];
    return { line, fingerprint };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('ssh keys on the account', () => {
  let t: TestApp;
  let buyer: User;

  beforeAll(async () => {
    t = await startApp();
    buyer = await t.signUp('buyer');
  });
  afterAll(async () => {
    await t?.close();
  });

  it('adds a key with its type and the fingerprint ssh-keygen prints, lists it, removes it', async () => {
    const key = newKey();
    const added = await buyer.post('/api/account/ssh-keys').send({ name: ' laptop ', publicKey: `${key.line}\n` });
    expect(added.status, JSON.stringify(added.body)).toBe(201);
    expect(added.body).toMatchObject({ name: 'laptop', publicKey: key.line, type: 'ssh-ed25519', fingerprint: key.fingerprint });
    const listed = await buyer.get('/api/account/ssh-keys');
    expect(listed.body).toEqual([added.body]);
    expect((await buyer.delete(`/api/account/ssh-keys/${added.body.id}`)).status).toBe(204);
    expect((await buyer.get('/api/account/ssh-keys')).body).toEqual([]);
    expect((await buyer.delete(`/api/account/ssh-keys/${added.body.id}`)).status).toBe(404);
  });

  it('refuses a wrong format, a mangled key, a type that lies, a too long line, a private key and a duplicate, with a 4xx naming the problem, changing nothing', async () => {
    const key = newKey();
    expect((await buyer.post('/api/account/ssh-keys').send({ name: 'first', publicKey: key.line })).status).toBe(201);
    const before = await t.snapshot();
    const [type, body] = key.line.split(' ');
    const rsaBlob = Buffer.concat([Buffer.from([0, 0, 0, 7]), Buffer.from('ssh-rsa'), Buffer.alloc(64, 1)]).toString('base64');
    const cases: Array<[Record<string, unknown>, number, RegExp, string?]> = [
      [{ name: 'x', publicKey: 'not a key' }, 400, /publicKey must be one OpenSSH public key line/, 'publicKey'],
      [{ name: 'x', publicKey: `${type} ${body.slice(0, 20)}` }, 400, /publicKey: the key part is/, 'publicKey'],
      [{ name: 'x', publicKey: `ssh-ed25519 ${rsaBlob}` }, 400, /a ssh-rsa key, not ssh-ed25519/, 'publicKey'],
      [{ name: 'x', publicKey: `ssh-ed25519 ${'A'.repeat(16_400)}` }, 400, /publicKey must be at most 16384 characters/, 'publicKey'],
      [
        { name: 'x', publicKey: '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----' },
        400,
        /publicKey must be one OpenSSH/,
        'publicKey',
      ],
      [{ name: '', publicKey: newKey().line }, 400, /name must be 1 to 80 characters/, 'name'],
      [{ name: 'again', publicKey: key.line.replace('me@laptop', 'other comment') }, 409, /already on your account as "first"/],
    ];
    for (const [sent, status, message, field] of cases) {
      const response = await buyer.post('/api/account/ssh-keys').send(sent);
      expect(response.status, JSON.stringify(response.body)).toBe(status);
      expect(response.body.message).toMatch(message);
      if (field) expect(Object.keys(response.body.fields ?? {})).toContain(field);
    }
    expect(await t.snapshot()).toEqual(before);
  });

  it('holds at most 20 keys per user: the 21st is a 409 naming the quota', async () => {
    const other = await t.signUp('buyer');
    for (let i = 0; i < 20; i++) expect((await other.post('/api/account/ssh-keys').send({ name: `k${i}`, publicKey: newKey().line })).status).toBe(201);
    const over = await other.post('/api/account/ssh-keys').send({ name: 'k21', publicKey: newKey().line });
    expect(over.status).toBe(409);
    expect(over.body.message).toMatch(/quota sshKeys reached: a user may have at most 20 ssh keys/);
    expect((await other.get('/api/account/ssh-keys')).body).toHaveLength(20);
    // Keys are one user's: the same key on another account is fine, and one user cannot remove another's.
    const mine = (await other.get('/api/account/ssh-keys')).body[0];
    expect((await buyer.post('/api/account/ssh-keys').send({ name: 'shared', publicKey: mine.publicKey })).status).toBe(201);
    expect((await buyer.delete(`/api/account/ssh-keys/${mine.id}`)).status).toBe(404);
  });
});

describe("a buyer's private network, addresses and forwarded ports", () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  const register = async (buyer: Agent, name = 'web-1') => {
    const response = await buyer.post('/api/machines').send(win2000Pro({ name }));
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    return response.body as { id: string };
  };

  it('each buyer gets a network of their own with a distinct subnet, made on first need, and device addresses .2 to .9', async () => {
    const a = await t.signUp('buyer');
    const b = await t.signUp('buyer');
    const na = await a.get('/api/network');
    const nb = await b.get('/api/network');
    expect(na.status).toBe(200);
    expect(na.body.subnet).toMatch(/^10\.64\.\d+\.0\/24$/);
    expect(nb.body.subnet).not.toBe(na.body.subnet);
    expect(nb.body.id).not.toBe(na.body.id);
    // The same network on every call.
    expect((await a.get('/api/network')).body).toEqual(na.body);
    const base = na.body.subnet.replace(/0\/24$/, '');
    expect(na.body).toMatchObject({ hubHostName: null, members: [], deviceAddresses: [2, 3, 4, 5, 6, 7, 8, 9].map((n) => `${base}${n}`) });
  });

  it('addresses: assigned lowest free, unique in the network, kept, freed on delete (as a start assigns them)', async () => {
    const buyer = await t.signUp('buyer');
    const network = t.app.get(NetworkService);
    const dataSource = t.app.get(DataSource);
    const ids = [(await register(buyer, 'a')).id, (await register(buyer, 'b')).id, (await register(buyer, 'c')).id];
    const assign = async (id: string) =>
      dataSource.transaction(async (em) => {
        const machine = await em.findOneByOrFail(Machine, { id });
        const changes = await network.assignAddress(em, machine);
        if (Object.keys(changes).length) await em.update(Machine, { id }, changes);
        return (await em.findOneByOrFail(Machine, { id })).privateAddress;
      });
    const subnet = (await buyer.get('/api/network')).body.subnet as string;
    const base = subnet.replace(/0\/24$/, '');
    expect(await assign(ids[0])).toBe(`${base}10`);
    expect(await assign(ids[1])).toBe(`${base}11`);
    // Kept: a second start does not move it.
    expect(await assign(ids[0])).toBe(`${base}10`);
    // Deleting a registered machine frees its address; the next machine gets it.
    expect((await buyer.delete(`/api/machines/${ids[0]}`)).status).toBe(204);
    expect((await dataSource.getRepository(Machine).findOneByOrFail({ id: ids[0] })).privateAddress).toBeNull();
    expect(await assign(ids[2])).toBe(`${base}10`);
    // The database refuses a second machine at an address of the same network.
    await expect(dataSource.getRepository(Machine).update({ id: ids[1] }, { privateAddress: `${base}10` })).rejects.toSatisfy(isUniqueViolation);

    const members = (await buyer.get('/api/network')).body.members as Array<{ name: string; address: string }>;
    expect(members.map((m) => [m.name, m.address])).toEqual([
      ['b', `${base}11`],
      ['c', `${base}10`],
    ]);
    const net = await buyer.get(`/api/machines/${ids[1]}/network`);
    expect(net.status).toBe(200);
    expect(net.body).toMatchObject({
      privateAddress: `${base}11`,
      subnet,
      forwardPorts: [22],
      forwards: [],
      publicHost: null,
      sshCommand: null,
      outbound: null,
    });
    expect(net.body.mac).toMatch(/^52:54:00:/);
  });

  it("PUT ports sets the extra forwarded ports; 22, duplicates, bad ports, more than 7 and another buyer's machine are refused, changing nothing", async () => {
    const buyer = await t.signUp('buyer');
    const other = await t.signUp('buyer');
    const machine = await register(buyer);
    const set = await buyer.put(`/api/machines/${machine.id}/network/ports`).send({ ports: [80, 443] });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    expect(set.body.forwardPorts).toEqual([22, 80, 443]);
    expect((await buyer.get(`/api/machines/${machine.id}/network`)).body.forwardPorts).toEqual([22, 80, 443]);

    const before = await t.snapshot();
    const cases: Array<[unknown, number, RegExp]> = [
      [{ ports: [22, 80] }, 400, /ports must not hold 22: ssh is always forwarded/],
      [{ ports: [80, 80] }, 400, /ports holds 80 twice/],
      [{ ports: [0] }, 400, /each of ports must be at least 1/],
      [{ ports: [65536] }, 400, /each of ports must be at most 65535/],
      [{ ports: ['80'] }, 400, /each of ports must be a whole number/],
      [{ ports: [1, 2, 3, 4, 5, 6, 7, 8] }, 400, /ports must hold at most 7 ports/],
      [{ ports: 80 }, 400, /ports must be a list of TCP ports/],
      [{}, 400, /ports must be a list/],
    ];
    for (const [body, status, message] of cases) {
      const response = await buyer.put(`/api/machines/${machine.id}/network/ports`).send(body as object);
      expect(response.status, JSON.stringify(response.body)).toBe(status);
      expect(response.body.message).toMatch(message);
      expect(Object.keys(response.body.fields ?? {})).toContain('ports');
    }
    expect((await other.put(`/api/machines/${machine.id}/network/ports`).send({ ports: [8080] })).status).toBe(404);
    expect((await other.get(`/api/machines/${machine.id}/network`)).status).toBe(404);
    expect(await t.snapshot()).toEqual(before);
  });

  it('join.sh: 409 without an ssh key, 409 without a running machine, 400 for a device outside 1 to 8', async () => {
    const buyer = await t.signUp('buyer');
    const noKey = await buyer.get('/api/network/join.sh?device=1');
    expect(noKey.status).toBe(409);
    expect(noKey.body.message).toMatch(/your account has no ssh key: add one on the account page first/);
    expect((await buyer.post('/api/account/ssh-keys').send({ name: 'laptop', publicKey: newKey().line })).status).toBe(201);
    const noHub = await buyer.get('/api/network/join.sh');
    expect(noHub.status).toBe(409);
    expect(noHub.body.message).toMatch(/none of your machines runs on a host that can take your computer/);
    for (const device of ['0', '9', 'x', '1.5']) {
      const bad = await buyer.get(`/api/network/join.sh?device=${device}`);
      expect(bad.status, device).toBe(400);
      expect(Object.keys(bad.body.fields ?? {})).toContain('device');
    }
  });

  it('join.sh for a network whose machines run on a host that can be the hub: device address, pinned hub host key, ssh to the hub; run, it makes the tap and leaves nothing behind', async () => {
    const provider = await t.signUp('provider');
    const buyer = await t.signUp('buyer');
    const key = newKey();
    await buyer.post('/api/account/ssh-keys').send({ name: 'laptop', publicKey: key.line });
    const machine = await register(buyer);
    const dataSource = t.app.get(DataSource);
    // A host whose agent reported VDE and a transfer sshd, running the buyer's machine (no process behind it: the script only reads the database).
    const agentId = randomUUID();
    const hostKey = newKey('hub').line.split(' ').slice(0, 2).join(' ');
    const now = new Date().toISOString();
    await dataSource.getRepository(AgentRow).insert({
      id: agentId,
      providerId: provider.userId,
      secret: 'stand-in',
      agentHost: 'hub.example.net',
      agentPort: 9,
      consolePort: 9,
      facts: JSON.stringify({
        bogomips: 8000,
        cpus: 2,
        memoryMb: 2048,
        freeDiskMb: 20000,
        accelerator: 'tcg',
        agentVersion: '1',
        hostname: 'hub',
        network: { publicHost: 'hub.example.net', portRange: { first: 20000, last: 20999 }, portsInUse: 1, outbound: 'allow', vnet: true },
      }),
      vms: '[]',
      lastHeartbeatAt: now,
      transferSshPort: 2222,
      transferSshUser: 'virtuoso',
      transferHostKey: hostKey,
      transferFingerprint: 'SHA256:x',
      joinedAt: now,
    } as AgentRow);
    const host = await provider
      .post('/api/hosts')
      .send({ ...virt8({ name: 'hubhost', speed: 8000, storage: 20000 }), agentId, agentHost: undefined, agentPort: undefined });
    expect(host.status, JSON.stringify(host.body)).toBe(201);
    expect(host.body.network).toEqual({
      publicHost: 'hub.example.net',
      portRange: { first: 20000, last: 20999 },
      portsInUse: 1,
      outbound: 'allow',
      vnet: true,
    });
    await dataSource.getRepository(Machine).update({ id: machine.id }, { state: 'running', hostId: host.body.id, privateAddress: null });
    const subnet = (await buyer.get('/api/network')).body.subnet as string;
    const base = subnet.replace(/0\/24$/, '');
    await dataSource.getRepository(Machine).update({ id: machine.id }, { privateAddress: `${base}10`, forwards: [{ guestPort: 22, hostPort: 20007 }] });

    const script = await buyer.get('/api/network/join.sh?device=3');
    expect(script.status, script.text).toBe(200);
    expect(script.headers['content-type']).toMatch(/^text\/x-shellscript/);
    expect(script.headers['content-disposition']).toMatch(/filename="join.sh"/);
    expect(script.text).toMatch(/^#!\/usr\/bin\/env bash\n/);
    expect(script.text).toContain(`ADDRESS='${base}4/24'`);
    expect(script.text).toContain(`'[hub.example.net]:2222 ${hostKey}'`);
    expect(script.text).toContain("HUB_USER='virtuoso'");
    expect(script.text).toContain('apt-get install -y vde2 openssh-client');
    expect(script.text).toMatch(/dpipe .*vde_plug "\$SWITCH" = .*ssh .*-o StrictHostKeyChecking=yes/s);
    expect(script.text).toContain(key.fingerprint);
    // bash parses it.
    execFileSync('bash', ['-n'], { input: script.text });
    // Run as root in a network namespace of its own (no route to the hub): it makes the switch and
    // the tap with the device address, tries the hub over ssh, and leaves nothing behind.
    const run = spawnSync('unshare', ['-n', 'bash', '-c', `${script.text.replace('echo "joined', 'ip -br addr show dev "$TAP"; echo "joined')}`], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.stdout).toMatch(new RegExp(`^vnet0\\s+\\S+\\s+${base.replace(/\./g, '\\.')}4/24`, 'm'));
    expect(run.stdout).toContain('plugging into the hub hub.example.net:2222');
    expect(run.stderr).toMatch(/ssh: Could not resolve hostname hub.example.net/);
    expect(run.status).not.toBe(0);
    expect(readdirSync('/run').filter((name) => name === `virtuoso-vnet-${network0(script.text)}`)).toEqual([]);

    // The network page names the hub and its members; the machine page gives the ssh command.
    const network = (await buyer.get('/api/network')).body;
    expect(network.hubHostName).toBe('hubhost');
    expect(network.members).toEqual([
      { machineId: machine.id, name: 'web-1', address: `${base}10`, mac: expect.any(String), state: 'running', hostName: 'hubhost' },
    ]);
    const net = (await buyer.get(`/api/machines/${machine.id}/network`)).body;
    expect(net).toMatchObject({
      publicHost: 'hub.example.net',
      outbound: 'allow',
      sshCommand: 'ssh -p 20007 root@hub.example.net',
      forwards: [{ guestPort: 22, hostPort: 20007 }],
    });
    // The sync skips nothing it should not: the stand-in agent cannot be reached, which is logged and retried, never thrown.
    const pass = await t.app.get(NetworkSync).runPass();
    expect(pass.failed).toEqual([agentId]);
    expect(await dataSource.getRepository(NetworkAgentRow).count()).toBe(0);
  });
});

/**
 * The machine's network through a REAL provider agent process (blank QEMU machines): what vm.start
 * and vm.resume carry (seen on the way to the agent, which validates it and runs the machine), the
 * forwarded ports its heartbeats report, and what a stop, a suspend and a delete do to them.
 */
describe('a machine network with a real agent', () => {
  let t: TestApp;
  let provider: User;

  beforeAll(async () => {
    // Heartbeats may be rare in the sync test below: hosts stay online meanwhile.
    t = await startApp({ listen: true, config: { agentOfflineMs: 3_600_000 } });
    provider = await t.signUp('provider');
  });
  afterAll(async () => {
    await t?.close();
  });

  /** Every vm.start and vm.resume the API sends, as sent (the real gateway carries them on to the agent). */
  const recordCommands = () => {
    const gateway = t.app.get(AgentGateway);
    const sent: Array<{ method: 'start' | 'resume'; command: VmStartCommand | VmResumeCommand }> = [];
    const start = gateway.startVm.bind(gateway);
    const resume = gateway.resumeVm.bind(gateway);
    gateway.startVm = (target, command) => (sent.push({ method: 'start', command }), start(target, command));
    gateway.resumeVm = (target, command) => (sent.push({ method: 'resume', command }), resume(target, command));
    return { sent, restore: () => Object.assign(gateway, { startVm: start, resumeVm: resume }) };
  };
  const secretOf = (a: AgentProcess) => JSON.parse(readFileSync(join(a.dataDir, 'agent.json'), 'utf8')).secret as string;

  it('start sends the private address, ssh + extra ports, the account keys and a host name; forwards come from heartbeats, go at stop, suspend and a crash, and are asked for again at the next start; a delete frees the address', async () => {
    const buyer = await t.signUp('buyer');
    const other = await t.signUp('buyer');
    const key = newKey();
    expect((await buyer.post('/api/account/ssh-keys').send({ name: 'laptop', publicKey: key.line })).status).toBe(201);
    // With a transfer sshd (and VDE) the host can carry the buyer's segment: the start names it.
    const agent = await AgentProcess.join(t, provider, { heartbeatMs: 300, transfer: true });
    const recorder = recordCommands();
    try {
      const host = await addAgentHost(provider, agent.agentId, { name: 'netvirt' });
      await eventually(async () => {
        const hosts = (await provider.get('/api/hosts')).body as Array<{ id: string; network: { vnet: boolean } | null }>;
        return hosts.find((h) => h.id === host.id)?.network?.vnet === true;
      }, 'the host reporting it can carry private networks');
      const machine = (await buyer.post('/api/machines').send(win2000Pro({ name: 'Web server #1', speed: 1000, memory: 64, disk: 64 }))).body;
      const second = (await buyer.post('/api/machines').send(win2000Pro({ name: 'db', speed: 1000, memory: 64, disk: 64 }))).body;
      const foreign = (await other.post('/api/machines').send(win2000Pro({ name: 'theirs', speed: 1000, memory: 64, disk: 64 }))).body;
      for (const [who, m] of [
        [buyer, machine],
        [buyer, second],
        [other, foreign],
      ] as const) {
        const stored = await who.post(`/api/machines/${m.id}/store`).send({ hostId: host.id });
        expect(stored.status, JSON.stringify(stored.body)).toBe(200);
      }
      expect((await buyer.put(`/api/machines/${machine.id}/network/ports`).send({ ports: [80, 443] })).status).toBe(200);
      const network = (await buyer.get('/api/network')).body as { id: string; subnet: string };
      const base = network.subnet.replace(/0\/24$/, '');

      const started = await buyer.post(`/api/machines/${machine.id}/start`);
      expect(started.status, JSON.stringify(started.body)).toBe(200);
      expect(started.body.state).toBe('running');
      expect(recorder.sent).toEqual([
        {
          method: 'start',
          command: {
            machineId: machine.id,
            version: 1,
            network: {
              private: { networkId: network.id, address: `${base}10`, prefixLength: 24 },
              forwardPorts: [22, 80, 443],
              sshKeys: [key.line],
              hostname: 'web-server-1',
            },
          },
        },
      ]);
      // Another machine of the buyer gets the next address; another buyer's machine an address of their own network.
      expect((await buyer.post(`/api/machines/${second.id}/start`)).status).toBe(200);
      expect((await other.post(`/api/machines/${foreign.id}/start`)).status).toBe(200);
      const theirs = (await other.get('/api/network')).body as { id: string; subnet: string };
      expect(theirs.subnet).not.toBe(network.subnet);
      expect(recorder.sent[1].command.network?.private).toEqual({ networkId: network.id, address: `${base}11`, prefixLength: 24 });
      expect(recorder.sent[2].command.network).toEqual({
        private: { networkId: theirs.id, address: theirs.subnet.replace(/0\/24$/, '10'), prefixLength: 24 },
        forwardPorts: [22],
        sshKeys: [],
        hostname: 'theirs',
      });
      expect(
        (await buyer.get('/api/network')).body.members.map((m: { name: string; address: string; state: string; hostName: string }) => [
          m.name,
          m.address,
          m.state,
          m.hostName,
        ]),
      ).toEqual([
        ['Web server #1', `${base}10`, 'running', 'netvirt'],
        ['db', `${base}11`, 'running', 'netvirt'],
      ]);

      // The start's reply carries the ports the agent forwarded from its range (22 first).
      const forwards = (await buyer.get(`/api/machines/${machine.id}/network`)).body.forwards as Array<{ guestPort: number; hostPort: number }>;
      expect(forwards.map((f) => f.guestPort)).toEqual([22, 80, 443]);
      expect(forwards.every((f) => f.hostPort >= 20000 && f.hostPort <= 20999)).toBe(true);
      expect(new Set(forwards.map((f) => f.hostPort)).size).toBe(3);
      // A heartbeat of an earlier run (another version) is not taken; one of this run is.
      const row = await t.app.get(DataSource).getRepository(AgentRow).findOneByOrFail({ id: agent.agentId });
      const other80 = forwards.map((f) => ({ ...f, hostPort: f.hostPort + 500 }));
      const heartbeat = (version: number, reported = other80) =>
        t
          .anonymous()
          .post('/api/agents/heartbeat')
          .send(
            sign(secretOf(agent), agent.agentId, '/api/agents/heartbeat', {
              agentId: agent.agentId,
              facts: JSON.parse(row.facts),
              vms: [{ machineId: machine.id, state: 'running', version, media: null, forwards: reported }],
              events: [],
            }),
          );
      // The agent paused meanwhile (SIGSTOP), so its own heartbeats (every 300 ms) cannot land between
      // these reports and the reads; one it sent just before is answered within the pause's first second.
      agent.signal('SIGSTOP');
      try {
        await new Promise((settle) => setTimeout(settle, 1000));
        expect((await heartbeat(0)).status).toBe(204);
        expect((await buyer.get(`/api/machines/${machine.id}/network`)).body.forwards).toEqual(forwards);
        expect((await heartbeat(1)).status).toBe(204);
        expect((await buyer.get(`/api/machines/${machine.id}/network`)).body.forwards).toEqual(other80);
      } finally {
        agent.signal('SIGCONT');
      }
      // The agent's own next heartbeat says what it really forwards.
      await eventually(
        async () => JSON.stringify((await buyer.get(`/api/machines/${machine.id}/network`)).body.forwards) === JSON.stringify(forwards),
        "the agent's heartbeat",
      );
      const running = (await buyer.get(`/api/machines/${machine.id}/network`)).body;
      expect(running).toMatchObject({ privateAddress: `${base}10`, forwardPorts: [22, 80, 443], forwards });

      // Stopped: the ports are released; the next start asks for the same host ports again, at the same address.
      expect((await buyer.post(`/api/machines/${machine.id}/stop`)).body.state).toBe('stopped');
      expect((await buyer.get(`/api/machines/${machine.id}/network`)).body).toMatchObject({ forwards: [], sshCommand: null, privateAddress: `${base}10` });
      expect((await buyer.post(`/api/machines/${machine.id}/start`)).status).toBe(200);
      expect(recorder.sent[3].command.network).toMatchObject({
        private: { address: `${base}10` },
        forwardPorts: [22, 80, 443],
        preferredHostPorts: forwards.map((f) => f.hostPort),
      });
      expect((await buyer.get(`/api/machines/${machine.id}/network`)).body.forwards).toEqual(forwards);

      // Suspended: released too; resume sends the network again (a new VMM process).
      expect((await buyer.post(`/api/machines/${machine.id}/suspend`)).body.state).toBe('suspended');
      expect((await buyer.get(`/api/machines/${machine.id}/network`)).body.forwards).toEqual([]);
      expect((await buyer.post(`/api/machines/${machine.id}/resume`)).body.state).toBe('running');
      expect(recorder.sent[4]).toMatchObject({
        method: 'resume',
        command: { machineId: machine.id, network: { private: { address: `${base}10` }, forwardPorts: [22, 80, 443], sshKeys: [key.line] } },
      });
      expect((await buyer.get(`/api/machines/${machine.id}/network`)).body.forwards).toEqual(forwards);

      // Its VMM ends behind the agent's back (a crash, reported by the agent's heartbeat): the ports go with it.
      agent.killVmm(machine.id);
      await eventually(async () => (await buyer.get(`/api/machines/${machine.id}`)).body.state === 'stopped', 'the crash noticed');
      expect((await buyer.get(`/api/machines/${machine.id}/network`)).body).toMatchObject({ forwards: [], privateAddress: `${base}10` });

      // Deleted: its address is free for the buyer's next machine.
      expect((await buyer.delete(`/api/machines/${machine.id}`)).status).toBe(204);
      expect((await t.app.get(DataSource).getRepository(Machine).findOneByOrFail({ id: machine.id })).privateAddress).toBeNull();
      expect((await buyer.get('/api/network')).body.members.map((m: { name: string }) => m.name)).toEqual(['db']);
      // The network sync ran for each change without failing any request; a pass now tries every agent that can hold networks.
      const pass = await t.app.get(NetworkSync).runPass();
      expect([...pass.synced, ...pass.failed].every((id) => id === agent.agentId)).toBe(true);
    } finally {
      recorder.restore();
      for (const [who, m] of [
        [buyer, 'Web server #1'],
        [buyer, 'db'],
        [other, 'theirs'],
      ] as const) {
        const found = ((await who.get('/api/machines')).body as Array<{ id: string; name: string; state: string }>).find((x) => x.name === m);
        if (found?.state === 'running') await who.post(`/api/machines/${found.id}/stop`);
        if (found) await who.delete(`/api/machines/${found.id}`);
      }
      await agent.cleanup();
    }
  });
  it('the network sync sends the hub its desired state (the buyer keys admitted), never failing the start; join.sh then plugs into that hub; nothing is held once the machine stops', async () => {
    const buyer = await t.signUp('buyer');
    const key = newKey();
    const added = (await buyer.post('/api/account/ssh-keys').send({ name: 'laptop', publicKey: key.line })).body as { id: string };
    // Rare heartbeats: the VDE fact set below stays as set (agents report it themselves once they have VDE).
    const agent = await AgentProcess.join(t, provider, { heartbeatMs: 600_000, transfer: true });
    const gateway = t.app.get(AgentGateway);
    const syncs: Array<{ agentId: string | null; command: VnetSyncCommand }> = [];
    const vnetSync = gateway.vnetSync.bind(gateway);
    // Only this test's agent: an agent of an earlier test, gone but not yet counted offline, may get an empty sync meanwhile.
    gateway.vnetSync = (target, command) => (target.agentId === agent.agentId && syncs.push({ agentId: target.agentId, command }), vnetSync(target, command));
    try {
      const host = await addAgentHost(provider, agent.agentId, { name: 'hubvirt' });
      const machine = (await buyer.post('/api/machines').send(win2000Pro({ name: 'hubbed', speed: 1000, memory: 64, disk: 64 }))).body as { id: string };
      expect((await buyer.post(`/api/machines/${machine.id}/store`).send({ hostId: host.id })).status).toBe(200);
      const started = await buyer.post(`/api/machines/${machine.id}/start`);
      expect(started.status, JSON.stringify(started.body)).toBe(200);
      expect(started.body.state).toBe('running');

      const agents = t.app.get(DataSource).getRepository(AgentRow);
      const row = await agents.findOneByOrFail({ id: agent.agentId });
      expect(row.transferSshPort).toBe(agent.sshPort);
      const facts = JSON.parse(row.facts);
      facts.network ??= { publicHost: '127.0.0.1', portRange: { first: 20000, last: 20999 }, portsInUse: 0, outbound: 'allow', vnet: true };
      facts.network.vnet = true;
      await agents.update({ id: agent.agentId }, { facts: JSON.stringify(facts) });

      const network = (await buyer.get('/api/network')).body as { id: string; hubHostName: string | null };
      expect(network.hubHostName).toBe('hubvirt');
      syncs.length = 0;
      const pass = await t.app.get(NetworkSync).runPass();
      // The one agent holding the buyer's machine is the hub: it admits the buyer's keys, and has no
      // uplink. (The start's change is announced after a read of the machine: when that lands while
      // this pass runs, one more pass follows it and sends the same.)
      expect(syncs.length).toBeGreaterThan(0);
      for (const sync of syncs) {
        expect(sync).toEqual({
          agentId: agent.agentId,
          command: { networks: [{ networkId: network.id, admit: [{ publicKey: key.line, label: `buyer-key:${added.id}` }] }] },
        });
      }
      // (An agent of an earlier test, gone but not yet counted offline, may be in the pass too: its empty sync fails.)
      expect(pass.synced).toEqual([agent.agentId]);
      const held = await t.app.get(DataSource).getRepository(NetworkAgentRow).findBy({ agentId: agent.agentId });
      expect(held).toEqual([expect.objectContaining({ networkId: network.id, agentId: agent.agentId, uplinkPublicKey: null })]);

      const script = await buyer.get('/api/network/join.sh?device=1');
      expect(script.status, script.text).toBe(200);
      expect(script.text).toContain(`HUB_PORT='${agent.sshPort}'`);
      expect(script.text).toContain(`${row.transferHostKey}'`);

      // An agent back from offline is told at once what to hold (its heartbeat, signed as it signs them).
      await agents.update({ id: agent.agentId }, { lastHeartbeatAt: '2000-01-01T00:00:00.000Z' });
      syncs.length = 0;
      const back = await t
        .anonymous()
        .post('/api/agents/heartbeat')
        .send(
          sign(secretOf(agent), agent.agentId, '/api/agents/heartbeat', {
            agentId: agent.agentId,
            facts,
            vms: [{ machineId: machine.id, state: 'running', version: 1, media: null }],
            events: [],
          }),
        );
      expect(back.status).toBe(204);
      await eventually(async () => syncs.some((sync) => sync.agentId === agent.agentId), 'a vnet.sync to the agent back online');
      expect(syncs[0].command.networks.map((n) => n.networkId)).toEqual([network.id]);

      // A key added on the account is admitted by the hub at once.
      const second = newKey('desktop');
      syncs.length = 0;
      expect((await buyer.post('/api/account/ssh-keys').send({ name: 'desktop', publicKey: second.line })).status).toBe(201);
      await eventually(
        async () => syncs.some((sync) => sync.command.networks.some((n) => n.admit.some((a) => a.publicKey === second.line))),
        'a vnet.sync admitting the new key',
      );

      // Stopped: no machine of the network runs, so it has no hub; an agent that held it is told to hold nothing.
      expect((await buyer.post(`/api/machines/${machine.id}/stop`)).status).toBe(200);
      syncs.length = 0;
      await t.app.get(NetworkSync).runPass();
      expect(syncs).toEqual(held.length ? [{ agentId: agent.agentId, command: { networks: [] } }] : []);
      expect((await buyer.get('/api/network')).body.hubHostName).toBeNull();
      expect((await buyer.get('/api/network/join.sh')).status).toBe(409);
      expect((await buyer.delete(`/api/machines/${machine.id}`)).status).toBe(204);
    } finally {
      gateway.vnetSync = vnetSync;
      await agent.cleanup();
    }
  });
});
