/**
 * A source of time, as integer milliseconds since the epoch. Services read time only from an
 * injected clock, never from Date.now() or new Date(), so tests can drive time everywhere. There
 * are two, because tests move them apart:
 * - CLOCK, the market's time: what billing (meters, ledger, low balance) and the market daemons
 *   (averages, price history) go by. Production uses the system clock; tests pass a ManualClock to
 *   createApp and move it by days, and a real process started by a test can run fast with
 *   VIRTUOSO_CLOCK_RATE (only with VIRTUOSO_ALLOW_TEST_CLOCK=true).
 * - WALL_CLOCK, real time, for everything else: sessions, tokens and sign-in limits, agents
 *   (heartbeats, whether one is online, the reconciler's deadlines, the timestamps of their signed
 *   messages and console tickets, compared with the agent's own clock), records' timestamps.
 *   The system clock, unless a test passes another to createApp (`wallClock`).
 */
export interface Clock {
  now(): number;
}

export const CLOCK = Symbol('Clock');

/** Real time (see above): a session must not expire because a test moved billing on by a month. */
export const WALL_CLOCK = Symbol('WallClock');

export const systemClock: Clock = { now: () => Date.now() };

/**
 * now = origin + offset + (real now − origin) × rate: time starts `offset` ms away from the real
 * time at `origin` and runs `rate` times as fast. Two processes given the same origin, offset and
 * rate read the same time, so a restarted API carries on where the killed one was.
 */
export class ScaledClock implements Clock {
  constructor(
    readonly originMs: number,
    readonly offsetMs: number,
    readonly rate: number,
    private readonly real: () => number = Date.now,
  ) {}

  now(): number {
    return Math.floor(this.originMs + this.offsetMs + (this.real() - this.originMs) * this.rate);
  }
}

/** A clock that moves only when told (tests). */
export class ManualClock implements Clock {
  constructor(private time: number) {}

  now(): number {
    return this.time;
  }

  set(time: number): void {
    this.time = time;
  }

  advance(ms: number): number {
    this.time += ms;
    return this.time;
  }
}

export const isoOf = (ms: number): string => new Date(ms).toISOString();
