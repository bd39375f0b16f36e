import { describe, expect, it } from 'vitest';
import {
  formatCost,
  formatRate,
  formatSignedMoney,
  isNegativeAmount,
  isZeroAmount,
  localDayStart,
  newRequestId,
  NO_FILTERS,
  pageRange,
  remainingMs,
  statementCsvHref,
  statementQuery,
} from './billing';

describe('countdowns between fetches', () => {
  it('ticks the server-computed duration down by the time since it arrived, on the browser clock', () => {
    expect(remainingMs(3_566_000, 1_000_000, 1_004_000)).toBe(3_562_000);
    expect(remainingMs(3_566_000, 1_000_000, 1_000_000)).toBe(3_566_000);
  });
  it('stops at zero and ignores a clock that went backwards', () => {
    expect(remainingMs(2000, 1_000_000, 1_010_000)).toBe(0);
    expect(remainingMs(2000, 1_000_000, 999_000)).toBe(2000);
  });
});

describe('costs and amounts', () => {
  it('writes a machine cost as fig. 22 does', () => {
    expect(formatCost('3', 30, 'day')).toBe('$ 3 per 30 days');
    expect(formatCost('0.002016', 3600, 'second')).toBe('$ 0.002016 per 3600 seconds');
    expect(formatCost('0.1', 1, 'day')).toBe('$ 0.1 per 1 day');
  });
  it('rounds a long cost to six significant digits, and keeps it exact for the hover text', () => {
    expect(formatCost('0.0000063333333333333333', 2, 'second')).toBe('$ 0.00000633333 per 2 seconds');
    expect(formatCost('0.0000063333333333333333', 2, 'second', true)).toBe('$ 0.0000063333333333333333 per 2 seconds');
  });
  it('writes rates to four significant digits, or exactly as sent', () => {
    expect(formatRate('0.1000000001', 'day')).toBe('$ 0.1 per day');
    expect(formatRate('0.00000000000027777777777778', 'second')).toBe('$ 0.0000000000002778 per second');
    expect(formatRate('0.00000000000027777777777778', 'second', true)).toBe('$ 0.00000000000027777777777778 per second');
  });
  it('signs statement amounts with a real minus sign', () => {
    expect(formatSignedMoney('-3')).toBe('−$3');
    expect(formatSignedMoney('25')).toBe('+$25');
    expect(formatSignedMoney('0')).toBe('$0');
  });
  it('tells zero and negative amounts from the text', () => {
    expect(isZeroAmount('0')).toBe(true);
    expect(isZeroAmount('0.000')).toBe(true);
    expect(isZeroAmount('-0')).toBe(true);
    expect(isZeroAmount('0.000000000001')).toBe(false);
    expect(isNegativeAmount('-0.05')).toBe(true);
    expect(isNegativeAmount('-0')).toBe(false);
    expect(isNegativeAmount('996.97984')).toBe(false);
  });
});

describe('statement query and CSV link', () => {
  it('leaves empty filters out', () => {
    expect(statementQuery(NO_FILTERS)).toEqual({});
    expect(statementCsvHref(NO_FILTERS)).toBe('/api/account/statement?format=csv');
  });
  it('sends the kind and the machine as chosen', () => {
    const id = '2f1e0d9c-8b7a-4c65-9d4e-3f2a1b0c9d8e';
    expect(statementQuery({ ...NO_FILTERS, kind: 'running', machineId: id }, { limit: 25, offset: 50 })).toEqual({
      kind: 'running',
      machineId: id,
      limit: 25,
      offset: 50,
    });
    expect(statementCsvHref({ ...NO_FILTERS, kind: 'running', machineId: id })).toBe(`/api/account/statement?format=csv&kind=running&machineId=${id}`);
  });
  it('includes both dates: from the start of the first day to the end of the last (local time)', () => {
    const query = statementQuery({ ...NO_FILTERS, fromDate: '2026-11-01', toDate: '2026-11-30' });
    expect(query.from).toBe(new Date(2026, 10, 1).toISOString());
    expect(query.to).toBe(new Date(2026, 11, 1).toISOString());
    const href = statementCsvHref({ ...NO_FILTERS, fromDate: '2026-11-01', toDate: '2026-11-30' });
    const params = new URL(href, 'http://x').searchParams;
    expect(params.get('format')).toBe('csv');
    expect(params.get('from')).toBe(new Date(2026, 10, 1).toISOString());
    expect(params.get('to')).toBe(new Date(2026, 11, 1).toISOString());
    expect(params.has('limit')).toBe(false);
  });
  it('ignores a date that is not one, and rolls over month ends', () => {
    expect(localDayStart('30/11/2026')).toBeNull();
    expect(statementQuery({ ...NO_FILTERS, fromDate: 'soon' })).toEqual({});
    expect(localDayStart('2026-12-31', 1)).toBe(new Date(2027, 0, 1).toISOString());
  });
  it('describes the page shown', () => {
    expect(pageRange(0, 25, 60)).toBe('Showing 1–25 of 60');
    expect(pageRange(50, 10, 60)).toBe('Showing 51–60 of 60');
    expect(pageRange(0, 0, 0)).toBe('No entries');
  });
  it('makes request ids that are UUIDs', () => {
    expect(newRequestId()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
