import { parseVmmp } from '@virtuoso/domain';
import { describe, expect, it } from 'vitest';
import { MigrationReporter, reasonWords } from './reports';
import { capturingReport } from './test-support/exported-machine';

const machineId = '1b5f3c1e-2d4a-4f6b-8c9d-0e1f2a3b4c5d';
const migrationId = '2b5f3c1e-2d4a-4f6b-8c9d-0e1f2a3b4c5d';

describe('MigrationReporter (report §7.2.1 HEARTBEAT and RESP)', () => {
  it('sends HEARTBEATs with the progress until the RESP, then the RESP until the front-end takes it', async () => {
    const cap = capturingReport();
    let done = 0;
    const r = new MigrationReporter({
      migrationId,
      machineId,
      report: cap.report,
      heartbeatMs: 20,
      progress: () => ({ bytesDone: (done += 10), bytesTotal: 1000, bytesPerSecond: 5 }),
    });
    r.start();
    await new Promise((res) => setTimeout(res, 120));
    await r.respond({ version: 8, outcome: 'SUCCESS', transfer: { bytesReceived: 12, durationMs: 34 } });
    const n = cap.reports.length;
    await new Promise((res) => setTimeout(res, 60));
    expect(cap.reports.length).toBe(n); // no heartbeat after the RESP
    const beats = cap.reports.slice(0, -1).map((x) => parseVmmp(x.vmmp));
    expect(beats.length).toBeGreaterThanOrEqual(3);
    for (const b of beats) expect(b).toMatchObject({ ok: true, message: { kind: 'HEARTBEAT', machineId, progress: { bytesTotal: 1000, bytesPerSecond: 5 } } });
    expect(cap.reports.at(-1)).toEqual({ migrationId, vmmp: `<VMMP 1.0 RESP ${machineId} 8 SUCCESS>`, transfer: { bytesReceived: 12, durationMs: 34 } });
  });

  it('resends the RESP with backoff while the front-end fails, and says when it gave up', async () => {
    const cap = capturingReport(2);
    const r = new MigrationReporter({
      migrationId,
      machineId,
      report: cap.report,
      backoffMs: 5,
      progress: () => ({ bytesDone: 0, bytesTotal: 0, bytesPerSecond: 0 }),
    });
    expect(await r.respond({ version: 3, outcome: 'FAIL', reason: 'rsync: No space left on device (28)\n<oops>' })).toBe(true);
    expect(cap.calls()).toBe(3);
    expect(cap.reports).toEqual([{ migrationId, vmmp: `<VMMP 1.0 RESP ${machineId} 3 FAIL rsync: No space left on device (28) oops>` }]);
    const never = capturingReport(100);
    const r2 = new MigrationReporter({
      migrationId,
      machineId,
      report: never.report,
      attempts: 3,
      backoffMs: 1,
      progress: () => ({ bytesDone: 0, bytesTotal: 0, bytesPerSecond: 0 }),
    });
    expect(await r2.respond({ version: 3, outcome: 'FAIL', reason: 'x' })).toBe(false);
    expect(never.calls()).toBe(3);
  });

  it('turns any text into the words a RESP FAIL reason may hold', () => {
    expect(reasonWords('  a\tb\n\n<c>  ')).toBe('a b c');
    expect(reasonWords('')).toBe('failed');
    expect(reasonWords('word '.repeat(300)).length).toBeLessThanOrEqual(602);
  });
});
