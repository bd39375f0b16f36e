import { describe, expect, it } from 'vitest';
import { HEARTBEAT_INTERVAL_MS, HEARTBEAT_JITTER, OFFLINE_AFTER_MS, nextHeartbeatDelay } from './protocol';

describe('the wait between heartbeats', () => {
  it('strays up to 20 % either way of the interval, never near the offline threshold', () => {
    expect(nextHeartbeatDelay(HEARTBEAT_INTERVAL_MS, () => 0)).toBe(4_000);
    expect(nextHeartbeatDelay(HEARTBEAT_INTERVAL_MS, () => 0.5)).toBe(5_000);
    expect(nextHeartbeatDelay(HEARTBEAT_INTERVAL_MS, () => 0.999_999)).toBe(6_000);
    expect(HEARTBEAT_INTERVAL_MS * (1 + HEARTBEAT_JITTER)).toBeLessThan(OFFLINE_AFTER_MS / 2);
  });

  it('spreads agents answered at the same moment over two seconds at their next heartbeat, and keeps the interval on average', () => {
    // A small linear congruential generator: the same draws every run.
    let seed = 42;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const next = Array.from({ length: 1000 }, () => nextHeartbeatDelay(HEARTBEAT_INTERVAL_MS, random));
    expect(Math.max(...next) - Math.min(...next)).toBeGreaterThan(1_900);
    // No 200 ms of it holds more than 15 % of them (uniform: about 10 %).
    for (let from = 4_000; from < 6_000; from += 200) expect(next.filter((ms) => ms >= from && ms < from + 200).length).toBeLessThan(150);
    const mean = next.reduce((sum, ms) => sum + ms, 0) / next.length;
    expect(Math.abs(mean - HEARTBEAT_INTERVAL_MS)).toBeLessThan(60);
  });
});
