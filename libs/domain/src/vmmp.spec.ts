import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VMMP_METHODS, type VmmpMessage, parseVmmp, renderVmmp } from './vmmp';

const id = '6a74225e-a1f4-4487-81db-2f43a22e66ac';

describe('VMMP 1.0 text form (report §7.2.1)', () => {
  it("renders the report's five messages as it writes them", () => {
    expect(renderVmmp({ kind: 'QUERY', machineId: id })).toBe(`<VMMP 1.0 QUERY ${id} METHODS>`);
    expect(renderVmmp({ kind: 'RESULTS', machineId: id, methods: ['SCP', 'RSYNC'] })).toBe(`<VMMP 1.0 RESULTS ${id} 2 SCP RSYNC>`);
    expect(
      renderVmmp({
        kind: 'REQ',
        machineId: id,
        version: 3,
        origin: { host: '10.0.0.7', port: 2222 },
        central: { host: 'market.example', port: 443 },
        method: 'RSYNC',
      }),
    ).toBe(`<VMMP 1.0 REQ ${id} 3 10.0.0.7 2222 market.example 443 RSYNC>`);
    expect(renderVmmp({ kind: 'HEARTBEAT', machineId: id })).toBe(`<VMMP 1.0 HEARTBEAT ${id}>`);
    expect(renderVmmp({ kind: 'RESP', machineId: id, version: 4, outcome: 'SUCCESS' })).toBe(`<VMMP 1.0 RESP ${id} 4 SUCCESS>`);
  });

  it('carries progress on a heartbeat and a reason on a failure, as optional tails', () => {
    const beat = `<VMMP 1.0 HEARTBEAT ${id} 1048576 4194304 524288>`;
    expect(parseVmmp(beat)).toEqual({
      ok: true,
      message: { kind: 'HEARTBEAT', machineId: id, progress: { bytesDone: 1048576, bytesTotal: 4194304, bytesPerSecond: 524288 } },
    });
    const failed = `<VMMP 1.0 RESP ${id} 4 FAIL no space left on the destination>`;
    expect(parseVmmp(failed)).toEqual({
      ok: true,
      message: { kind: 'RESP', machineId: id, version: 4, outcome: 'FAIL', reason: 'no space left on the destination' },
    });
    expect(renderVmmp((parseVmmp(failed) as { message: VmmpMessage }).message)).toBe(failed);
  });

  it('refuses another protocol version with a clear reason', () => {
    expect(parseVmmp(`<VMMP 2.0 QUERY ${id} METHODS>`)).toEqual({ ok: false, reason: 'VMMP version 2.0 is not supported: this side speaks VMMP 1.0 only' });
  });

  it('says what is wrong with a malformed message', () => {
    const reason = (text: string) => (parseVmmp(text) as { reason: string }).reason;
    expect(reason(`VMMP 1.0 QUERY ${id} METHODS`)).toMatch(/enclosed in < and >/);
    expect(reason(`<VMMP 1.0 QUERY not-a-uuid METHODS>`)).toMatch(/machine id \(a lower-case UUID\)/);
    expect(reason(`<VMMP 1.0 RESULTS ${id} 3 SCP RSYNC>`)).toBe('RESULTS says 3 methods but lists 2');
    expect(reason(`<VMMP 1.0 RESULTS ${id} 1 FTP>`)).toMatch(/unknown method FTP/);
    expect(reason(`<VMMP 1.0 REQ ${id} 3 10.0.0.7 70000 market.example 443 RSYNC>`)).toMatch(/origin port must be 1–65535/);
    expect(reason(`<VMMP 1.0 HEARTBEAT ${id} 9 8 1>`)).toMatch(/bytes done cannot exceed/);
    expect(reason(`<VMMP 1.0 RESP ${id} 4 SUCCESS but why>`)).toMatch(/nothing after SUCCESS/);
    expect(reason(`<VMMP 1.0 MIGRATE ${id}>`)).toMatch(/unknown VMMP message MIGRATE/);
    expect(() => renderVmmp({ kind: 'RESULTS', machineId: id, methods: ['SCP', 'SCP'] })).toThrow(/listed twice/);
  });

  // Round trip: every message the contract allows renders to a text that parses back to it.
  const uuid = fc.uuid().map((u) => u.toLowerCase());
  const version = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
  const port = fc.integer({ min: 1, max: 65535 });
  const host = fc.oneof(fc.ipV4(), fc.domain(), fc.ipV6());
  const method = fc.constantFrom(...VMMP_METHODS);
  const word = fc.stringMatching(/^[A-Za-z0-9.,:;'()_-]{1,12}$/);
  const message: fc.Arbitrary<VmmpMessage> = fc.oneof(
    uuid.map((machineId) => ({ kind: 'QUERY' as const, machineId })),
    fc.record({ kind: fc.constant('RESULTS' as const), machineId: uuid, methods: fc.subarray([...VMMP_METHODS]) }),
    fc.record({
      kind: fc.constant('REQ' as const),
      machineId: uuid,
      version,
      origin: fc.record({ host, port }),
      central: fc.record({ host, port }),
      method,
    }),
    fc.record({ kind: fc.constant('HEARTBEAT' as const), machineId: uuid }),
    fc.tuple(uuid, version, version, version).map(([machineId, a, b, rate]) => ({
      kind: 'HEARTBEAT' as const,
      machineId,
      progress: { bytesDone: Math.min(a, b), bytesTotal: Math.max(a, b), bytesPerSecond: rate },
    })),
    fc.record({ kind: fc.constant('RESP' as const), machineId: uuid, version, outcome: fc.constant('SUCCESS' as const) }),
    fc
      .tuple(uuid, version, fc.array(word, { minLength: 1, maxLength: 6 }))
      .map(([machineId, v, words]) => ({ kind: 'RESP' as const, machineId, version: v, outcome: 'FAIL' as const, reason: words.join(' ') })),
  );

  it('parses what it renders back to the same message (property)', () => {
    fc.assert(
      fc.property(message, (m) => {
        expect(parseVmmp(renderVmmp(m))).toEqual({ ok: true, message: m });
      }),
      { numRuns: 500 },
    );
  });

  it('renders what it parses back to the same text (property)', () => {
    fc.assert(
      fc.property(message, (m) => {
        const text = renderVmmp(m);
        const parsed = parseVmmp(text);
        expect(parsed.ok && renderVmmp(parsed.message)).toBe(text);
      }),
      { numRuns: 500 },
    );
  });
});
