/**
 * The time billing and the market daemons go by, as integer milliseconds since the epoch.
 * Production uses the system clock; tests pass a ManualClock to createApp, and a real process
 * started by a test can run fast with VIRTUOSO_CLOCK_RATE (only with VIRTUOSO_ALLOW_TEST_CLOCK=true).
 */
export interface Clock {
  now(): number;
}

export const CLOCK = Symbol('Clock');

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
