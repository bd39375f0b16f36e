import { execFile } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { AgentCommands, type AgentVmState, type HostFacts, type TransferEndpoint, type VnetDesired, type VnetSyncResult } from '@virtuoso/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentProcess, freePorts } from '../agent/test-support/agent-process';
import { CommandClient, FakeFrontend } from '../agent/test-support/fake-frontend';
import { guestImage } from '../vmm/guest-image';
import { pidAlive } from '../vmm/test-support/helpers';
import { SwitchProbe } from './test-support/frames';
import { switchPid, vnetPaths } from './vnet-switch';

const run = promisify(execFile);

/**
 * VNET and forwarded ports through two real agent processes on this host (docs/ARCHITECTURE.md
 * §11), each with its transfer sshd and its own fake front-end: A is the hub of a network, B a
 * spoke whose uplink (vde_plug through ssh) plugs B's switch into A's once A admits B's key.
 * Frames are sent and received by the test's own plugs on the two switches.
 */
const tmp = mkdtempSync(path.join(os.tmpdir(), 'vzv-'));
const img = guestImage();
const imageSha = createHash('sha256').update(readFileSync(img.qcow2)).digest('hex');
const mac = () => `52:54:00:${[...randomBytes(3)].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;

interface Side {
  name: string;
  fe: FakeFrontend;
  dataDir: string;
  env: Record<string, string>;
  args: string[];
  agent: AgentProcess;
  cmd: CommandClient;
  range: { first: number; last: number };
}
let A: Side;
let B: Side;
const probes: SwitchProbe[] = [];
const machines: { side: () => Side; id: string }[] = [];

async function startSide(name: string, rangeFirst: number): Promise<Side> {
  const fe = new FakeFrontend();
  await fe.start();
  fe.images.set('tiny-linux', img.qcow2);
  const dataDir = path.join(tmp, name);
  const [port, consolePort, sshPort] = await freePorts(3);
  const range = { first: rangeFirst, last: rangeFirst + 9 };
  const env = {
    VIRTUOSO_AGENT_DATA_DIR: dataDir,
    VIRTUOSO_AGENT_PORT: String(port),
    VIRTUOSO_AGENT_CONSOLE_PORT: String(consolePort),
    VIRTUOSO_AGENT_SSH_PORT: String(sshPort),
    VIRTUOSO_AGENT_PORT_RANGE: `${range.first}-${range.last}`,
    VIRTUOSO_ACCEL: 'tcg',
    VIRTUOSO_AGENT_HEARTBEAT_MS: '500',
  };
  const args = ['--frontend', fe.url, '--join', fe.joinToken];
  const agent = new AgentProcess(env, args);
  await agent.ready();
  return { name, fe, dataDir, env, args, agent, cmd: new CommandClient('127.0.0.1', port!, fe.agentId, fe.secret), range };
}

/** SIGKILL the agent (its switches and guests stay) and start it again on the same data. */
async function restart(side: Side): Promise<void> {
  await side.cmd.close();
  await side.agent.kill('SIGKILL');
  side.agent = new AgentProcess(side.env);
  await side.agent.ready();
  side.cmd = new CommandClient('127.0.0.1', Number(side.env['VIRTUOSO_AGENT_PORT']), side.fe.agentId, side.fe.secret);
}

async function ok<T>(side: Side, pattern: string, body: unknown): Promise<T> {
  const r = await side.cmd.send<T>(pattern, body);
  if (!r.ok) throw new Error(`${side.name} ${pattern}: ${r.code}: ${r.error}`);
  return r.result;
}

function transferOf(side: Side): TransferEndpoint {
  return side.fe.joins[0]!.facts.transfer!;
}

function uplinkTo(hub: Side) {
  const t = transferOf(hub);
  return { agentId: hub.fe.agentId, host: '127.0.0.1', sshPort: t.sshPort, sshUser: t.sshUser, hostKey: t.hostKey };
}

async function until<T>(fn: () => Promise<T | undefined | false> | T | undefined | false, what: string, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Send from `from` until `to` sees it (switches learn, an uplink may have just come up). */
async function crosses(from: SwitchProbe, to: SwitchProbe, text: string, ms = 10_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    from.send('52:54:00:aa:00:01', text);
    await new Promise((r) => setTimeout(r, 100));
    if (to.saw(text)) return true;
  }
  return false;
}

function probe(side: Side, networkId: string): SwitchProbe {
  const p = new SwitchProbe(vnetPaths(side.dataDir, networkId).switchDir);
  probes.push(p);
  return p;
}

function processesNaming(text: string): number[] {
  const out: number[] = [];
  for (const n of readdirSync('/proc')) {
    if (!/^\d+$/.test(n)) continue;
    try {
      if (readFileSync(`/proc/${n}/cmdline`, 'utf8').includes(text)) out.push(Number(n));
    } catch {
      /* gone */
    }
  }
  return out;
}

const base = 21000 + (process.pid % 400) * 20;

beforeAll(async () => {
  A = await startSide('a', base);
  B = await startSide('b', base + 10);
});

afterAll(async () => {
  for (const p of probes) p.close();
  // VMs outlive agents by design: end the ones this file started.
  for (const m of machines) {
    try {
      const pid = Number(readFileSync(path.join(m.side().dataDir, 'machines', m.id, 'qemu.pid'), 'utf8'));
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`virtuoso-${m.id}`)) process.kill(pid, 'SIGKILL');
    } catch {
      /* not running */
    }
  }
  for (const s of [A, B]) {
    if (!s) continue;
    // Switches and plugs outlive agents by design: end the ones this file started.
    for (const pid of processesNaming(s.dataDir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await s.cmd.close();
    await s.agent.kill('SIGTERM');
    await s.fe.stop();
  }
  for (const pid of processesNaming(tmp)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  rmSync(tmp, { recursive: true, force: true });
});

describe.sequential('VNET between two real agents, forwarded ports', () => {
  const net1 = randomUUID();
  const net2 = randomUUID();
  let spokeKey = '';

  it('reports the network side in the host facts', () => {
    expect(A.fe.joins[0]!.facts.network).toEqual({ publicHost: '127.0.0.1', portRange: A.range, portsInUse: 0, outbound: 'allow', vnet: true });
  });

  it("a spoke's uplink stays 'connecting' until the hub admits its key, then comes 'up' and frames cross both ways", async () => {
    const spoke: VnetDesired = { networkId: net1, uplink: uplinkTo(A), admit: [] };
    const first = await ok<VnetSyncResult>(B, AgentCommands.vnetSync, { networks: [spoke] });
    expect(first.networks).toEqual([
      { networkId: net1, switchUp: true, uplinkPublicKey: expect.stringMatching(/^ssh-ed25519 \S+$/), uplink: 'connecting', machines: 0 },
    ]);
    spokeKey = first.networks[0]!.uplinkPublicKey!;
    // The key pair is made once: the same key on every sync.
    expect((await ok<VnetSyncResult>(B, AgentCommands.vnetSync, { networks: [spoke] })).networks[0]!.uplinkPublicKey).toBe(spokeKey);

    // Not admitted: B's tries are refused by A's sshd (its log says so), the uplink never comes up.
    await A.agent.waitFor(/TransferSshd.*(Failed publickey|Connection closed by authenticating user)/);
    expect((await ok<VnetSyncResult>(B, AgentCommands.vnetSync, { networks: [spoke] })).networks[0]!.uplink).toBe('connecting');

    const hub = await ok<VnetSyncResult>(A, AgentCommands.vnetSync, {
      networks: [{ networkId: net1, admit: [{ publicKey: spokeKey, label: `agent:${B.fe.agentId}` }] }],
    });
    expect(hub.networks).toEqual([{ networkId: net1, switchUp: true, uplink: 'none', machines: 0 }]);
    const lines = readFileSync(path.join(A.dataDir, 'ssh', 'authorized_keys'), 'utf8')
      .trim()
      .split('\n');
    expect(lines).toEqual([`restrict,command="vde_plug vde://${vnetPaths(A.dataDir, net1).switchDir}" ${spokeKey} vnet:${net1}:agent:${B.fe.agentId}`]);

    await until(async () => (await ok<VnetSyncResult>(B, AgentCommands.vnetSync, { networks: [spoke] })).networks[0]!.uplink === 'up', "B's uplink up");
    const onA = probe(A, net1);
    const onB = probe(B, net1);
    expect(await crosses(onB, onA, 'from-b-1')).toBe(true);
    expect(await crosses(onA, onB, 'from-a-1')).toBe(true);
  });

  it("a key the hub did not admit cannot plug in: A's sshd refuses it", async () => {
    const key = path.join(tmp, 'stranger');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    const t = transferOf(A);
    const kh = path.join(tmp, 'kh');
    writeFileSync(kh, `[127.0.0.1]:${t.sshPort} ${t.hostKey}\n`);
    const r = await run(
      'ssh',
      [
        '-i',
        key,
        '-p',
        String(t.sshPort),
        '-o',
        'IdentitiesOnly=yes',
        '-o',
        `UserKnownHostsFile=${kh}`,
        '-o',
        'BatchMode=yes',
        `${t.sshUser}@127.0.0.1`,
        'vnet',
      ],
      {
        timeout: 15_000,
      },
    ).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
    );
    expect(r.code).toBe(255);
    expect(r.stderr).toMatch(/Permission denied \(publickey\)/);
  });

  it('a second network on the same agents is a separate switch: its frames never reach the first', async () => {
    const b = await ok<VnetSyncResult>(B, AgentCommands.vnetSync, {
      networks: [
        { networkId: net1, uplink: uplinkTo(A), admit: [] },
        { networkId: net2, uplink: uplinkTo(A), admit: [] },
      ],
    });
    const key2 = b.networks.find((n) => n.networkId === net2)!.uplinkPublicKey!;
    expect(key2).not.toBe(spokeKey);
    await ok<VnetSyncResult>(A, AgentCommands.vnetSync, {
      networks: [
        { networkId: net1, admit: [{ publicKey: spokeKey, label: `agent:${B.fe.agentId}` }] },
        { networkId: net2, admit: [{ publicKey: key2, label: `agent:${B.fe.agentId}` }] },
      ],
    });
    const [p1, p2] = [vnetPaths(A.dataDir, net1), vnetPaths(A.dataDir, net2)];
    expect(p1.switchDir).not.toBe(p2.switchDir);
    expect(switchPid(p2)).not.toBe(switchPid(p1));
    await until(
      async () =>
        (
          await ok<VnetSyncResult>(B, AgentCommands.vnetSync, {
            networks: [
              { networkId: net1, uplink: uplinkTo(A), admit: [] },
              { networkId: net2, uplink: uplinkTo(A), admit: [] },
            ],
          })
        ).networks.every((n) => n.uplink === 'up'),
      "both of B's uplinks up",
    );
    const onA1 = probe(A, net1);
    const onA2 = probe(A, net2);
    const onB2 = probe(B, net2);
    expect(await crosses(onB2, onA2, 'net2-from-b')).toBe(true);
    // Sent long enough for net2 to have carried it: nothing of it on net1.
    expect(onA1.saw('net2-from-b')).toBe(false);
  });

  it('a sync without a network stops its uplink and removes its admission; its switch stops (no machine on it)', async () => {
    const b = await ok<VnetSyncResult>(B, AgentCommands.vnetSync, { networks: [{ networkId: net2, uplink: uplinkTo(A), admit: [] }] });
    expect(b.networks.map((n) => n.networkId)).toEqual([net2]);
    const a = await ok<VnetSyncResult>(A, AgentCommands.vnetSync, {
      networks: [{ networkId: net2, admit: [{ publicKey: b.networks[0]!.uplinkPublicKey!, label: `agent:${B.fe.agentId}` }] }],
    });
    expect(a.networks.map((n) => n.networkId)).toEqual([net2]);
    const keys = readFileSync(path.join(A.dataDir, 'ssh', 'authorized_keys'), 'utf8');
    expect(keys).not.toContain(`vnet:${net1}:`);
    expect(keys).toContain(`vnet:${net2}:`);
    // B's uplink of net1 is gone (no process of it names its key), and so is the switch on each side.
    await until(() => processesNaming(vnetPaths(B.dataDir, net1).key).length === 0, "B's net1 uplink to end");
    expect(switchPid(vnetPaths(A.dataDir, net1))).toBeUndefined();
    expect(switchPid(vnetPaths(B.dataDir, net1))).toBeUndefined();
    expect(existsSync(vnetPaths(B.dataDir, net1).key)).toBe(true); // the key pair is kept
  });

  it('a restarted spoke makes its uplink again from the last sync; the switches never stopped', async () => {
    const pidA = switchPid(vnetPaths(A.dataDir, net2));
    const pidB = switchPid(vnetPaths(B.dataDir, net2));
    await restart(B);
    expect(switchPid(vnetPaths(B.dataDir, net2))).toBe(pidB);
    await restart(A);
    expect(switchPid(vnetPaths(A.dataDir, net2))).toBe(pidA);
    const onA = probe(A, net2);
    const onB = probe(B, net2);
    expect(await crosses(onB, onA, 'after-restart', 30_000)).toBe(true);
  });

  it('guests on the two agents get their private addresses and ping each other across the uplink; ssh through the forwarded port takes the buyer key only', async () => {
    const buyer = path.join(tmp, 'buyer');
    const stranger = path.join(tmp, 'stranger2');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'buyer@laptop', '-f', buyer]);
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', stranger]);
    const buyerKey = readFileSync(`${buyer}.pub`, 'utf8').trim();
    const guests = [
      { side: A, address: '10.64.0.20', hostname: 'guest-on-a' },
      { side: B, address: '10.64.0.21', hostname: 'guest-on-b' },
    ];
    const started = await Promise.all(
      guests.map(async (g) => {
        const machineId = randomUUID();
        await ok(g.side, AgentCommands.create, {
          machineId,
          mac: mac(),
          vcpus: 1,
          memoryMb: 128,
          diskMb: 64,
          version: 1,
          image: { name: 'tiny-linux', sha256: imageSha },
        });
        machines.push({ side: () => g.side, id: machineId });
        const st = await ok<AgentVmState>(g.side, AgentCommands.start, {
          machineId,
          version: 1,
          network: { private: { networkId: net2, address: g.address, prefixLength: 24 }, forwardPorts: [22], sshKeys: [buyerKey], hostname: g.hostname },
        });
        return { ...g, machineId, sshPort: st.forwards![0]!.hostPort };
      }),
    );
    const serial = (g: (typeof started)[number]) => {
      try {
        return readFileSync(path.join(g.side.dataDir, 'machines', g.machineId, 'serial.log'), 'latin1');
      } catch {
        return '';
      }
    };
    for (const g of started) {
      await until(
        () => serial(g).includes(`VIRTUOSO-NET`) && serial(g).includes(` ${g.address}`) && serial(g).includes('VIRTUOSO-SSHD-READY'),
        `${g.hostname} up`,
        120_000,
      );
    }
    const ssh = (key: string, port: number, command: string) =>
      run(
        'ssh',
        [
          '-i',
          key,
          '-p',
          String(port),
          '-o',
          'IdentitiesOnly=yes',
          '-o',
          'StrictHostKeyChecking=no',
          '-o',
          'UserKnownHostsFile=/dev/null',
          '-o',
          'BatchMode=yes',
          '-o',
          'LogLevel=ERROR',
          'root@127.0.0.1',
          command,
        ],
        { timeout: 60_000 },
      ).then(
        (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
        (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
      );
    const [ga, gb] = started as [(typeof started)[number], (typeof started)[number]];
    const who = await ssh(buyer, ga.sshPort, 'cat /etc/hostname');
    expect(who).toMatchObject({ code: 0 });
    expect(who.stdout.trim()).toBe('guest-on-a');
    const ping = await ssh(buyer, ga.sshPort, `ping -c 3 -W 5 ${gb.address}`);
    expect(ping.stdout).toMatch(/3 packets transmitted, 3 packets received/);
    const back = await ssh(buyer, gb.sshPort, `ping -c 2 -W 5 ${ga.address}`);
    expect(back.stdout).toMatch(/2 packets transmitted, 2 packets received/);
    const refused = await ssh(stranger, ga.sshPort, 'cat /etc/hostname');
    expect(refused.code).toBe(255);
    expect(refused.stderr).toContain('Permission denied (publickey)');
    for (const g of started) await ok(g.side, AgentCommands.stop, { machineId: g.machineId, version: 1, force: true });
  });

  describe('forwarded ports', () => {
    async function newMachine(side: Side): Promise<string> {
      const machineId = randomUUID();
      await ok(side, AgentCommands.create, {
        machineId,
        mac: mac(),
        vcpus: 1,
        memoryMb: 96,
        diskMb: 64,
        version: 1,
        image: { name: 'tiny-linux', sha256: imageSha },
      });
      machines.push({ side: () => side, id: machineId });
      return machineId;
    }
    const network = (networkId: string, address: string, preferred?: number[]) => ({
      private: { networkId, address, prefixLength: 24 },
      forwardPorts: [22, 80],
      ...(preferred ? { preferredHostPorts: preferred } : {}),
      sshKeys: [],
      hostname: 'm',
    });
    let m1 = '';
    let m2 = '';

    it('two machines never get the same host port; the reply, vm.list and heartbeats carry them while running', async () => {
      m1 = await newMachine(A);
      m2 = await newMachine(A);
      const s1 = await ok<AgentVmState>(A, AgentCommands.start, {
        machineId: m1,
        version: 1,
        network: network(net2, '10.64.0.10', [A.range.first + 5, A.range.first + 6]),
      });
      // m2 prefers m1's ports: it gets others.
      const s2 = await ok<AgentVmState>(A, AgentCommands.start, {
        machineId: m2,
        version: 1,
        network: network(net2, '10.64.0.11', [A.range.first + 5, A.range.first + 6]),
      });
      expect(s1.forwards).toEqual([
        { guestPort: 22, hostPort: A.range.first + 5 },
        { guestPort: 80, hostPort: A.range.first + 6 },
      ]);
      expect(s2.forwards).toEqual([
        { guestPort: 22, hostPort: A.range.first },
        { guestPort: 80, hostPort: A.range.first + 1 },
      ]);
      const list = await ok<AgentVmState[]>(A, AgentCommands.list, {});
      expect(list.find((v) => v.machineId === m1)!.forwards).toEqual(s1.forwards);
      const since = Date.now();
      const hb = await A.fe.waitForHeartbeat((h) => h.vms.some((v) => v.machineId === m2 && v.forwards?.length === 2), { since });
      expect(hb.facts.network!.portsInUse).toBe(4);
      // Both machines are plugged into A's switch of net2.
      const held = await ok<VnetSyncResult>(A, AgentCommands.vnetSync, { networks: [{ networkId: net2, admit: [] }] });
      expect(held.networks[0]!.machines).toBe(2);
    });

    it("a restarted agent keeps the running machines' ports", async () => {
      await restart(A);
      const list = await ok<AgentVmState[]>(A, AgentCommands.list, {});
      expect(list.find((v) => v.machineId === m1)!.forwards).toEqual([
        { guestPort: 22, hostPort: A.range.first + 5 },
        { guestPort: 80, hostPort: A.range.first + 6 },
      ]);
      const facts = await ok<HostFacts>(A, AgentCommands.facts, {});
      expect(facts.network!.portsInUse).toBe(4);
    });

    it('ports are released when the machine stops (and when its VMM ends otherwise); a switch no longer desired stops with its last machine', async () => {
      const st = await ok<AgentVmState>(A, AgentCommands.stop, { machineId: m1, version: 1, force: true });
      expect(st.state).toBe('stopped');
      expect(st.forwards).toBeUndefined();
      expect((await ok<HostFacts>(A, AgentCommands.facts, {})).network!.portsInUse).toBe(2);
      // m2's VMM killed behind the agent's back: its ports are free too.
      const pid = Number(readFileSync(path.join(A.dataDir, 'machines', m2, 'qemu.pid'), 'utf8'));
      process.kill(pid, 'SIGKILL');
      await until(async () => (await ok<HostFacts>(A, AgentCommands.facts, {})).network!.portsInUse === 0, 'ports of the crashed machine freed');
      // The next start may take the lowest ports again.
      const again = await ok<AgentVmState>(A, AgentCommands.start, { machineId: m1, version: 2, network: network(net2, '10.64.0.10') });
      expect(again.forwards!.map((f) => f.hostPort)).toEqual([A.range.first, A.range.first + 1]);

      // The network left by a sync while a machine still runs on it: admissions gone, the switch
      // kept for the machine; once the machine stops, the switch stops too.
      const left = await ok<VnetSyncResult>(A, AgentCommands.vnetSync, { networks: [] });
      expect(left.networks).toEqual([]);
      expect(readFileSync(path.join(A.dataDir, 'ssh', 'authorized_keys'), 'utf8')).not.toContain('vnet:');
      expect(switchPid(vnetPaths(A.dataDir, net2))).toBeGreaterThan(1);
      await ok<AgentVmState>(A, AgentCommands.stop, { machineId: m1, version: 2, force: true });
      await until(() => switchPid(vnetPaths(A.dataDir, net2)) === undefined, "A's switch of net2 to stop");
      await until(() => !pidAlive(pid), 'the killed VMM gone');
    });
  });
});
