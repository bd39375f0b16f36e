import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentCommands, MAX_SKEW_MS, sha256Hex, sign, type AgentVmState, type HostFacts } from '@virtuoso/contracts';
import { guestImage } from '../vmm/guest-image';
import { pidAlive } from '../vmm/test-support/helpers';
import type { JournalEntry } from './event-queue';
import { AgentProcess, freePorts } from './test-support/agent-process';
import { CommandClient, FakeFrontend } from './test-support/fake-frontend';

/**
 * The provider agent as a real child process (`node apps/provider-agent/dist/main.js`, built by
 * globalSetup), a small HTTP front-end in the test (join, heartbeats, image and media store, with
 * the contracts' own sign/verify), commands over the NestJS TCP transport, real QEMU guests.
 * The tests run in order and share one agent data directory and one preconfigured machine.
 */
const img = guestImage();
const MARKER = /VIRTUOSO-GUEST-READY/;

let fe: FakeFrontend;
let dataDir: string;
let port: number;
let consolePort: number;
let agent: AgentProcess;
let cmd: CommandClient;
const spawned: AgentProcess[] = [];

const vmId = randomUUID();
const blankId = randomUUID();
const mac = () => `52:54:00:${[...randomBytes(3)].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
const machineDir = (id: string) => path.join(dataDir, 'machines', id);
const serialLog = (id: string) => {
  try {
    return readFileSync(path.join(machineDir(id), 'serial.log'), 'latin1');
  } catch {
    return '';
  }
};
const qemuPid = (id: string) => Number(readFileSync(path.join(machineDir(id), 'qemu.pid'), 'utf8'));
const vmOf = (vms: AgentVmState[], id: string) => vms.find((v) => v.machineId === id);
/** The agent's journal on disk (event-queue.ts): every entry, and those not yet acknowledged. */
const journalOf = (dir: string): JournalEntry[] =>
  readFileSync(path.join(dir, 'journal.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as JournalEntry);
const pendingJournal = (dir: string): JournalEntry[] => {
  const ack = path.join(dir, 'journal-ack.json');
  const acked = existsSync(ack) ? (JSON.parse(readFileSync(ack, 'utf8')) as { acked: number }).acked : 0;
  return journalOf(dir).filter((entry) => entry.seq > acked);
};

function startAgent(extraEnv: Record<string, string> = {}, args: string[] = []): AgentProcess {
  const a = new AgentProcess(
    {
      VIRTUOSO_AGENT_DATA_DIR: dataDir,
      VIRTUOSO_AGENT_PORT: String(port),
      VIRTUOSO_AGENT_CONSOLE_PORT: String(consolePort),
      VIRTUOSO_ACCEL: 'tcg',
      VIRTUOSO_AGENT_HEARTBEAT_MS: '1000',
      ...extraEnv,
    },
    args,
  );
  spawned.push(a);
  return a;
}

async function waitForSerial(id: string, re: RegExp, from = 0, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!re.test(serialLog(id).slice(from))) {
    if (Date.now() > deadline) throw new Error(`serial of ${id}: no ${re}; tail ${JSON.stringify(serialLog(id).slice(-300))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A viewer on the console port: sends `<ticket>\n`, collects bytes until closed. */
function viewer(ticket: string) {
  const s = net.connect({ host: '127.0.0.1', port: consolePort });
  let data = Buffer.alloc(0);
  s.on('data', (d: Buffer) => (data = Buffer.concat([data, d])));
  s.on('error', () => undefined);
  s.on('connect', () => s.write(`${ticket}\n`));
  const closed = new Promise<void>((r) => s.once('close', () => r()));
  const bytes = async (n: number, timeoutMs = 5_000) => {
    const deadline = Date.now() + timeoutMs;
    while (data.length < n && Date.now() < deadline && !s.destroyed) await new Promise((r) => setTimeout(r, 10));
    return data.subarray(0, n).toString('latin1');
  };
  return { socket: s, closed, bytes, data: () => data };
}

async function closedWithin(p: Promise<void>, ms: number): Promise<boolean> {
  return Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);
}

async function openTicket(id: string, ttlMs = 30_000): Promise<string> {
  const ticket = randomBytes(24).toString('base64url');
  const r = await cmd.send(AgentCommands.consoleOpen, { machineId: id, ticket, expiresAt: Date.now() + ttlMs });
  expect(r).toEqual({ ok: true, result: { machineId: id, expiresAt: expect.any(Number), consolePort } });
  return ticket;
}

beforeAll(async () => {
  fe = new FakeFrontend();
  await fe.start();
  fe.images.set('tiny-linux', img.qcow2);
  fe.media.set('tiny-iso', img.iso);
  // Short: machine sockets live under it (107-byte unix socket path limit).
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'vza-'));
  [port, consolePort] = (await freePorts(2)) as [number, number];
});

afterAll(async () => {
  await cmd?.close();
  for (const a of spawned) await a.kill('SIGKILL');
  // VMs outlive agents by design: end the ones this file started.
  for (const id of [vmId, blankId]) {
    try {
      const pid = qemuPid(id);
      if (pid > 1 && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`virtuoso-${id}`)) process.kill(pid, 'SIGKILL');
    } catch {
      /* not running */
    }
  }
  await fe?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe.sequential('provider agent (child process, real QEMU, real sockets)', () => {
  it('a join token the front-end refuses stops the agent with the server message', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vzj-'));
    try {
      const a = new AgentProcess({ VIRTUOSO_ACCEL: 'tcg' }, [
        '--data',
        dir,
        '--port',
        String(port),
        '--console-port',
        String(consolePort),
        '--frontend',
        fe.url,
        '--join',
        'not-a-token',
      ]);
      spawned.push(a);
      expect((await a.exited).code).toBe(1);
      expect(a.output).toContain('this join token is unknown or already used');
      expect(existsSync(path.join(dir, 'agent.json'))).toBe(false);
      // Bad configuration names the variable.
      const b = new AgentProcess({ VIRTUOSO_AGENT_DATA_DIR: dir, VIRTUOSO_AGENT_PORT: 'http', VIRTUOSO_ACCEL: 'fast' });
      spawned.push(b);
      expect((await b.exited).code).toBe(2);
      expect(b.output).toMatch(/VIRTUOSO_AGENT_PORT \(--port\): must be a TCP port number/);
      expect(b.output).toMatch(/VIRTUOSO_ACCEL \(--accel\): must be tcg, kvm or probe/);
      expect(b.output).toMatch(/VIRTUOSO_JOIN_TOKEN \(--join\): required on the first start/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('joins on first start: agent.json (mode 0600) with the identity, measured host facts, heartbeats', async () => {
    // The "add host" page's command line (flags), the rest from the environment.
    agent = startAgent({}, ['--frontend', fe.url, '--join', fe.joinToken]);
    await agent.ready();
    expect(fe.joins).toHaveLength(1);
    const j = fe.joins[0]!;
    expect(j).toMatchObject({ joinToken: fe.joinToken, agentHost: '127.0.0.1', agentPort: port, consolePort });
    const f: HostFacts = j.facts;
    const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
    const bogo = Math.floor([...cpuinfo.matchAll(/^bogomips\s*:\s*([\d.]+)/gim)].reduce((s, m) => s + Number(m[1]), 0));
    expect(f.bogomips).toBe(bogo);
    expect(f.cpus).toBe(os.cpus().length);
    expect(f.memoryMb).toBe(Math.floor(Number(/MemTotal:\s*(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))![1]) / 1024));
    expect(f.freeDiskMb).toBeGreaterThan(0);
    expect(f).toMatchObject({ accelerator: 'tcg', hostname: os.hostname(), agentVersion: expect.any(String) });

    const file = path.join(dataDir, 'agent.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ agentId: fe.agentId, secret: fe.secret, frontendUrl: fe.url });

    const hb = await fe.waitForHeartbeat(() => true);
    expect(hb).toMatchObject({ agentId: fe.agentId, vms: [], events: [] });
    // Named in a header too, for the front-end's admission before it reads the body.
    expect(fe.heartbeats.find((beat) => beat.hb === hb)?.named).toBe(fe.agentId);
    expect(hb.facts.bogomips).toBe(bogo);
    cmd = new CommandClient('127.0.0.1', port, fe.agentId, fe.secret);
  });

  it('refuses and logs commands without valid credentials, and does nothing', async () => {
    const spec = { machineId: blankId, mac: mac(), vcpus: 1, memoryMb: 64, diskMb: 16, version: 1 };
    const from = agent.output.length;
    const unauth = { ok: false, code: 'unauthenticated', error: expect.any(String) };
    // No envelope at all (the plain command).
    expect(await cmd.sendRaw(AgentCommands.create, spec)).toEqual(unauth);
    // Signed with another secret.
    expect(await cmd.sendRaw(AgentCommands.create, sign('not-the-secret', fe.agentId, AgentCommands.create, spec))).toEqual(unauth);
    // Body changed after signing.
    const env = sign(fe.secret, fe.agentId, AgentCommands.create, spec);
    expect(await cmd.sendRaw(AgentCommands.create, { ...env, body: env.body.replace('"memoryMb":64', '"memoryMb":4096') })).toEqual(unauth);
    // Signed for another pattern (channel): a vm.list envelope sent as vm.create.
    expect(await cmd.sendRaw(AgentCommands.create, sign(fe.secret, fe.agentId, AgentCommands.list, spec))).toEqual(unauth);
    // Too old.
    expect(await cmd.sendRaw(AgentCommands.create, sign(fe.secret, fe.agentId, AgentCommands.create, spec, Date.now() - MAX_SKEW_MS - 5_000))).toEqual(unauth);
    // Replayed: the first use is accepted, the same envelope again is not.
    const list = sign(fe.secret, fe.agentId, AgentCommands.list, {});
    expect(await cmd.sendRaw(AgentCommands.list, list)).toEqual({ ok: true, result: [] });
    expect(await cmd.sendRaw(AgentCommands.list, list)).toEqual(unauth);

    // The agent logs on its stdout, which reaches us through a pipe after the reply: wait for the last line.
    await expect.poll(() => agent.since(from), { timeout: 5_000 }).toMatch(/refused vm\.list from 127\.0\.0\.1:\d+: replayed/);
    const log = agent.since(from);
    expect(log).toMatch(/refused vm\.create from 127\.0\.0\.1:\d+: malformed/);
    expect(log.match(/refused vm\.create from 127\.0\.0\.1:\d+: bad-signature/g)).toHaveLength(3);
    expect(log).toMatch(/refused vm\.create from 127\.0\.0\.1:\d+: stale/);
    expect(log).toMatch(/refused vm\.list from 127\.0\.0\.1:\d+: replayed/);
    expect(existsSync(machineDir(blankId))).toBe(false);
    expect(await cmd.send(AgentCommands.list, {})).toEqual({ ok: true, result: [] });
  });

  it('creates from the preconfigured image (signed download, sha256, cache), starts, heartbeats running; media attach/eject', async () => {
    const sha = sha256Hex(readFileSync(img.qcow2));
    // A wrong hash is refused and leaves nothing behind.
    const wrong = await cmd.send(AgentCommands.create, {
      machineId: vmId,
      mac: mac(),
      vcpus: 1,
      memoryMb: 128,
      diskMb: 128,
      version: 5,
      image: { name: 'tiny-linux', sha256: '0'.repeat(64) },
    });
    expect(wrong).toMatchObject({ ok: false, code: 'failed', error: expect.stringMatching(/sha256 mismatch/) });
    expect(existsSync(machineDir(vmId))).toBe(false);

    const spec = { machineId: vmId, mac: mac(), vcpus: 1, memoryMb: 128, diskMb: 128, version: 5, image: { name: 'tiny-linux', sha256: sha } };
    expect(await cmd.send(AgentCommands.create, spec)).toEqual({ ok: true, result: { machineId: vmId, state: 'stopped', version: 5, media: null } });
    expect(existsSync(path.join(dataDir, 'images', `${sha}.img`))).toBe(true);
    expect(fe.downloads.filter((d) => d.path === '/api/agents/images/tiny-linux').map((d) => d.status)).toEqual([200, 200]);

    // Version mismatch: refused, nothing started.
    expect(await cmd.send(AgentCommands.start, { machineId: vmId, version: 4 })).toMatchObject({
      ok: false,
      code: 'conflict',
      error: expect.stringMatching(/version 5/),
    });
    expect(await cmd.send(AgentCommands.start, { machineId: randomUUID(), version: 1 })).toMatchObject({ ok: false, code: 'not-found' });

    const t0 = Date.now();
    expect(await cmd.send(AgentCommands.start, { machineId: vmId, version: 5 })).toEqual({
      ok: true,
      result: { machineId: vmId, state: 'running', version: 5, media: null },
    });
    const hb = await fe.waitForHeartbeat((h) => vmOf(h.vms, vmId)?.state === 'running', { since: t0 });
    expect(vmOf(hb.vms, vmId)).toEqual({ machineId: vmId, state: 'running', version: 5, media: null });
    expect(await cmd.send(AgentCommands.start, { machineId: vmId, version: 5 })).toMatchObject({
      ok: false,
      code: 'conflict',
      error: expect.stringMatching(/running/),
    });

    // Install media, live: fetched once (signed), reported by id in heartbeats, ejected.
    const isoSha = sha256Hex(readFileSync(img.iso));
    expect(await cmd.send(AgentCommands.attachMedia, { machineId: vmId, version: 5, media: { id: 'tiny-iso', sha256: isoSha } })).toEqual({
      ok: true,
      result: { machineId: vmId, state: 'running', version: 5, media: 'tiny-iso' },
    });
    await fe.waitForHeartbeat((h) => vmOf(h.vms, vmId)?.media === 'tiny-iso', { since: Date.now() });
    expect(await cmd.send(AgentCommands.ejectMedia, { machineId: vmId, version: 5 })).toMatchObject({ ok: true, result: { media: null } });
    await waitForSerial(vmId, MARKER);
  });

  it('console relay: a valid ticket gets QEMU RFB; expired, reused and unknown tickets are closed with no byte; a new viewer replaces the old', async () => {
    const from = agent.output.length;
    const t1 = await openTicket(vmId);
    const v1 = viewer(t1);
    expect(await v1.bytes(12)).toBe('RFB 003.008\n');

    // Reused.
    const reused = viewer(t1);
    expect(await closedWithin(reused.closed, 3_000)).toBe(true);
    expect(reused.data().length).toBe(0);
    // Unknown.
    const unknown = viewer(randomBytes(24).toString('base64url'));
    expect(await closedWithin(unknown.closed, 3_000)).toBe(true);
    expect(unknown.data().length).toBe(0);
    // Expired.
    const t3 = await openTicket(vmId, 300);
    await new Promise((r) => setTimeout(r, 500));
    const expired = viewer(t3);
    expect(await closedWithin(expired.closed, 3_000)).toBe(true);
    expect(expired.data().length).toBe(0);

    // A second viewer of the same machine replaces the first.
    expect(v1.socket.destroyed).toBe(false);
    const v2 = viewer(await openTicket(vmId));
    expect(await v2.bytes(12)).toBe('RFB 003.008\n');
    expect(await closedWithin(v1.closed, 3_000)).toBe(true);
    // v2 talks RFB with QEMU through the relay: version, then the security types (1 = none).
    v2.socket.write('RFB 003.008\n');
    expect(
      (await v2.bytes(14))
        .slice(12)
        .split('')
        .map((c) => c.charCodeAt(0)),
    ).toEqual([1, 1]);
    v2.socket.destroy();

    await expect.poll(() => agent.since(from), { timeout: 5_000 }).toMatch(/replaced by 127\.0\.0\.1/);
    const log = agent.since(from);
    expect(log).toMatch(/reused/);
    expect(log).toMatch(/unknown ticket/);
    expect(log).toMatch(/expired \d+ ms ago/);
    expect(log).toMatch(/replaced by 127\.0\.0\.1/);
    // No console for a machine that is not running.
    expect(
      await cmd.send(AgentCommands.consoleOpen, { machineId: randomUUID(), ticket: randomBytes(24).toString('hex'), expiresAt: Date.now() + 5_000 }),
    ).toMatchObject({ ok: false, code: 'not-found' });
  });

  it('suspends (version + 1, state saved, process ended) and resumes through the agent', async () => {
    const pid = qemuPid(vmId);
    const t0 = Date.now();
    expect(await cmd.send(AgentCommands.suspend, { machineId: vmId, version: 5 })).toEqual({
      ok: true,
      result: { machineId: vmId, state: 'suspended', version: 6, media: null },
    });
    console.log(`suspend through the agent: ${Date.now() - t0} ms`);
    expect(pidAlive(pid)).toBe(false);
    expect(vmOf((await fe.waitForHeartbeat((h) => vmOf(h.vms, vmId)?.state === 'suspended', { since: t0 })).vms, vmId)?.version).toBe(6);
    expect(await cmd.send(AgentCommands.start, { machineId: vmId, version: 6 })).toMatchObject({
      ok: false,
      code: 'conflict',
      error: expect.stringMatching(/suspended/),
    });
    expect(
      await cmd.send(AgentCommands.consoleOpen, { machineId: vmId, ticket: randomBytes(24).toString('hex'), expiresAt: Date.now() + 5_000 }),
    ).toMatchObject({ ok: false, code: 'conflict' });
    const from = serialLog(vmId).length;
    expect(await cmd.send(AgentCommands.resume, { machineId: vmId, version: 6 })).toEqual({
      ok: true,
      result: { machineId: vmId, state: 'running', version: 6, media: null },
    });
    await waitForSerial(vmId, /tick \d+/, from, 20_000);
    expect(pidAlive(qemuPid(vmId))).toBe(true);
  });

  it('survives SIGKILL: restarted without a token it reuses agent.json, finds the VM running, and stops it (version + 1); a VM that ended meanwhile is reported', async () => {
    // A second, blank machine: SeaBIOS only ("No bootable device"), no guest boot to wait for.
    expect(await cmd.send(AgentCommands.create, { machineId: blankId, mac: mac(), vcpus: 1, memoryMb: 64, diskMb: 16, version: 1 })).toMatchObject({
      ok: true,
    });
    expect(await cmd.send(AgentCommands.start, { machineId: blankId, version: 1 })).toMatchObject({ ok: true, result: { state: 'running' } });
    const vmPid = qemuPid(vmId);
    const blankPid = qemuPid(blankId);

    expect((await agent.kill('SIGKILL')).signal).toBe('SIGKILL');
    await cmd.close();
    expect(pidAlive(vmPid)).toBe(true);
    // The blank machine's QEMU dies while no agent watches.
    process.kill(blankPid, 'SIGKILL');
    while (pidAlive(blankPid)) await new Promise((r) => setTimeout(r, 20));

    const t0 = Date.now();
    agent = startAgent({ VIRTUOSO_FRONTEND_URL: fe.url }); // no join token
    await agent.ready();
    expect(agent.output).toMatch(/found 1 running machine\(s\) again: /);
    expect(fe.joins).toHaveLength(1);
    cmd = new CommandClient('127.0.0.1', port, fe.agentId, fe.secret);
    const hb = await fe.waitForHeartbeat((h) => h.events.some((e) => e.machineId === blankId), { since: t0 });
    expect(vmOf(hb.vms, vmId)).toEqual({ machineId: vmId, state: 'running', version: 6, media: null });
    expect(vmOf(hb.vms, blankId)).toMatchObject({ state: 'stopped', version: 2 });
    expect(hb.events).toEqual([
      { machineId: blankId, kind: 'crashed', version: 2, at: expect.any(String), detail: expect.stringMatching(/while the agent was not running/) },
    ]);
    expect(qemuPid(vmId)).toBe(vmPid);

    // The reattached VM still has a console and still stops.
    const v = viewer(await openTicket(vmId));
    expect(await v.bytes(12)).toBe('RFB 003.008\n');
    const t1 = Date.now();
    const r = await cmd.send(AgentCommands.stop, { machineId: vmId, version: 6, timeoutMs: 30_000 });
    expect(r).toEqual({ ok: true, result: { machineId: vmId, state: 'stopped', version: 7, media: null } });
    console.log(`stop of a reattached VM (ACPI): ${Date.now() - t1} ms`);
    expect(serialLog(vmId)).toContain('VIRTUOSO-GUEST-POWERDOWN'); // graceful, not forced
    expect(pidAlive(vmPid)).toBe(false);
    expect(await closedWithin(v.closed, 3_000)).toBe(true);
    const after = await fe.waitForHeartbeat((h) => vmOf(h.vms, vmId)?.state === 'stopped', { since: t1 });
    expect(vmOf(after.vms, vmId)).toEqual({ machineId: vmId, state: 'stopped', version: 7, media: null });
    expect(after.events.filter((e) => e.machineId === vmId)).toEqual([]); // a requested stop is no event
    // The stale version is refused now.
    expect(await cmd.send(AgentCommands.stop, { machineId: vmId, version: 6 })).toMatchObject({ ok: false, code: 'conflict' });
    // Delete: idempotent, and the directory goes.
    expect(await cmd.send(AgentCommands.delete, { machineId: blankId, version: 2 })).toEqual({
      ok: true,
      result: { machineId: blankId, state: 'absent', version: 2, media: null },
    });
    expect(existsSync(machineDir(blankId))).toBe(false);
    expect(await cmd.send(AgentCommands.delete, { machineId: blankId, version: 2 })).toMatchObject({ ok: true, result: { state: 'absent' } });
  });

  it('SIGTERM leaves VMs running; a guest power-off (poweroff -f typed on its keyboard) is reported in a heartbeat, resent until acknowledged, then not again', async () => {
    expect(await cmd.send(AgentCommands.start, { machineId: vmId, version: 7 })).toMatchObject({ ok: true, result: { state: 'running', version: 7 } });
    const pid = qemuPid(vmId);
    const from = serialLog(vmId).length;
    await waitForSerial(vmId, MARKER, from);

    // Graceful shutdown: the agent exits, the VM does not.
    await cmd.close();
    const t0 = Date.now();
    expect(await agent.kill('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(agent.output).toMatch(/SIGTERM: shutting down/);
    expect(pidAlive(pid)).toBe(true);
    agent = startAgent();
    await agent.ready();
    cmd = new CommandClient('127.0.0.1', port, fe.agentId, fe.secret);

    // The front-end is briefly unavailable: the event must wait on disk for a 2xx.
    fe.heartbeatStatus = 503;
    const t1 = Date.now();
    // Typed on tty1 like a person would (Ctrl-Alt-Del reboots the guest); again if the shell had not taken the keys yet.
    const typePoweroff = async () => {
      for (const key of ['ret', 'p', 'o', 'w', 'e', 'r', 'o', 'f', 'f', 'spc', 'minus', 'f', 'ret']) {
        if (!(await cmd.send(AgentCommands.sendKeys, { machineId: vmId, version: 7, keys: [key] })).ok) return;
      }
    };
    await typePoweroff();
    let typedAt = Date.now();
    const deadline = Date.now() + 60_000;
    while (!fe.heartbeats.some((h) => h.at >= t1 && h.status === 503 && h.hb.events.length > 0)) {
      if (Date.now() > deadline) throw new Error('no refused heartbeat carrying the event');
      if (Date.now() - typedAt > 10_000) {
        await typePoweroff();
        typedAt = Date.now();
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(pendingJournal(dataDir).filter((entry) => entry.kind === 'vm.poweredOff')).toHaveLength(1);
    fe.heartbeatStatus = 204;
    const hb = await fe.waitForHeartbeat((h) => h.events.length > 0, { since: t1 });
    console.log(`guest power-off to acknowledged heartbeat: ${Date.now() - t1} ms`);
    expect(hb.events).toEqual([{ machineId: vmId, kind: 'poweredOff', version: 8, at: expect.any(String), detail: 'guest-shutdown' }]);
    expect(vmOf(hb.vms, vmId)).toEqual({ machineId: vmId, state: 'stopped', version: 8, media: null });
    expect(pidAlive(pid)).toBe(false);
    expect(agent.output).toMatch(/heartbeat failed: 503/);

    // Acknowledged: never sent again.
    const acked = Date.now();
    await fe.waitForHeartbeat(() => true, { since: acked + 1_500 });
    expect(fe.heartbeats.filter((h) => h.at > acked).every((h) => h.hb.events.length === 0)).toBe(true);
    expect(fe.ackedEvents.filter((e) => e.machineId === vmId)).toHaveLength(1);
    expect(pendingJournal(dataDir).filter((entry) => entry.event)).toEqual([]);
    // The journal holds the machine's life as the agent saw it, numbered in order across the restarts above.
    const journal = journalOf(dataDir);
    expect(journal.map((entry) => entry.seq)).toEqual(journal.map((_, i) => journal[0].seq + i));
    const kinds = journal.filter((entry) => entry.machineId === vmId).map((entry) => entry.kind);
    expect(kinds).toEqual(
      expect.arrayContaining(['agent.command.received', 'agent.command.done', 'vm.process.started', 'qmp.SHUTDOWN', 'vm.process.ended', 'vm.poweredOff']),
    );
    expect(kinds.lastIndexOf('qmp.SHUTDOWN')).toBeLessThan(kinds.lastIndexOf('vm.process.ended'));
    expect(kinds.lastIndexOf('vm.process.ended')).toBeLessThan(kinds.lastIndexOf('vm.poweredOff'));
  });
});
