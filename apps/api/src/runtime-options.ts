export const RUNTIME_OPTIONS = Symbol('RuntimeOptions');

/** What a process wants of the app besides configuration: the server wants all, the OpenAPI exporter none. */
export interface RuntimeOptions {
  /** Seed the catalog when empty (and the demo accounts, if VIRTUOSO_SEED_DEMO). */
  seed: boolean;
  /** Run the daemons: the market-average pass, the reconciler and billing (which also sends emails left pending). */
  daemons: boolean;
}
