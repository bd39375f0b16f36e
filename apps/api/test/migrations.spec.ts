import { MIGRATION_REPORT_PATH, sign } from '@virtuoso/contracts';
import { quote } from '@virtuoso/domain';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LedgerEntry } from '../src/accounts/ledger-entry.entity';
import { Agent as AgentRow } from '../src/agents/agent.entity';
import { BillingService } from '../src/billing/billing.service';
import { Reconciler } from '../src/agents/reconciler.service';
import { Database } from '../src/common/database.service';
import { Machine } from '../src/machines/machine.entity';
import { Migration } from '../src/migrations/migration.entity';
import { MigrationWatch } from '../src/migrations/migration-watch.service';
import { Host } from '../src/providers/host.entity';
import { HostsService, pricesOf } from '../src/providers/hosts.service';
import { Agent, TestApp, heardFrom, startApp, virt8, win2000Pro } from './helpers';

type User = Agent & { handle: string; userId: string };
const SECRET = 'stand-in';

/**
 * The migration API without agent processes (migration.spec.ts has the real ones): the checks of
 * POST …/migrate, each a 4xx naming the problem that changes nothing; the migrate search; and the
 * report intake (signature, VMMP version, HEARTBEAT progress, RESP commit or rollback), the
 * heartbeat watchdog and cancel, on migrations begun as the orchestrator begins them. Hosts have
 * stand-in agent rows (heardFrom) that no process answers: QUERYs and finishes get no answer.
 */
describe.sequential('migrations API', () => {
  let t: TestApp;
  let provider: User;
  let buyer: User;
  let stranger: User;
  const hosts: Record<string, { id: string; name: string }> = {};
  let machine: { id: string; name: string };
  const db = () => t.app.get(DataSource);
  const agentOf = async (hostId: string) => (await db().getRepository(Host).findOneByOrFail({ id: hostId })).agentId!;

  beforeAll(async () => {
    t = await startApp({ config: { agentOfflineMs: 3_600_000, migrationHeartbeatTimeoutMs: 15_000 } });
    provider = await t.signUp('provider');
    buyer = await t.signUp('buyer');
    stranger = await t.signUp('buyer');
    const add = async (name: string, overrides: Record<string, unknown> = {}) => {
      const response = await provider.post('/api/hosts').send(virt8({ name, ...overrides }));
      expect(response.status, JSON.stringify(response.body)).toBe(201);
      hosts[name] = response.body;
    };
    await add('virtA');
    await add('virtB', { speedUnitPrice: '.000005', storageUnitPrice: '.02' });
    await add('tiny', { speed: 1000, storage: 500 });
    await add('gone-quiet');
    await heardFrom(
      t,
      Object.values(hosts).map((h) => h.id),
    );
    // virtA's agent runs a transfer sshd; gone-quiet's agent was last heard from two hours ago.
    await db()
      .getRepository(AgentRow)
      .update(
        { id: await agentOf(hosts.virtA.id) },
        {
          transferSshPort: 7302,
          transferSshUser: 'virtuoso',
          transferHostKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG0aHostKeyOfVirtA0000000000000000000000000',
          transferFingerprint: 'SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU',
        },
      );
    await db()
      .getRepository(AgentRow)
      .update({ id: await agentOf(hosts['gone-quiet'].id) }, { lastHeartbeatAt: new Date(Date.now() - 7_200_000).toISOString() });
    for (const agent of await db().getRepository(AgentRow).find()) await db().getRepository(AgentRow).update({ id: agent.id }, { secret: SECRET });
    machine = (await buyer.post('/api/machines').send(win2000Pro())).body;
    await storedOn(machine.id, hosts.virtA.id, 'stopped', 2);
  });
  afterAll(async () => {
    await t?.close();
  });

  /** The machine as storing on a host leaves it (reservation, fixed prices, storage billed), at a state and version. */
  async function storedOn(id: string, hostId: string, state: Machine['state'], version: number): Promise<void> {
    await t.app.get(Database).transaction(async (em) => {
      const row = await em.findOneByOrFail(Machine, { id });
      const host = await t.app.get(HostsService).reserve(em, hostId, { speed: row.speed, memory: row.memory, disk: row.disk });
      const fixed = quote(pricesOf(host), { speed: row.speed, memory: row.memory, disk: row.disk });
      const prices = {
        storagePrice: fixed.storagePrice,
        storageAmount: fixed.storageAmount,
        runningPrice: fixed.runningPrice,
        runningUnitAmount: fixed.runningUnitAmount,
      };
      await em.update(Machine, { id }, { state, version, hostId, ...prices, storedAt: new Date().toISOString() });
      await t.app.get(BillingService).onStored(em, { id, ownerId: row.ownerId, hostId, ...prices });
    });
  }

  /** A migration as POST …/migrate leaves it once the destination accepted the REQ: B reserved, the machine migrating, the row transferring. */
  async function begun(to = hosts.virtB.id, heartbeatAgoMs: number | null = null): Promise<string> {
    const id = randomUUID();
    await t.app.get(Database).transaction(async (em) => {
      const row = await em.findOneByOrFail(Machine, { id: machine.id });
      const origin = await em.findOneByOrFail(Host, { id: row.hostId! });
      const destination = await t.app.get(HostsService).reserve(em, to, { speed: row.speed, memory: row.memory, disk: row.disk });
      const fixed = quote(pricesOf(destination), { speed: row.speed, memory: row.memory, disk: row.disk });
      const now = new Date().toISOString();
      await em.update(Machine, { id: row.id }, { state: 'migrating', previousState: row.state, transientSince: now, revision: row.revision + 1 });
      await em.insert(Migration, {
        id,
        machineId: row.id,
        ownerId: row.ownerId,
        fromHostId: origin.id,
        toHostId: destination.id,
        fromHostName: origin.name,
        toHostName: destination.name,
        method: 'RSYNC',
        phase: 'transferring',
        previousState: row.state,
        fromVersion: row.version,
        toVersion: null,
        bytesDone: 0,
        bytesTotal: 64 << 20,
        bytesPerSecond: 0,
        bytesTransferred: null,
        transferMs: null,
        transferringSince: now,
        lastHeartbeatAt: heartbeatAgoMs === null ? null : new Date(Date.now() - heartbeatAgoMs).toISOString(),
        lastHeartbeatVmmp: null,
        error: null,
        storagePrice: fixed.storagePrice,
        storageAmount: fixed.storageAmount,
        runningPrice: fixed.runningPrice,
        runningUnitAmount: fixed.runningUnitAmount,
        arrivalChargeKey: null,
        cleanedUp: false,
        startedAt: now,
        finishedAt: null,
        log: '[]',
      } as Migration);
    });
    return id;
  }

  const report = async (hostId: string, migrationId: string, vmmp: string, extra: Record<string, unknown> = {}) => {
    const agentId = await agentOf(hostId);
    return t
      .anonymous()
      .post(MIGRATION_REPORT_PATH)
      .send(sign(SECRET, agentId, MIGRATION_REPORT_PATH, { agentId, migrationId, vmmp, ...extra }));
  };
  const machines = () => db().getRepository(Machine);
  const reserved = async (hostId: string) => (await db().getRepository(Host).findOneByOrFail({ id: hostId })).reservedSpeed;
  const current = async () => (await buyer.get(`/api/machines/${machine.id}/migration`)).body;

  it('the migrate search lists every other host that fits, cheapest first, with its prices, withinAsked, and no methods where the QUERY got no answer', async () => {
    const response = await buyer.get(`/api/machines/${machine.id}/migration-offers`);
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    const offers = response.body as Array<Record<string, unknown>>;
    expect(offers.map((o) => o.hostName)).toEqual(['virtB', 'gone-quiet']);
    const [b, quiet] = offers;
    expect(b).toMatchObject({ hostId: hosts.virtB.id, methods: [], withinAsked: true, storageAmount: 30 });
    expect(b.unavailable).toMatch(/not reachable|did not answer/);
    expect((b.vmmp as string[])[0]).toBe(`<VMMP 1.0 QUERY ${machine.id} METHODS>`);
    expect(quiet).toMatchObject({ methods: [], unavailable: 'its agent is offline', vmmp: [] });
  });

  it('refuses, changing nothing: not the owner 404, stale If-Match 412, a state that cannot migrate 409, same host 409, unknown host 404', async () => {
    const registered = (await buyer.post('/api/machines').send(win2000Pro({ name: 'never-stored' }))).body;
    const before = await t.snapshot();
    const post = (who: User, body: Record<string, unknown>, id = machine.id, ifMatch?: string) => {
      const request = who.post(`/api/machines/${id}/migrate`).send(body);
      return ifMatch ? request.set('If-Match', ifMatch) : request;
    };
    const notOwner = await post(stranger, { hostId: hosts.virtB.id, method: 'RSYNC' });
    expect(notOwner.status).toBe(404);
    expect(notOwner.body.message).toBe('machine not found');
    const stale = await post(buyer, { hostId: hosts.virtB.id, method: 'RSYNC' }, machine.id, '"1"');
    expect(stale.status).toBe(412);
    expect(stale.body.message).toMatch(/is at version 2, not version 1/);
    const wrongState = await post(buyer, { hostId: hosts.virtB.id, method: 'RSYNC' }, registered.id);
    expect(wrongState.status).toBe(409);
    expect(wrongState.body.message).toBe('Cannot migrate a machine that is registered');
    const sameHost = await post(buyer, { hostId: hosts.virtA.id, method: 'RSYNC' });
    expect(sameHost.status).toBe(409);
    expect(sameHost.body.message).toMatch(/already on this host/);
    const unknown = await post(buyer, { hostId: randomUUID(), method: 'RSYNC' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.message).toBe('host not found');
    expect(await t.snapshot()).toEqual(before);
  });

  it('refuses, changing nothing: a bad method 400, a method not offered 409, a host without room 409, an offline host 503, an origin without a transfer port 503, a destination that does not answer the QUERY 503', async () => {
    const before = await t.snapshot();
    const post = (body: Record<string, unknown>) => buyer.post(`/api/machines/${machine.id}/migrate`).send(body);
    const bad = await post({ hostId: hosts.virtB.id, method: 'FTP' });
    expect(bad.status).toBe(400);
    expect(bad.body.fields.method[0]).toMatch(/method must be one of SCP, RSYNC/);
    const notOffered = await post({ hostId: hosts.virtB.id, method: 'REDOLOG' });
    expect(notOffered.status).toBe(409);
    expect(notOffered.body.message).toBe('method REDOLOG is not offered yet; choose SCP or RSYNC');
    const noRoom = await post({ hostId: hosts.tiny.id, method: 'RSYNC' });
    expect(noRoom.status).toBe(409);
    expect(noRoom.body.message).toMatch(/^host tiny cannot hold the machine: 1000 bogomips/);
    const offline = await post({ hostId: hosts['gone-quiet'].id, method: 'RSYNC' });
    expect(offline.status).toBe(503);
    expect(offline.body.message).toMatch(/^host gone-quiet is offline \(its agent was last heard from at /);
    const silent = await post({ hostId: hosts.virtB.id, method: 'RSYNC' });
    expect(silent.status).toBe(503);
    expect(silent.body.message).toMatch(/^host virtB did not answer the VMMP QUERY \(.*\); nothing changed$/);
    const agents = db().getRepository(AgentRow);
    const originAgent = await agentOf(hosts.virtA.id);
    const transfer = await agents.findOneByOrFail({ id: originAgent });
    await agents.update({ id: originAgent }, { transferSshPort: null });
    const noPort = await post({ hostId: hosts.virtB.id, method: 'RSYNC' });
    await agents.update({ id: originAgent }, { transferSshPort: transfer.transferSshPort });
    expect(noPort.status).toBe(503);
    expect(noPort.body.message).toBe('host virtA cannot send machines: its agent runs no transfer sshd (its provider starts the agent with --ssh-port)');
    expect(await t.snapshot()).toEqual(before);
  });

  it('before any migration: GET …/migration is a 404, the list is empty, cancel is a 409', async () => {
    expect((await buyer.get(`/api/machines/${machine.id}/migration`)).status).toBe(404);
    expect((await buyer.get(`/api/machines/${machine.id}/migrations`)).body).toEqual([]);
    const cancel = await buyer.post(`/api/machines/${machine.id}/migration/cancel`);
    expect(cancel.status).toBe(409);
    expect(cancel.body.message).toBe(`no migration of ${machine.name} is under way`);
  });

  it("the report intake: 401 unless signed by the migration's destination agent, 400 naming the reason for another VMMP version; a HEARTBEAT moves the progress", async () => {
    const id = await begun();
    const before = await t.snapshot();
    const unsigned = await t
      .anonymous()
      .post(MIGRATION_REPORT_PATH)
      .send({ agentId: 'x', migrationId: id, vmmp: `<VMMP 1.0 HEARTBEAT ${machine.id}>` });
    expect(unsigned.status).toBe(401);
    const byOrigin = await report(hosts.virtA.id, id, `<VMMP 1.0 HEARTBEAT ${machine.id} 1 2 3>`);
    expect(byOrigin.status).toBe(401);
    expect(byOrigin.body.message).toBe(`agent message refused: not signed by the destination's agent of migration ${id}`);
    const otherVersion = await report(hosts.virtB.id, id, `<VMMP 2.0 HEARTBEAT ${machine.id}>`);
    expect(otherVersion.status).toBe(400);
    expect(otherVersion.body.fields.vmmp[0]).toBe('vmmp refused: VMMP version 2.0 is not supported: this side speaks VMMP 1.0 only');
    const otherMachine = await report(hosts.virtB.id, id, `<VMMP 1.0 HEARTBEAT ${randomUUID()}>`);
    expect(otherMachine.status).toBe(400);
    expect(await t.snapshot()).toEqual(before);

    const first = `<VMMP 1.0 HEARTBEAT ${machine.id} 16777216 67108864 8388608>`;
    expect((await report(hosts.virtB.id, id, first)).status).toBe(204);
    expect((await report(hosts.virtB.id, id, `<VMMP 1.0 HEARTBEAT ${machine.id} 33554432 67108864 8388608>`)).status).toBe(204);
    const progress = await current();
    expect(progress).toMatchObject({ id, phase: 'transferring', bytesDone: 33554432, bytesTotal: 67108864, bytesPerSecond: 8388608, secondsLeft: 4 });
    expect(progress.lastHeartbeatAt).not.toBeNull();
    // The log keeps the first HEARTBEAT, not every one.
    expect(progress.log.map((l: { text: string }) => l.text)).toEqual([first]);
    // Cancel rolls back; the machine is where and as it was.
    const cancelled = await buyer.post(`/api/machines/${machine.id}/migration/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ phase: 'rolled-back', error: 'cancelled by the buyer' });
    expect((await buyer.get(`/api/machines/${machine.id}`)).body).toMatchObject({ state: 'stopped', version: 2, host: { id: hosts.virtA.id } });
    expect(await reserved(hosts.virtB.id)).toBe(0);
    // A late HEARTBEAT or RESP changes nothing now.
    expect((await report(hosts.virtB.id, id, `<VMMP 1.0 RESP ${machine.id} 3 SUCCESS>`)).status).toBe(204);
    expect(await current()).toMatchObject({ phase: 'rolled-back' });
  });

  it('RESP FAIL and a RESP SUCCESS at another version roll back with the reason; no money moves', async () => {
    const ledger = db().getRepository(LedgerEntry);
    const entries = await ledger.count();
    const failed = await begun();
    expect((await report(hosts.virtB.id, failed, `<VMMP 1.0 RESP ${machine.id} 3 FAIL the destination disk is full>`)).status).toBe(204);
    expect(await current()).toMatchObject({ id: failed, phase: 'rolled-back', error: 'the destination failed: the destination disk is full' });
    const skipped = await begun();
    expect((await report(hosts.virtB.id, skipped, `<VMMP 1.0 RESP ${machine.id} 4 SUCCESS>`)).status).toBe(204);
    expect(await current()).toMatchObject({ id: skipped, phase: 'rolled-back', error: 'the destination answered version 4, not 3' });
    expect((await buyer.get(`/api/machines/${machine.id}`)).body).toMatchObject({ state: 'stopped', version: 2, host: { id: hosts.virtA.id } });
    expect(await ledger.count()).toBe(entries);
    expect(await reserved(hosts.virtB.id)).toBe(0);
  });

  it('the reconciler leaves a migrating machine to the orchestrator, however long it has been migrating', async () => {
    const id = await begun(hosts.virtB.id, 1_000);
    await machines().update({ id: machine.id }, { transientSince: new Date(Date.now() - 3_600_000).toISOString() });
    const revision = (await machines().findOneByOrFail({ id: machine.id })).revision;
    expect((await t.app.get(Reconciler).runPass(Date.now() + 3_600_000)).settled).toBe(0);
    expect(await machines().findOneByOrFail({ id: machine.id })).toMatchObject({ state: 'migrating', revision });
    await buyer.post(`/api/machines/${machine.id}/migration/cancel`).expect(200);
    expect(await current()).toMatchObject({ id, phase: 'rolled-back' });
  });

  it('recovery at boot rolls back a migration whose destination cannot be asked (its copy is never startable before a commit finish)', async () => {
    const id = await begun(hosts.virtB.id, 1_000);
    expect(await t.app.get(MigrationWatch).recover()).toBe(1);
    expect(await current()).toMatchObject({
      id,
      phase: 'rolled-back',
      error: 'the front-end restarted mid-migration and the destination could not be asked; rolled back',
      cleanedUp: false,
    });
    expect((await buyer.get(`/api/machines/${machine.id}`)).body).toMatchObject({ state: 'stopped', version: 2, host: { id: hosts.virtA.id } });
    expect(await reserved(hosts.virtB.id)).toBe(0);
  });

  it('a cancel while committing is a 409 changing nothing; a commit that never completed is settled from the agents after the window', async () => {
    const id = await begun(hosts.virtB.id, 1_000);
    await db().getRepository(Migration).update({ id }, { phase: 'committing' });
    const before = await t.snapshot();
    const cancel = await buyer.post(`/api/machines/${machine.id}/migration/cancel`);
    expect(cancel.status).toBe(409);
    expect(cancel.body.message).toBe(`the migration of ${machine.name} is committing: it can no longer be cancelled`);
    expect(await t.snapshot()).toEqual(before);
    // Within the window the watchdog leaves it; after it, the agents are asked (here: no answer, so rolled back).
    expect(await t.app.get(MigrationWatch).watchPass()).toBe(0);
    expect(await t.app.get(MigrationWatch).watchPass(Date.now() + 20_000)).toBe(1);
    expect(await current()).toMatchObject({ id, phase: 'rolled-back' });
    expect((await buyer.get(`/api/machines/${machine.id}`)).body).toMatchObject({ state: 'stopped', version: 2, host: { id: hosts.virtA.id } });
  });

  it('the heartbeat watchdog rolls back a transfer silent for longer than the window, not one heard from within it', async () => {
    const heard = await begun(hosts.virtB.id, 5_000);
    expect(await t.app.get(MigrationWatch).watchPass()).toBe(0);
    expect(await current()).toMatchObject({ id: heard, phase: 'transferring' });
    await buyer.post(`/api/machines/${machine.id}/migration/cancel`).expect(200);
    const silent = await begun(hosts.virtB.id, 16_000);
    expect(await t.app.get(MigrationWatch).watchPass()).toBe(1);
    expect(await current()).toMatchObject({ id: silent, phase: 'rolled-back', error: 'the destination sent no heartbeat for 15 s' });
    expect((await buyer.get(`/api/machines/${machine.id}`)).body).toMatchObject({ state: 'stopped', version: 2 });
  });

  it("RESP SUCCESS at version + 1 commits in one go: host B, version + 1, B's prices, storage charged at B on arrival, A released", async () => {
    const ledger = db().getRepository(LedgerEntry);
    const id = await begun();
    const aBefore = await reserved(hosts.virtA.id);
    const resp = `<VMMP 1.0 RESP ${machine.id} 3 SUCCESS>`;
    expect((await report(hosts.virtB.id, id, resp, { transfer: { bytesReceived: 1234, durationMs: 56 } })).status).toBe(204);
    const m = await current();
    expect(m).toMatchObject({ id, phase: 'committed', toVersion: 3, bytesTransferred: 1234, transferMs: 56, error: null });
    expect(m.log.map((l: { text: string }) => l.text)).toContain(resp);
    const after = (await buyer.get(`/api/machines/${machine.id}`)).body;
    const b = await db().getRepository(Host).findOneByOrFail({ id: hosts.virtB.id });
    const fixed = quote(pricesOf(b), { speed: 4000, memory: 256, disk: 1000 });
    expect(after).toMatchObject({
      state: 'stopped',
      version: 3,
      host: { id: hosts.virtB.id },
      storagePrice: fixed.storagePrice,
      runningPrice: fixed.runningPrice,
    });
    expect(m.storagePrice).toBe(fixed.storagePrice);
    expect(await reserved(hosts.virtA.id)).toBe(aBefore - 4000);
    expect(await reserved(hosts.virtB.id)).toBe(4000);
    const atB = await ledger.findBy({ machineId: machine.id, hostId: hosts.virtB.id });
    expect(atB.some((e) => e.amount === fixed.storagePrice)).toBe(true);
    // Until both agents acknowledge the finish, the origin still lists the machine: not an orphan to reclaim.
    expect(m.cleanedUp).toBe(false);
    await db()
      .getRepository(AgentRow)
      .update({ id: await agentOf(hosts.virtA.id) }, { vms: JSON.stringify([{ machineId: machine.id, state: 'stopped', version: 2 }]) });
    const reconciler = t.app.get(Reconciler);
    expect(await reconciler.reclaimOrphans(Date.now())).toBe(0);
    expect((reconciler as unknown as { orphans: Map<string, unknown> }).orphans.size).toBe(0);
    // The same RESP again changes nothing; a cancel now is a 409.
    expect((await report(hosts.virtB.id, id, resp)).status).toBe(204);
    expect((await buyer.get(`/api/machines/${machine.id}`)).body).toMatchObject({ version: 3 });
    expect((await buyer.post(`/api/machines/${machine.id}/migration/cancel`)).status).toBe(409);
    const list = (await buyer.get(`/api/machines/${machine.id}/migrations`)).body as Array<{ id: string; phase: string }>;
    expect(list[0]).toMatchObject({ id, phase: 'committed' });
    expect(list.length).toBe(9);
  });
});
