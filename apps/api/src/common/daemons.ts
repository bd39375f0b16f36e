import { Inject, Injectable, Logger } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { RUNTIME_OPTIONS, RuntimeOptions } from '../runtime-options';
import { Leadership } from './leadership';

/**
 * The "don't start a pass while one runs" guard of the daemons: a call while a pass is in progress
 * gets that pass's promise instead of starting another, so a slow pass and the next tick (or a
 * test calling runPass) never overlap.
 */
export class SinglePass<T> {
  private running: Promise<T> | null = null;

  run(pass: () => Promise<T>): Promise<T> {
    this.running ??= pass().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /** The pass in progress, if any (to let it finish before the database closes). */
  get current(): Promise<T> | null {
    return this.running;
  }
}

/**
 * The one scheduler of the daemons (billing, market averages, reconciler, low balance, migration
 * watch, network sync): each registers its pass on @nestjs/schedule's SchedulerRegistry at its
 * interval from the validated config, which clears them all when the app closes. Of several
 * replicas only the leader (common/leadership.ts, docs/ARCHITECTURE.md §12) runs the passes; the
 * others' ticks do nothing. The work a daemon does once at boot (the first pass, recovery) runs
 * when this replica becomes the leader — at boot on SQLite, at a takeover on PostgreSQL. An app
 * created with `daemons: false` (tests, the OpenAPI export) registers none, and tests run the
 * passes themselves.
 */
@Injectable()
export class Daemons {
  private readonly logger = new Logger('Daemons');
  private readonly periods = new Map<string, number>();
  private readonly onElection: Array<{ name: string; work: () => Promise<unknown> }> = [];
  private electionWork: Promise<void> = Promise.resolve();

  constructor(
    private readonly registry: SchedulerRegistry,
    @Inject(RUNTIME_OPTIONS) private readonly options: RuntimeOptions,
    private readonly leadership: Leadership,
  ) {
    leadership.onElected(() => {
      for (const entry of this.onElection) this.runElectionWork(entry);
    });
  }

  get enabled(): boolean {
    return this.options.daemons;
  }

  /**
   * Starts competing for the lead (after the boot work every replica does). Does nothing when
   * daemons are off. On SQLite the one process leads from boot and its boot work (the first passes)
   * finishes before it serves, as it always did; on PostgreSQL the election and the boot work run
   * beside serving, so a replica answers (health checks too) while it catches up.
   */
  async start(): Promise<void> {
    if (!this.options.daemons) return;
    await this.leadership.campaign();
    if (!this.leadership.shared) await this.settled;
  }

  /**
   * `work` each time this replica becomes the leader (and now, if it is already): a daemon's boot
   * work. Such works run one after another in the order registered. Does nothing when daemons are off.
   */
  onLeadership(name: string, work: () => Promise<unknown>): void {
    if (!this.options.daemons) return;
    const entry = { name, work };
    this.onElection.push(entry);
    if (this.leadership.leader) this.runElectionWork(entry);
  }

  /** Resolves once the boot work queued so far has run (after start(): the first passes, if this replica won the first try to lead). */
  get settled(): Promise<void> {
    return this.electionWork;
  }

  /** Runs `pass` every `seconds` on the leader until the app closes, logging a failure instead of throwing it. Does nothing when daemons are off. */
  every(name: string, seconds: number, pass: () => Promise<unknown>): void {
    if (!this.options.daemons) return;
    if (this.registry.doesExist('interval', name)) this.registry.deleteInterval(name);
    const timer = setInterval(() => {
      if (!this.leadership.leader) return;
      pass().catch((error: unknown) => this.logger.error(`${name} failed: ${messageOf(error)}`));
    }, seconds * 1000);
    timer.unref();
    this.registry.addInterval(name, timer);
    this.periods.set(name, seconds * 1000);
  }

  /** The intervals on the registry now, by name, with their period in milliseconds. */
  intervals(): Record<string, number> {
    return Object.fromEntries(this.registry.getIntervals().map((name) => [name, this.periods.get(name) ?? Number.NaN]));
  }

  private runElectionWork({ name, work }: { name: string; work: () => Promise<unknown> }): void {
    this.electionWork = this.electionWork.then(async () => {
      if (!this.leadership.leader) return;
      try {
        await work();
      } catch (error) {
        this.logger.error(`${name} (on becoming the leader) failed: ${messageOf(error)}`);
      }
    });
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}
