import { describe, expect, it } from 'vitest';
import { AgentProtocol, checkAgentMessage } from './command-map';
import { HeartbeatDto } from './messages.dto';
import { AgentCommands, type AgentCommand } from './protocol';

const machineId = '7C9E6679-7425-40DE-944B-E07FC1F90AE7';
const sha256 = 'AB'.repeat(32);
const facts = { bogomips: 10399, cpus: 2, memoryMb: 24105, freeDiskMb: 51200, accelerator: 'tcg', agentVersion: '0.1.0', hostname: 'rack7' };
const vm = { machineId: machineId.toLowerCase(), state: 'running', version: 3, media: null };

/** For each command: a valid request, an invalid one, and the problem the invalid one is refused for. */
const requests: Record<AgentCommand, { valid: object; invalid: unknown; problem: RegExp }> = {
  [AgentCommands.facts]: { valid: {}, invalid: 'facts please', problem: /an object is expected/ },
  [AgentCommands.list]: { valid: {}, invalid: [], problem: /an object is expected/ },
  [AgentCommands.create]: {
    valid: { machineId, mac: '52:54:00:12:34:56', vcpus: 1, memoryMb: 128, diskMb: 64, version: 1, image: { name: 'tiny-linux.qcow2', sha256 } },
    invalid: { machineId, mac: '52:54:00:12:34:56', vcpus: 1, memoryMb: 128, diskMb: 0, version: 1 },
    problem: /^diskMb must be at least 1$/,
  },
  [AgentCommands.start]: {
    valid: { machineId, version: 2, bootFrom: 'cdrom' },
    invalid: { machineId, version: 2, bootFrom: 'floppy' },
    problem: /bootFrom must be 'disk' or 'cdrom'/,
  },
  [AgentCommands.stop]: {
    valid: { machineId, version: 2, timeoutMs: 5000, force: true },
    invalid: { machineId, version: 2, force: 'yes' },
    problem: /force must be true or false/,
  },
  [AgentCommands.reboot]: { valid: { machineId, version: 2 }, invalid: { machineId: 'x', version: 2 }, problem: /machineId must be a machine id/ },
  [AgentCommands.reset]: { valid: { machineId, version: 2 }, invalid: { machineId, version: -1 }, problem: /version must be at least 0/ },
  [AgentCommands.suspend]: { valid: { machineId, version: 2 }, invalid: { machineId, version: 2.5 }, problem: /version must be a whole number/ },
  [AgentCommands.resume]: { valid: { machineId, version: 2 }, invalid: { machineId }, problem: /version must be a whole number/ },
  [AgentCommands.delete]: { valid: { machineId, version: 0 }, invalid: { version: 0 }, problem: /machineId must be a machine id/ },
  [AgentCommands.attachMedia]: {
    valid: { machineId, version: 2, media: { id: 'm-1', sha256 } },
    invalid: { machineId, version: 2 },
    problem: /media must be an object/,
  },
  [AgentCommands.ejectMedia]: { valid: { machineId, version: 2 }, invalid: { machineId, version: '2' }, problem: /version must be a whole number/ },
  [AgentCommands.sendKeys]: {
    valid: { machineId, keys: ['ctrl', 'alt', 'delete'] },
    invalid: { machineId, keys: ['ctrl', 'alt', 'del;rm'] },
    problem: /keys must be 1 to 8 QEMU qcodes/,
  },
  [AgentCommands.consoleOpen]: {
    valid: { machineId, ticket: 'a'.repeat(32), expiresAt: 1795600000000 },
    invalid: { machineId, ticket: 'short', expiresAt: 1 },
    problem: /ticket must be 16 to 512/,
  },
  [AgentCommands.retire]: {
    valid: { reason: 'the host was deleted' },
    invalid: { reason: 'x'.repeat(501) },
    problem: /reason must be a text of at most 500 characters/,
  },
};

describe('agent command requests (AgentProtocol)', () => {
  it('has a request and a result DTO for every command', () => {
    expect(Object.keys(AgentProtocol).sort()).toEqual(Object.values(AgentCommands).sort());
  });

  for (const [command, { valid, invalid, problem }] of Object.entries(requests) as Array<[AgentCommand, (typeof requests)[AgentCommand]]>) {
    it(`${command}: takes a valid body and refuses an invalid one, naming the problem`, () => {
      const ok = checkAgentMessage(AgentProtocol[command].request, valid);
      expect(ok.ok, JSON.stringify(!ok.ok && ok.problems)).toBe(true);
      const bad = checkAgentMessage(AgentProtocol[command].request, invalid);
      expect(bad.ok).toBe(false);
      expect(!bad.ok && bad.problems.join('\n')).toMatch(problem);
    });
  }

  it('lower-cases ids and hashes and drops unknown fields', () => {
    const checked = checkAgentMessage(AgentProtocol[AgentCommands.attachMedia].request, {
      machineId,
      version: 2,
      media: { id: 'm-1', sha256, extra: 1 },
      rogue: true,
    });
    expect(checked).toMatchObject({ ok: true });
    expect(JSON.parse(JSON.stringify(checked.ok && checked.value))).toEqual({
      machineId: machineId.toLowerCase(),
      version: 2,
      media: { id: 'm-1', sha256: sha256.toLowerCase() },
    });
  });
});

describe('agent command results', () => {
  it('checks a machine state, a list of them, host facts and console endpoints', () => {
    expect(checkAgentMessage(AgentProtocol[AgentCommands.start].result, vm).ok).toBe(true);
    expect(checkAgentMessage(AgentProtocol[AgentCommands.list].result, [vm, { ...vm, state: 'absent' }]).ok).toBe(true);
    expect(checkAgentMessage(AgentProtocol[AgentCommands.facts].result, facts).ok).toBe(true);
    expect(checkAgentMessage(AgentProtocol[AgentCommands.consoleOpen].result, { machineId, expiresAt: 1, consolePort: 7102 }).ok).toBe(true);
    expect(checkAgentMessage(AgentProtocol[AgentCommands.retire].result, { retired: true }).ok).toBe(true);
  });

  it('refuses a result of another shape, naming the field (list items by index)', () => {
    const one = checkAgentMessage(AgentProtocol[AgentCommands.stop].result, { ...vm, state: 'exploded' });
    expect(!one.ok && one.problems).toEqual(['state must be stopped, running, paused, suspended or absent']);
    const list = checkAgentMessage(AgentProtocol[AgentCommands.list].result, [vm, { ...vm, version: 'x' }]);
    expect(!list.ok && list.problems).toContain('1.version must be a whole number');
    expect(checkAgentMessage(AgentProtocol[AgentCommands.list].result, vm)).toMatchObject({ ok: false, problems: ['a list is expected'] });
    expect(checkAgentMessage(AgentProtocol[AgentCommands.retire].result, { retired: false }).ok).toBe(false);
  });
});

describe('heartbeat', () => {
  const event = { machineId: vm.machineId, kind: 'poweredOff', at: '2026-11-25T10:00:00.000Z', version: 4, detail: 'guest-shutdown' };
  const heartbeat = { agentId: '9b2d3a4c-1111-4a53-9d0e-6c1f0f2f9b11', facts, vms: [vm], events: [event] };

  it('takes a valid heartbeat', () => {
    expect(checkAgentMessage(HeartbeatDto, heartbeat)).toMatchObject({ ok: true, value: heartbeat });
  });

  it('refuses a malformed one, naming each field by its path', () => {
    const checked = checkAgentMessage(HeartbeatDto, {
      ...heartbeat,
      facts: { ...facts, cpus: 0 },
      vms: [vm, { ...vm, state: 'gone' }],
      events: [{ ...event, kind: 'exploded' }],
    });
    expect(!checked.ok && checked.problems).toEqual([
      'facts.cpus must be at least 1',
      'vms.1.state must be stopped, running, paused, suspended or absent',
      'events.0.kind must be poweredOff or crashed',
    ]);
    expect(checkAgentMessage(HeartbeatDto, { agentId: 'a', facts, vms: 'none', events: [] })).toMatchObject({ ok: false, problems: ['vms must be a list'] });
    expect(checkAgentMessage(HeartbeatDto, { agentId: 'a', vms: [], events: [] })).toMatchObject({ ok: false, problems: ['facts must be an object'] });
  });
});
