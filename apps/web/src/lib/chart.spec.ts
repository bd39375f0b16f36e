import { describe, expect, it } from 'vitest';
import { linearScale, maxValue, nearestIndex, niceStep, rangeQuery, stepIndexAt, stepPath, tickLabel, timeTicks, valueTicks } from './chart';

describe('value axis', () => {
  it('picks steps of 1, 2, 2.5 or 5 times a power of ten', () => {
    expect(niceStep(0.7)).toBe(1);
    expect(niceStep(1.3)).toBe(2);
    expect(niceStep(2.2)).toBe(2.5);
    expect(niceStep(3)).toBe(5);
    expect(niceStep(0.00003)).toBeCloseTo(0.00005, 12);
    expect(niceStep(700)).toBe(1000);
  });
  it('runs from 0 to a nice top at or above the largest value', () => {
    expect(valueTicks(3)).toEqual({ top: 3, ticks: [0, 1, 2, 3] });
    expect(valueTicks(2.448)).toEqual({ top: 3, ticks: [0, 1, 2, 3] });
    const small = valueTicks(0.00001);
    expect(small.ticks.map(tickLabel)).toEqual(['0', '0.0000025', '0.000005', '0.0000075', '0.00001']);
  });
  it('gives a flat zero series the axis 0..1', () => {
    expect(valueTicks(0).top).toBe(1);
  });
  it('labels ticks without exponents or float noise', () => {
    expect(tickLabel(0.1 + 0.2)).toBe('0.3');
    expect(tickLabel(2.5e-7)).toBe('0.00000025');
    expect(tickLabel(1200)).toBe('1200');
    expect(tickLabel(0)).toBe('0');
  });
});

describe('time axis', () => {
  it('puts round instants inside the range', () => {
    const from = Date.UTC(2026, 10, 25, 10, 7);
    const to = from + 3_600_000;
    const ticks = timeTicks(from, to, 5);
    expect(ticks.length).toBeGreaterThanOrEqual(2);
    expect(ticks.length).toBeLessThanOrEqual(5);
    for (const t of ticks) {
      expect(t).toBeGreaterThanOrEqual(from);
      expect(t).toBeLessThanOrEqual(to);
      expect(t % 900_000).toBe(0); // 15-minute marks for an hour
    }
  });
  it('returns the start for an empty range', () => {
    expect(timeTicks(5, 5)).toEqual([5]);
  });
});

describe('step path', () => {
  const x = linearScale([0, 100], [0, 200]);
  const y = linearScale([0, 4], [100, 0]);
  it('holds each price until the next point, then to the end of the range', () => {
    const points = [
      { t: 0, value: '2' },
      { t: 50, value: '3' },
    ];
    expect(stepPath(points, x, y, 100)).toBe('M 0 50 H 100 V 25 H 200');
  });
  it('draws nothing without points', () => {
    expect(stepPath([], x, y, 100)).toBe('');
  });
  it('puts a degenerate domain in the middle', () => {
    expect(linearScale([1, 1], [0, 10])(1)).toBe(5);
  });
});

describe('finding points', () => {
  const points = [
    { t: 0, value: '1' },
    { t: 10, value: '2.448' },
    { t: 30, value: '0.5' },
  ];
  it('finds the nearest point', () => {
    expect(nearestIndex(points, -4)).toBe(0);
    expect(nearestIndex(points, 4)).toBe(0);
    expect(nearestIndex(points, 6)).toBe(1);
    expect(nearestIndex(points, 25)).toBe(2);
    expect(nearestIndex([], 3)).toBe(-1);
  });
  it('finds the price in force', () => {
    expect(stepIndexAt(points, 29)).toBe(1);
    expect(stepIndexAt(points, 30)).toBe(2);
    expect(stepIndexAt(points, -1)).toBe(0);
  });
  it('finds the largest value', () => {
    expect(maxValue(points)).toBe(2.448);
    expect(maxValue([])).toBe(0);
  });
});

describe('ranges', () => {
  it('ends at the next whole minute so the query stays the same for a minute', () => {
    const now = Date.UTC(2026, 10, 25, 10, 7, 30);
    expect(rangeQuery('1d', now)).toEqual({ from: '2026-11-24T10:08:00.000Z', to: '2026-11-25T10:08:00.000Z' });
    expect(rangeQuery('7d', now).from).toBe('2026-11-18T10:08:00.000Z');
  });
});
