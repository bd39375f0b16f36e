import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config';

/**
 * Counts failed sign-ins per client address and handle in a sliding window. After the configured
 * number of failures the pair is refused (429) until the oldest failure leaves the window.
 * In memory: a restart forgets, which only ever makes it more lenient.
 */
@Injectable()
export class SigninLimiter {
  private readonly failures = new Map<string, number[]>();
  private static readonly MAX_KEYS = 100_000;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  /** Seconds until the pair may try again, or 0 when it may try now. */
  retryAfter(key: string, now = Date.now()): number {
    const recent = this.recent(key, now);
    if (recent.length < this.config.signinMaxFailures) return 0;
    const oldest = recent[recent.length - this.config.signinMaxFailures];
    return Math.max(1, Math.ceil((oldest + this.config.signinWindowSeconds * 1000 - now) / 1000));
  }

  fail(key: string, now = Date.now()): void {
    if (this.failures.size >= SigninLimiter.MAX_KEYS) this.prune(now);
    this.failures.set(key, [...this.recent(key, now), now]);
  }

  succeed(key: string): void {
    this.failures.delete(key);
  }

  private recent(key: string, now: number): number[] {
    const windowStart = now - this.config.signinWindowSeconds * 1000;
    return (this.failures.get(key) ?? []).filter((at) => at > windowStart);
  }

  private prune(now: number): void {
    for (const key of [...this.failures.keys()]) {
      if (this.recent(key, now).length === 0) this.failures.delete(key);
    }
    // Still full of live entries: drop the oldest keys rather than grow without bound.
    for (const key of this.failures.keys()) {
      if (this.failures.size < SigninLimiter.MAX_KEYS) break;
      this.failures.delete(key);
    }
  }
}
