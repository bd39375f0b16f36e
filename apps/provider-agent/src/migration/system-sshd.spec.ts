import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentCommands, type MigrationExportResult } from '@virtuoso/contracts';
import { AgentProcess, freePorts } from '../agent/test-support/agent-process';
import { CommandClient, FakeFrontend } from '../agent/test-support/fake-frontend';
import { TransferClient } from './test-support/transfer-client';
import { sshPaths, TransferSshd } from './transfer-sshd';

/**
 * An agent pointed at "the system's sshd" (--ssh-port, --ssh-authorized-keys, --ssh-host-key;
 * README "The transfer port"): it runs no sshd of its own, reports that sshd's host key, and
 * writes its forced-command lines into the operator's file. The system sshd is played by an sshd
 * the test starts with the sshd_config the README describes in effect (that file, that host key).
 */
let fe: FakeFrontend;
let system: TransferSshd;
let agent: AgentProcess;
let cmd: CommandClient;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'vzy-'));
const sysDir = path.join(tmp, 'system');
const dataDir = path.join(tmp, 'agent');
const id = randomUUID();

beforeAll(async () => {
  fe = new FakeFrontend();
  await fe.start();
  const [port, consolePort, sshPort] = (await freePorts(3)) as [number, number, number];
  system = new TransferSshd({ dataDir: sysDir, listenHost: '127.0.0.1', port: sshPort });
  await system.start();
  mkdirSync(dataDir);
  agent = new AgentProcess({ VIRTUOSO_AGENT_DATA_DIR: dataDir, VIRTUOSO_ACCEL: 'tcg', VIRTUOSO_AGENT_HEARTBEAT_MS: '500' }, [
    ...['--port', String(port), '--console-port', String(consolePort), '--frontend', fe.url, '--join', fe.joinToken],
    ...['--ssh-port', String(sshPort), '--ssh-authorized-keys', system.authorizedKeysFile, '--ssh-host-key', `${sshPaths(sysDir).hostKey}.pub`],
  ]);
  await agent.ready();
  cmd = new CommandClient('127.0.0.1', port, fe.agentId, fe.secret);
  const mac = `52:54:00:${[...randomBytes(3)].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
  const r = await cmd.send(AgentCommands.create, { machineId: id, mac, vcpus: 1, memoryMb: 64, diskMb: 16, version: 1 });
  expect(r.ok).toBe(true);
});

afterAll(async () => {
  await cmd?.close();
  await agent?.kill('SIGTERM');
  await system?.stop();
  await fe?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe("the system's sshd instead of the agent's own", () => {
  it('the agent runs no sshd, reports the system host key, and serves an export through that sshd', async () => {
    expect(agent.output).toMatch(/transfers through the system sshd/);
    expect(existsSync(path.join(dataDir, 'ssh'))).toBe(false); // no sshd of its own
    const endpoint = fe.joins[0]!.facts.transfer!;
    expect(endpoint).toEqual(system.endpoint());

    const d = path.join(tmp, 'client');
    mkdirSync(d);
    const client = new TransferClient(d, '127.0.0.1', endpoint);
    const migrationId = randomUUID();
    const r = await cmd.send<MigrationExportResult>(AgentCommands.migrationExport, {
      migrationId,
      machineId: id,
      version: 1,
      method: 'RSYNC',
      publicKey: client.publicKey,
    });
    if (!r.ok) throw new Error(r.error);
    expect(readFileSync(system.authorizedKeysFile, 'utf8')).toContain(`virtuoso-migration-${migrationId}`);
    const dst = path.join(tmp, 'pull');
    const pull = await client.rsync(['-a', `${client.target}:/`, `${dst}/`]);
    expect(pull.status, pull.stderr).toBe(0);
    for (const f of r.result.files)
      expect(
        createHash('sha256')
          .update(readFileSync(path.join(dst, f.name)))
          .digest('hex'),
      ).toBe(f.sha256);

    expect(await cmd.send(AgentCommands.migrationFinish, { migrationId, machineId: id, outcome: 'abort' })).toMatchObject({ ok: true });
    expect(readFileSync(system.authorizedKeysFile, 'utf8')).not.toContain(migrationId);
    expect((await client.ssh([client.target, 'true'])).status).toBe(255);
  });
});
