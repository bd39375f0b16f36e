import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSource } from 'typeorm';
import { Agent as AgentRow } from '../src/agents/agent.entity';
import { Machine } from '../src/machines/machine.entity';
import { NetworkAgentRow } from '../src/network/network-agent.entity';
import { NetworkSync } from '../src/network/network-sync.service';
import { NetworkService } from '../src/network/network.service';
import { Agent, TestApp, startApp, virt8, win2000Pro } from './helpers';

type User = Agent & { handle: string; userId: string };

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
    await expect(dataSource.getRepository(Machine).update({ id: ids[1] }, { privateAddress: `${base}10` })).rejects.toThrow(/UNIQUE/);

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

  it('join.sh for a network whose machines run on a host that can be the hub: device address, pinned hub host key, ssh to the hub', async () => {
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
