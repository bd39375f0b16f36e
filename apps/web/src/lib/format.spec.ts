import { describe, expect, it } from 'vitest';
import {
  exactMoney,
  formatAgo,
  formatAskedPrice,
  formatBytes,
  formatDuration,
  formatMoney,
  formatPeriodPrice,
  formatUnitPrice,
  roundDecimal,
  toPrice,
  toWholeNumber,
} from './format';

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
  it('keeps a short price exact, however small', () => {
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
  it('rounds long prices to six significant digits', () => {
    expect(formatAskedPrice('4.208333333333', 'month')).toBe('4.20833 / month');
    expect(formatPeriodPrice('0.0000063333333333333333', 3600, 'second')).toBe('0.00000633333 / 3600 seconds');
  });
  it('puts the dollar sign before the amount, and after the minus sign', () => {
    expect(formatMoney('996.95')).toBe('$996.95');
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

describe('roundDecimal', () => {
  it('keeps four significant digits of a small amount, without a float in between', () => {
    expect(roundDecimal('0.0000063333333333333333')).toBe('0.000006333');
    expect(roundDecimal('0.00000633335')).toBe('0.000006333');
    expect(roundDecimal('0.000006333500')).toBe('0.000006334');
  });
  it('never drops digits left of the point, and rounds half away from zero', () => {
    expect(roundDecimal('29.9986077777778')).toBe('30');
    expect(roundDecimal('123456.789')).toBe('123457');
    expect(roundDecimal('2.448')).toBe('2.448');
    expect(roundDecimal('-0.00012345')).toBe('-0.0001235');
  });
  it('pads to the minimum decimals and drops zeros beyond them', () => {
    expect(roundDecimal('996.997983999', 4, 2)).toBe('997.00');
    expect(roundDecimal('0.1000000001', 4, 2)).toBe('0.10');
    expect(roundDecimal('3', 4, 2)).toBe('3.00');
    expect(roundDecimal('3')).toBe('3');
    expect(roundDecimal('0')).toBe('0');
    expect(roundDecimal('-0.0000000000001', 4, 2)).toBe('-0.0000000000001');
  });
  it('returns text that is not a plain decimal as it is', () => {
    expect(roundDecimal('1e-7')).toBe('1e-7');
    expect(roundDecimal('')).toBe('');
  });
});

describe('formatMoney / exactMoney', () => {
  it('shows cents, or four significant digits below a cent, and keeps the exact text for hovering', () => {
    expect(formatMoney('996.997983999')).toBe('$997.00');
    expect(formatMoney('0.0000063333333333333333')).toBe('$0.000006333');
    expect(formatMoney('-0.05')).toBe('-$0.05');
    expect(exactMoney('996.997983999')).toBe('$996.997983999');
    expect(exactMoney('-0.05')).toBe('-$0.05');
  });
});

describe('formatDuration', () => {
  it('says days and hours, not a fraction of days', () => {
    expect(formatDuration(29.9986077777778 * 86_400_000)).toBe('29 days 23 hours');
    expect(formatDuration(86_400_000)).toBe('1 day');
  });
  it('says minutes and seconds for a running slice, rounded up to the second', () => {
    expect(formatDuration(3_566_000)).toBe('59 minutes 26 seconds');
    expect(formatDuration(60_000)).toBe('1 minute');
    expect(formatDuration(1)).toBe('1 second');
    expect(formatDuration(0)).toBe('0 seconds');
    expect(formatDuration(3 * 3600_000 + 5 * 60_000)).toBe('3 hours 5 minutes');
  });
});
