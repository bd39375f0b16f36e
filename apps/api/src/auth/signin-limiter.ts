import { Inject, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { LessThanOrEqual, MoreThan, Repository } from 'typeorm';
import { Database } from '../common/database.service';
import { Clock, WALL_CLOCK } from '../common/clock';
import { APP_CONFIG, AppConfig } from '../config';
import { SigninFailure } from './signin-failure.entity';
import { PruneSchedule } from '../common/housekeeping';

/** Which cap refused a sign-in: one address on one handle, one handle from any address, one address on any handle. */
export type SigninLimit = 'pair' | 'handle' | 'address';

/**
 * Counts failed sign-ins in a sliding window, three ways: per client address and handle (a
 * forgotten password), per handle across addresses (one account attacked from many addresses) and
 * per address across handles (one address trying many accounts). When any count reaches its cap,
 * sign-ins it covers are refused (429) until the oldest counted failure leaves the window. Kept in
 * the database (signin_failures), pruned as the window moves.
 */
@Injectable()
export class SigninLimiter {
  constructor(
    private readonly db: Database,
    @InjectRepository(SigninFailure) private readonly failures: Repository<SigninFailure>,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(WALL_CLOCK) private readonly wallClock: Clock,
  ) {}

  /** Seconds until this address may try this handle again and the cap that refuses it, or null when it may try now. */
  async retryAfter(address: string, handleKey: string, now = this.wallClock.now()): Promise<{ seconds: number; limit: SigninLimit } | null> {
    const windowStart = now - this.config.signinWindowSeconds * 1000;
    const caps: Array<[SigninLimit, Partial<SigninFailure>, number]> = [
      ['pair', { address, handleKey: clip(handleKey) }, this.config.signinMaxFailures],
      ['handle', { handleKey: clip(handleKey) }, this.config.signinMaxFailuresPerHandle],
      ['address', { address }, this.config.signinMaxFailuresPerAddress],
    ];
    let refused: { seconds: number; limit: SigninLimit } | null = null;
    for (const [limit, where, max] of caps) {
      // The newest `max` failures in the window: with that many, the oldest of them decides the wait.
      const recent = await this.failures.find({ select: { at: true }, where: { ...where, at: MoreThan(windowStart) }, order: { at: 'DESC' }, take: max });
      if (recent.length < max) continue;
      const seconds = Math.max(1, Math.ceil((recent[max - 1].at + this.config.signinWindowSeconds * 1000 - now) / 1000));
      if (!refused || seconds > refused.seconds) refused = { seconds, limit };
    }
    return refused;
  }

  /** Failures older than the window are never counted (see retryAfter); they go at most once a minute. */
  private readonly pruneFailures = new PruneSchedule(60_000);

  async fail(address: string, handleKey: string, now = this.wallClock.now()): Promise<void> {
    const windowStart = now - this.config.signinWindowSeconds * 1000;
    await this.db.transaction(async (em) => {
      if (this.pruneFailures.due(now)) await em.delete(SigninFailure, { at: LessThanOrEqual(windowStart) });
      await em.insert(SigninFailure, { id: randomUUID(), address, handleKey: clip(handleKey), at: now });
    });
  }

  /** A right password from this address clears its failures on this handle (not the other caps' counts). */
  async succeed(address: string, handleKey: string): Promise<void> {
    await this.db.transaction((em) => em.delete(SigninFailure, { address, handleKey: clip(handleKey) }));
  }
}

const clip = (handleKey: string) => handleKey.slice(0, 200);
