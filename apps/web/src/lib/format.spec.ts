import { describe, expect, it } from 'vitest';
import { formatAgo, formatAskedPrice, formatBytes, formatMoney, formatPeriodPrice, formatUnitPrice, toPrice, toWholeNumber } from './format';

describe('formatPeriodPrice', () => {
  it('writes storage as the report does (fig. 11): price / period days', () => {
    expect(formatPeriodPrice('3', 30, 'day')).toBe('3 / 30 days');
  });
  it('writes running as the report does (fig. 31): price / period seconds', () => {
    expect(formatPeriodPrice('2.448', 3600, 'second')).toBe('2.448 / 3600 seconds');
  });
  it('uses the singular for a period of one', () => {
    expect(formatPeriodPrice('0.1', 1, 'day')).toBe('0.1 / 1 day');
  });
  it('keeps the exact text of the price, however many digits', () => {
    expect(formatPeriodPrice('0.000000001', 10, 'day')).toBe('0.000000001 / 10 days');
    expect(formatPeriodPrice('1e-7', 3600, 'second')).toBe('1e-7 / 3600 seconds');
  });
  it('shows a dash while the machine has no fixed price', () => {
    expect(formatPeriodPrice(null, null, 'day')).toBe('—');
    expect(formatPeriodPrice('3', null, 'day')).toBe('—');
  });
});

describe('formatAskedPrice / formatMoney / formatUnitPrice', () => {
  it('writes what a buyer asked per month and per hour', () => {
    expect(formatAskedPrice('3', 'month')).toBe('3 / month');
    expect(formatAskedPrice('0.064386', 'hour')).toBe('0.064386 / hour');
    expect(formatAskedPrice(null, 'hour')).toBe('—');
  });
  it('puts the dollar sign before the exact amount, and after the minus sign', () => {
    expect(formatMoney('996.997983999')).toBe('$996.997983999');
    expect(formatMoney('-0.05')).toBe('-$0.05');
    expect(formatMoney(undefined)).toBe('—');
  });
  it('describes a unit price', () => {
    expect(formatUnitPrice('0.00001', 1000, 'bogomips', 'second')).toBe('$0.00001 per 1000 bogomips per second');
  });
});

describe('form conversions', () => {
  it('turns whole numbers into numbers and sends anything else as typed, for the server to name the field', () => {
    expect(toWholeNumber(' 4000 ')).toBe(4000);
    expect(toWholeNumber('40.5')).toBe('40.5');
    expect(toWholeNumber('')).toBe('');
    expect(toWholeNumber('-3')).toBe('-3');
    expect(JSON.stringify({ speed: toWholeNumber('abc') })).toBe('{"speed":"abc"}');
  });
  it('keeps prices as trimmed text', () => {
    expect(toPrice(' 0.00001 ')).toBe('0.00001');
  });
});

describe('formatBytes', () => {
  it('writes sizes in binary units with three significant digits', () => {
    expect(formatBytes(700)).toBe('700 B');
    expect(formatBytes(1536)).toBe('1.50 KB');
    expect(formatBytes(12.3 * 1024 * 1024)).toBe('12.3 MB');
    expect(formatBytes(700 * 1024 * 1024)).toBe('700 MB');
    expect(formatBytes(4.2 * 1024 ** 3)).toBe('4.20 GB');
    expect(formatBytes(null)).toBe('—');
  });
});

describe('formatAgo', () => {
  const now = Date.parse('2026-11-25T12:00:00Z');
  it('counts seconds, minutes and hours since a heartbeat', () => {
    expect(formatAgo('2026-11-25T12:00:00Z', now)).toBe('just now');
    expect(formatAgo('2026-11-25T11:59:48Z', now)).toBe('12 s ago');
    expect(formatAgo('2026-11-25T11:56:00Z', now)).toBe('4 min ago');
    expect(formatAgo('2026-11-25T09:00:00Z', now)).toBe('3 h ago');
  });
  it('says never for a host that never sent one', () => {
    expect(formatAgo(null, now)).toBe('never');
  });
});
