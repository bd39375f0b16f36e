import { Inject, Injectable, Logger } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { RUNTIME_OPTIONS, RuntimeOptions } from '../runtime-options';

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
 * The one scheduler of the daemons (billing, market averages, reconciler): each registers its pass
 * on @nestjs/schedule's SchedulerRegistry at its interval from the validated config, which clears
 * them all when the app closes. An app created with `daemons: false` (tests, the OpenAPI export)
 * registers none, and tests run the passes themselves.
 */
@Injectable()
export class Daemons {
  private readonly logger = new Logger('Daemons');
  private readonly periods = new Map<string, number>();

  constructor(
    private readonly registry: SchedulerRegistry,
    @Inject(RUNTIME_OPTIONS) private readonly options: RuntimeOptions,
  ) {}

  get enabled(): boolean {
    return this.options.daemons;
  }

  /** Runs `pass` every `seconds` until the app closes, logging a failure instead of throwing it. Does nothing when daemons are off. */
  every(name: string, seconds: number, pass: () => Promise<unknown>): void {
    if (!this.options.daemons) return;
    if (this.registry.doesExist('interval', name)) this.registry.deleteInterval(name);
    const timer = setInterval(() => {
      pass().catch((error: unknown) => this.logger.error(`${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`));
    }, seconds * 1000);
    timer.unref();
    this.registry.addInterval(name, timer);
    this.periods.set(name, seconds * 1000);
  }

  /** The intervals on the registry now, by name, with their period in milliseconds. */
  intervals(): Record<string, number> {
    return Object.fromEntries(this.registry.getIntervals().map((name) => [name, this.periods.get(name) ?? Number.NaN]));
  }
}
