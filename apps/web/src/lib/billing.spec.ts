import { describe, expect, it } from 'vitest';
import {
  formatCost,
  formatDays,
  formatDurationShort,
  formatRate,
  formatSeconds,
  formatSignedMoney,
  isNegativeAmount,
  isZeroAmount,
  localDayStart,
  newRequestId,
  NO_FILTERS,
  pageRange,
  remainingMs,
  significant,
  statementCsvHref,
  statementQuery,
} from './billing';

describe('debit deadlines as the report prints them (figs. 22, 23, 32)', () => {
  it('writes the time to a storage debit in days with 15 significant digits', () => {
    // 29.9920949074074 days = 2 591 317 000 ms (30 days less 683 s).
    expect(formatDays(2_591_317_000)).toBe('29.9920949074074 days');
    // 9.99908564814815 days = 863 921 000 ms (fig. 22's second machine).
    expect(formatDays(863_921_000)).toBe('9.99908564814815 days');
    // fig. 32: 9.97626157407407 days.
    expect(formatDays(861_949_000)).toBe('9.97626157407407 days');
  });
  it('uses the singular for exactly one day and never goes below zero', () => {
    expect(formatDays(86_400_000)).toBe('1 day');
    expect(formatDays(43_200_000)).toBe('0.5 days');
    expect(formatDays(-5)).toBe('0 days');
  });
  it('writes the time to a running debit in whole seconds, rounded up', () => {
    expect(formatSeconds(3_566_000)).toBe('3566 seconds');
    expect(formatSeconds(1_748_200)).toBe('1749 seconds');
    expect(formatSeconds(1000)).toBe('1 second');
    expect(formatSeconds(0)).toBe('0 seconds');
  });
  it('prints numbers without exponents or float noise', () => {
    expect(significant(0.1 + 0.2)).toBe('0.3');
    expect(significant(1e-7)).toBe('0.0000001');
    expect(significant(0)).toBe('0');
    expect(significant(30)).toBe('30');
  });
  it('also says it for people', () => {
    expect(formatDurationShort(2_591_317_000)).toBe('29 d 23 h 48 min');
    expect(formatDurationShort(3_566_000)).toBe('59 min 26 s');
    expect(formatDurationShort(12_000)).toBe('12 s');
    expect(formatDurationShort(7_200_000)).toBe('2 h');
  });
});

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
