import { sign } from '@virtuoso/contracts';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent as AgentRow } from '../src/agents/agent.entity';
import { AgentProcess, REPO, eventually } from './agent-process';
import { Agent, TestApp, addAgentHost, startApp, win2000Pro } from './helpers';

type User = Agent & { handle: string; userId: string };
const ISO = join(process.env.VIRTUOSO_IMAGE_DIR ?? join(REPO, '.cache', 'guest-image'), 'tiny-linux.iso');

/**
 * Install media (the report's future work, §5.1.4) through the API and a REAL agent: the buyer
 * uploads the tiny Linux ISO, puts it in a BLANK machine's CD-ROM drive, boots from it, and ejects it.
 */
describe.sequential('install media', () => {
  let t: TestApp;
  let provider: User;
  let buyer: User;
  let agent: AgentProcess;
  let host: { id: string };
  let mediaId = '';
  let machineId = '';

  beforeAll(async () => {
    t = await startApp({ listen: true, config: { mediaMaxMb: 16, stopTimeoutMs: 15_000 } });
    provider = await t.signUp('provider');
    buyer = await t.signUp('buyer');
    agent = await AgentProcess.join(t, provider, { heartbeatMs: 300 });
    host = await addAgentHost(provider, agent.agentId, { name: 'media-host' });
  });
  afterAll(async () => {
    await agent?.cleanup();
    await t?.close();
  });

  const reported = async () => {
    const row = await t.app.get(DataSource).getRepository(AgentRow).findOneByOrFail({ id: agent.agentId });
    return (JSON.parse(row.vms) as Array<{ machineId: string; state: string; version: number; media: string | null }>).find((vm) => vm.machineId === machineId);
  };

  it('uploads an ISO to the library (sha256 kept); refuses what is not an ISO (400) or too big (413)', async () => {
    const upload = await buyer.post('/api/media').field('name', 'tiny installer').attach('file', ISO);
    expect(upload.status, JSON.stringify(upload.body)).toBe(201);
    expect(upload.body).toEqual({
      id: expect.any(String),
      name: 'tiny installer',
      size: statSync(ISO).size,
      sha256: JSON.parse(readFileSync(join(ISO, '..', 'manifest.json'), 'utf8')).files['tiny-linux.iso'].sha256,
      attachedTo: [],
      createdAt: expect.any(String),
    });
    mediaId = upload.body.id;
    expect((await buyer.get('/api/media')).body.map((m: { id: string }) => m.id)).toEqual([mediaId]);

    const notIso = await buyer.post('/api/media').attach('file', Buffer.alloc(64 * 1024, 1), 'evil.iso');
    expect(notIso.status).toBe(400);
    expect(notIso.body).toMatchObject({
      message: 'not an ISO image (no ISO 9660 volume descriptor "CD001" at offset 0x8001)',
      fields: { file: ['not an ISO image'] },
    });
    const tooBig = await buyer.post('/api/media').attach('file', Buffer.alloc(17 * 1024 * 1024), 'huge.iso');
    expect(tooBig.status).toBe(413);
    expect(tooBig.body.message).toBe('file is larger than the 16 MB limit');
    const none = await buyer.post('/api/media').send({ name: 'nothing' });
    expect(none.status).toBe(400);
    expect(none.body.fields.file).toBeDefined();
    expect((await buyer.get('/api/media')).body).toHaveLength(1);
    // Nothing half-uploaded stays behind.
    expect(readFileSync(join(t.dir, 'media', `${mediaId}.iso`)).length).toBe(statSync(ISO).size);
    // Another buyer sees none of it.
    const stranger = await t.signUp('buyer');
    expect((await stranger.get('/api/media')).body).toEqual([]);
    expect((await stranger.delete(`/api/media/${mediaId}`)).status).toBe(404);
  });

  it('attaches it to a blank machine, boots from the CD-ROM, ejects it live', async () => {
    const machine = (await buyer.post('/api/machines').send(win2000Pro({ name: 'blank', speed: 2000, memory: 128, disk: 64 }))).body;
    machineId = machine.id;
    // Registered machines have no drive yet.
    expect((await buyer.post(`/api/machines/${machineId}/media`).send({ mediaId })).status).toBe(409);
    expect((await buyer.post(`/api/machines/${machineId}/store`).send({ hostId: host.id })).status).toBe(200);

    // Agents download media only for machines of their host: not signed → 401, signed but not attached → 404.
    const secret = JSON.parse(readFileSync(join(agent.dataDir, 'agent.json'), 'utf8')).secret as string;
    const path = `/api/agents/media/${mediaId}`;
    const header = Buffer.from(JSON.stringify(sign(secret, agent.agentId, path, { path }))).toString('base64');
    expect((await t.anonymous().get(path)).status).toBe(401);
    expect((await t.anonymous().get(path).set('x-virtuoso-agent', header)).status).toBe(404);

    const attached = await buyer.post(`/api/machines/${machineId}/media`).send({ mediaId });
    expect(attached.status, JSON.stringify(attached.body)).toBe(200);
    expect(attached.body).toMatchObject({ state: 'stored', media: { id: mediaId, name: 'tiny installer' } });
    expect(agent.output).toMatch(new RegExp(`fetched media ${mediaId}`));
    expect((await buyer.get('/api/media')).body[0].attachedTo).toEqual([{ id: machineId, name: 'blank' }]);
    const inUse = await buyer.delete(`/api/media/${mediaId}`);
    expect(inUse.status).toBe(409);
    expect(inUse.body.message).toBe('tiny installer is in the CD-ROM drive of blank; eject it first');

    const badBoot = await buyer.post(`/api/machines/${machineId}/start`).send({ bootFrom: 'floppy' });
    expect(badBoot.status).toBe(400);
    expect(badBoot.body.fields.bootFrom).toEqual(["bootFrom must be 'disk' or 'cdrom'"]);
    const t0 = Date.now();
    const started = await buyer.post(`/api/machines/${machineId}/start`).send({ bootFrom: 'cdrom' });
    expect(started.status, JSON.stringify(started.body)).toBe(200);
    expect(started.body).toMatchObject({ state: 'running', version: 1, media: { id: mediaId } });
    expect(await eventually(async () => (await reported())?.state === 'running' && reported(), 'running with the medium')).toMatchObject({ media: mediaId });
    // The blank disk has nothing to boot: what prints the marker is the ISO.
    await agent.waitForSerial(machineId, /VIRTUOSO-GUEST-READY/, 60_000);
    console.log(`start from the CD-ROM → guest's serial marker: ${Date.now() - t0} ms`);

    const ejected = await buyer.delete(`/api/machines/${machineId}/media`);
    expect(ejected.status).toBe(200);
    expect(ejected.body).toMatchObject({ state: 'running', media: null });
    await eventually(async () => (await reported())?.media === null, 'a heartbeat without the medium');
    expect((await buyer.get('/api/media')).body[0].attachedTo).toEqual([]);
    // Live attach works too, and eject again.
    expect((await buyer.post(`/api/machines/${machineId}/media`).send({ mediaId })).body.media).toEqual({ id: mediaId, name: 'tiny installer' });
    expect((await buyer.delete(`/api/machines/${machineId}/media`)).body.media).toBeNull();
  });

  it('deletes the medium once no machine has it', async () => {
    expect((await buyer.post(`/api/machines/${machineId}/stop`)).status).toBe(200);
    expect((await buyer.delete(`/api/media/${mediaId}`)).status).toBe(204);
    expect((await buyer.get('/api/media')).body).toEqual([]);
    expect((await buyer.post(`/api/machines/${machineId}/media`).send({ mediaId })).status).toBe(404);
    expect((await buyer.delete(`/api/machines/${machineId}`)).status).toBe(204);
  });
});
