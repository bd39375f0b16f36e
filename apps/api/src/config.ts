import { OFFLINE_AFTER_MS } from '@virtuoso/contracts';
import { money } from '@virtuoso/domain';
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { isAbsolute, join, resolve } from 'node:path';
import { systemClock } from './common/clock';
import { AgentAddressPolicy, DEFAULT_AGENT_ADDRESSES, parseAgentAddressPolicy } from './agents/agent-address';

/** The repository root: this file is apps/api/src/config.ts (tests) or apps/api/dist/config.js (built). */
export const REPO_ROOT = resolve(__dirname, '..', '..', '..');

/** Everything the API reads from its environment, validated once at boot. */
export interface AppConfig {
  port: number;
  host: string;
  dataDir: string;
  /** SQLite: a file path, or ':memory:' for a throw-away database (used when databaseUrl is null). */
  dbPath: string;
  /** postgres://user:password@host:port/database: PostgreSQL instead of SQLite (docs/ARCHITECTURE.md §12). */
  databaseUrl: string | null;
  /** The built SPA; null when the directory has no index.html (then only the API is served). */
  webDir: string | null;
  marketIntervalSeconds: number;
  registrationFee: string;
  /** Credit a new buyer account starts with (report fig. 22/30 accounts start at $1000). */
  signupCredit: string;
  /** Failed sign-ins in the window: per address and handle, per handle from any address, per address on any handle. */
  signinMaxFailures: number;
  signinMaxFailuresPerHandle: number;
  signinMaxFailuresPerAddress: number;
  signinWindowSeconds: number;
  sessionTtlHours: number;
  seedDemo: boolean;
  cookieSecure: boolean;
  bcryptCost: number;
  /** The URL agents and browsers reach this API at; null = taken from each request's Host header. */
  publicUrl: string | null;
  /**
   * Express's `trust proxy`: the reverse proxies (addresses, CIDR blocks, loopback, linklocal,
   * uniquelocal) whose X-Forwarded-For/-Proto are believed, so req.ip is the client's; false: none
   * (the default: any client could write X-Forwarded-For). docs/ARCHITECTURE.md §12.
   */
  trustProxy: string[] | false;
  /** Preconfigured images served to agents (GET /api/agents/images/:name). */
  imageDir: string;
  /** The provider package built by tools/agent-package (GET /install-agent.sh, /downloads/virtuoso-agent.tar.gz). */
  agentPackageDir: string;
  /** Reconciler pass interval (machines stuck in a transient state, missed events). */
  reconcileIntervalSeconds: number;
  /** Agents whose machines one scheduled reconciler pass compares at most (docs/ARCHITECTURE.md §12). */
  reconcileAgentsPerPass: number;
  /** Network sync pass interval: every agent holding a buyer's private network is told what to hold (vnet.sync). */
  networkSyncIntervalSeconds: number;
  /** At most this many ssh keys per user (account page). */
  sshKeysPerUser: number;
  /** A host whose agent sent no heartbeat for this long is offline. */
  agentOfflineMs: number;
  /** Heartbeats a replica records at once at most; one more is answered 503 at once (HeartbeatAdmission). */
  heartbeatConcurrency: number;
  /** How long a guest gets to power off after the ACPI button before the agent forces it. */
  stopTimeoutMs: number;
  /** Command timeouts: vm.create with an image, and every other command (stop: stopTimeoutMs + 10 s). */
  agentCreateTimeoutMs: number;
  agentCommandTimeoutMs: number;
  /** Which addresses agents may have the API dial (VIRTUOSO_AGENT_ADDRESSES; default: the address each joined from). */
  agentAddresses: AgentAddressPolicy;
  /** Time to establish the TCP connection to an agent before it counts as unreachable. */
  agentConnectTimeoutMs: number;
  /** A migration fails when its destination sends no HEARTBEAT for this long (report §7.2.1: the window). */
  migrationHeartbeatTimeoutMs: number;
  /** Largest install medium a buyer may upload. */
  mediaMaxMb: number;
  /** Largest JSON (or form) request body, in KiB; agent heartbeats have their own, larger cap. */
  jsonBodyMaxKb: number;
  /** Time a client has to send a whole request, body included (an ISO upload too): the HTTP server's requestTimeout. */
  requestTimeoutMs: number;
  /** Per-user quotas: live API tokens, hosts, machines (not deleted), bytes of install media. */
  quotas: { apiTokens: number; hosts: number; machines: number; mediaBytes: number };
  /** Lifetime of a console token. */
  consoleTokenTtlMs: number;
  /** Billing daemon: a pass every this many seconds (and once at boot). */
  billingIntervalSeconds: number;
  /** Events older than this many days are deleted from the event log; 0 keeps them forever. */
  eventRetentionDays: number;
  /**
   * Meters handled per billing transaction; null: 10000 on SQLite, 5000 on PostgreSQL. On SQLite
   * each commit writes every page its batch touched again (the ends of the providers' stretches of
   * the ledger's credit index, their balances), so fewer, larger batches write less, and a batch
   * holds the one connection for its length (~0.1 s at 10000, its charges made by the database);
   * on PostgreSQL a batch holds its buyers' marks, and larger ones take fewer round trips a meter
   * (docs/ARCHITECTURE.md §12).
   */
  billingBatchSize: number | null;
  /** PostgreSQL: billing batches in flight at once (docs/ARCHITECTURE.md §12); SQLite runs one. */
  billingConcurrency: number;
  /** Replicas on PostgreSQL: how often a replica that is not the leader tries to become it (common/leadership.ts). */
  leaderPollSeconds: number;
  /** How long a buyer whose balance cannot cover the next charges has before their running machines are suspended. */
  lowBalanceGraceSeconds: number;
  /** smtp(s)://user:pass@host:port for email; null = write each email as a .eml file in outboxDir. */
  smtpUrl: string | null;
  mailFrom: string;
  outboxDir: string;
  /** Largest top-up a buyer may make in one request. */
  topUpMaxAmount: string;
  /** Most a buyer may top up in one UTC day (the sign-up credit does not count). */
  topUpDailyLimit: string;
  /** A fast or shifted clock for tests of real processes; null = the system clock. */
  testClock: { originMs: number; offsetMs: number; rate: number } | null;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/**
 * Reads VIRTUOSO_* variables, applies defaults and collects every problem before failing, so one
 * start names all bad variables. `overrides` (tests, the OpenAPI exporter) win over the environment.
 */
export function loadConfig(env: Env = process.env, overrides: Partial<AppConfig> = {}): AppConfig {
  const problems: string[] = [];
  const raw = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const text = raw(name);
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min || value > max) {
      problems.push(`${name} must be a whole number from ${min} to ${max} (got "${text}")`);
      return fallback;
    }
    return value;
  };
  const boolean = (name: string, fallback: boolean): boolean => {
    const text = raw(name)?.toLowerCase();
    if (text === undefined) return fallback;
    if (['1', 'true', 'yes', 'on'].includes(text)) return true;
    if (['0', 'false', 'no', 'off'].includes(text)) return false;
    problems.push(`${name} must be true or false (got "${raw(name)}")`);
    return fallback;
  };
  const amount = (name: string, fallback: string): string => {
    const text = raw(name) ?? fallback;
    try {
      const value = money(text);
      if (value.startsWith('-')) throw new RangeError('negative');
      return value;
    } catch {
      problems.push(`${name} must be a non-negative amount with at most 12 decimals (got "${text}")`);
      return fallback;
    }
  };

  const port = integer('VIRTUOSO_PORT', 8080, 1, 65535);
  const host = raw('VIRTUOSO_HOST') ?? '127.0.0.1';
  if (!/^[A-Za-z0-9.:-]+$/.test(host)) problems.push(`VIRTUOSO_HOST must be a host name or IP address (got "${host}")`);
  const dataDir = resolve(raw('VIRTUOSO_DATA_DIR') ?? './data');
  const dbText = raw('VIRTUOSO_DB_PATH');
  const dbPath = dbText === ':memory:' ? ':memory:' : dbText ? resolve(dbText) : join(dataDir, 'virtuoso.sqlite');
  const databaseUrl = postgresUrl(raw('VIRTUOSO_DATABASE_URL'), problems);
  const webText = raw('VIRTUOSO_WEB_DIR');
  const webPath = webText ? (isAbsolute(webText) ? webText : resolve(webText)) : join(REPO_ROOT, 'apps', 'web', 'dist');
  if (webText && !existsSync(join(webPath, 'index.html'))) {
    problems.push(`VIRTUOSO_WEB_DIR must be a directory holding index.html (got "${webText}")`);
  }
  const webDir = existsSync(join(webPath, 'index.html')) ? webPath : null;

  const config: AppConfig = {
    port,
    host,
    dataDir,
    dbPath,
    databaseUrl,
    webDir,
    marketIntervalSeconds: integer('VIRTUOSO_MARKET_INTERVAL_SECONDS', 60, 1, 86_400),
    registrationFee: amount('VIRTUOSO_REGISTRATION_FEE', '0.05'),
    signupCredit: amount('VIRTUOSO_SIGNUP_CREDIT', '1000'),
    signinMaxFailures: integer('VIRTUOSO_SIGNIN_MAX_FAILURES', 5, 1, 1000),
    signinMaxFailuresPerHandle: integer('VIRTUOSO_SIGNIN_MAX_FAILURES_PER_HANDLE', 20, 1, 100_000),
    signinMaxFailuresPerAddress: integer('VIRTUOSO_SIGNIN_MAX_FAILURES_PER_ADDRESS', 30, 1, 100_000),
    signinWindowSeconds: integer('VIRTUOSO_SIGNIN_WINDOW_SECONDS', 300, 1, 86_400),
    sessionTtlHours: integer('VIRTUOSO_SESSION_TTL_HOURS', 168, 1, 8760),
    seedDemo: boolean('VIRTUOSO_SEED_DEMO', true),
    cookieSecure: boolean('VIRTUOSO_COOKIE_SECURE', false),
    bcryptCost: integer('VIRTUOSO_BCRYPT_COST', 10, 4, 15),
    publicUrl: null,
    trustProxy: trustProxy(raw('VIRTUOSO_TRUST_PROXY'), problems),
    imageDir: resolve(raw('VIRTUOSO_IMAGE_DIR') ?? join(REPO_ROOT, '.cache', 'guest-image')),
    agentPackageDir: resolve(raw('VIRTUOSO_AGENT_PACKAGE_DIR') ?? join(REPO_ROOT, 'dist', 'agent-package')),
    reconcileIntervalSeconds: integer('VIRTUOSO_RECONCILE_INTERVAL_SECONDS', 5, 1, 3600),
    reconcileAgentsPerPass: integer('VIRTUOSO_RECONCILE_AGENTS_PER_PASS', 250, 1, 1_000_000),
    networkSyncIntervalSeconds: integer('VIRTUOSO_NETWORK_SYNC_INTERVAL_SECONDS', 10, 1, 3600),
    sshKeysPerUser: 20,
    agentOfflineMs: integer('VIRTUOSO_AGENT_OFFLINE_SECONDS', OFFLINE_AFTER_MS / 1000, 1, 86_400) * 1000,
    heartbeatConcurrency: integer('VIRTUOSO_HEARTBEAT_CONCURRENCY', 256, 1, 100_000),
    stopTimeoutMs: integer('VIRTUOSO_STOP_TIMEOUT_SECONDS', 30, 0, 600) * 1000,
    agentCreateTimeoutMs: 120_000,
    agentCommandTimeoutMs: 30_000,
    agentConnectTimeoutMs: 3_000,
    agentAddresses: parseAgentAddressPolicy(raw('VIRTUOSO_AGENT_ADDRESSES') ?? DEFAULT_AGENT_ADDRESSES, problems),
    migrationHeartbeatTimeoutMs: integer('VIRTUOSO_MIGRATION_HEARTBEAT_TIMEOUT_S', 15, 3, 3600) * 1000,
    mediaMaxMb: integer('VIRTUOSO_MEDIA_MAX_MB', 1024, 1, 1_048_576),
    consoleTokenTtlMs: 30_000,
    jsonBodyMaxKb: integer('VIRTUOSO_JSON_BODY_MAX_KB', 100, 1, 102_400),
    requestTimeoutMs: integer('VIRTUOSO_REQUEST_TIMEOUT_SECONDS', 600, 1, 86_400) * 1000,
    quotas: {
      apiTokens: integer('VIRTUOSO_QUOTA_API_TOKENS', 20, 0, 1_000_000),
      hosts: integer('VIRTUOSO_QUOTA_HOSTS', 100, 0, 1_000_000),
      machines: integer('VIRTUOSO_QUOTA_MACHINES', 100, 0, 1_000_000),
      mediaBytes: integer('VIRTUOSO_QUOTA_MEDIA_MB', 10_240, 0, 1_073_741_824) * 1024 * 1024,
    },
    billingIntervalSeconds: integer('VIRTUOSO_BILLING_INTERVAL_SECONDS', 60, 1, 86_400),
    eventRetentionDays: integer('VIRTUOSO_EVENT_RETENTION_DAYS', 90, 0, 36_500),
    billingBatchSize: raw('VIRTUOSO_BILLING_BATCH_SIZE') === undefined ? null : integer('VIRTUOSO_BILLING_BATCH_SIZE', 2500, 1, 10_000),
    billingConcurrency: integer('VIRTUOSO_BILLING_CONCURRENCY', 2, 1, 16),
    leaderPollSeconds: integer('VIRTUOSO_LEADER_POLL_SECONDS', 2, 1, 60),
    lowBalanceGraceSeconds: integer('VIRTUOSO_LOW_BALANCE_GRACE_SECONDS', 86_400, 0, 31_536_000),
    smtpUrl: smtpUrl(raw('VIRTUOSO_SMTP_URL'), problems),
    mailFrom: raw('VIRTUOSO_MAIL_FROM') ?? 'Virtuoso <noreply@virtuoso.invalid>',
    // Empty: <data>/outbox of the data directory in force after overrides (below).
    outboxDir: raw('VIRTUOSO_OUTBOX_DIR') === undefined ? '' : resolve(raw('VIRTUOSO_OUTBOX_DIR')!),
    topUpMaxAmount: amount('VIRTUOSO_TOPUP_MAX_AMOUNT', '10000'),
    topUpDailyLimit: amount('VIRTUOSO_TOPUP_DAILY_LIMIT', '50000'),
    testClock: testClock(raw, problems),
  };
  const publicText = raw('VIRTUOSO_PUBLIC_URL');
  if (publicText !== undefined) {
    try {
      const url = new URL(publicText);
      if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.search || url.hash) throw new Error('not a base URL');
      config.publicUrl = url.toString().replace(/\/+$/, '');
    } catch {
      problems.push(`VIRTUOSO_PUBLIC_URL must be an http(s) base URL such as https://virtuoso.example.org (got "${publicText}")`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const merged = { ...config, ...overrides };
  return merged.outboxDir ? merged : { ...merged, outboxDir: join(merged.dataDir, 'outbox') };
}

const TRUST_PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * VIRTUOSO_TRUST_PROXY: unset, empty or "false" trusts no proxy; otherwise comma-separated
 * addresses, CIDR blocks and Express's names loopback, linklocal, uniquelocal. Not "true" nor a hop
 * count: both would believe an address the client itself wrote when it reaches a replica directly.
 */
function trustProxy(text: string | undefined, problems: string[]): string[] | false {
  const value = text?.trim() ?? '';
  if (value === '' || value === 'false') return false;
  const entries = value
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  for (const entry of entries) {
    if (TRUST_PROXY_NAMES.has(entry)) continue;
    const [address, bits, extra] = entry.split('/');
    const family = isIP(address);
    const max = family === 6 ? 128 : 32;
    if (family && extra === undefined && (bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= max))) continue;
    problems.push(
      `VIRTUOSO_TRUST_PROXY: "${entry}" is not an IP address, a CIDR block such as 10.0.0.0/8, loopback, linklocal or uniquelocal (or false: trust no proxy)`,
    );
  }
  return entries;
}

function postgresUrl(text: string | undefined, problems: string[]): string | null {
  if (text === undefined) return null;
  try {
    const url = new URL(text);
    if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') throw new Error('not postgres');
    if (!url.pathname || url.pathname === '/') throw new Error('no database');
    return text;
  } catch {
    problems.push('VIRTUOSO_DATABASE_URL must be a postgres:// URL naming a database, e.g. postgres://virtuoso:secret@db.example.org:5432/virtuoso');
    return null;
  }
}

function smtpUrl(text: string | undefined, problems: string[]): string | null {
  if (text === undefined) return null;
  try {
    const url = new URL(text);
    if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') throw new Error('not smtp');
    return text;
  } catch {
    problems.push('VIRTUOSO_SMTP_URL must be an smtp:// or smtps:// URL, e.g. smtp://user:password@mail.example.org:587');
    return null;
  }
}

const TEST_CLOCK_VARIABLES = ['VIRTUOSO_CLOCK_OFFSET_MS', 'VIRTUOSO_CLOCK_RATE', 'VIRTUOSO_CLOCK_ORIGIN_MS'] as const;

/** VIRTUOSO_CLOCK_* shift and speed up the clock, and only where VIRTUOSO_ALLOW_TEST_CLOCK=true says so. */
function testClock(raw: (name: string) => string | undefined, problems: string[]): AppConfig['testClock'] {
  const set = TEST_CLOCK_VARIABLES.filter((name) => raw(name) !== undefined);
  const allowed = ['1', 'true', 'yes', 'on'].includes(raw('VIRTUOSO_ALLOW_TEST_CLOCK')?.toLowerCase() ?? '');
  if (!allowed) {
    if (set.length > 0)
      problems.push(
        `${set.join(', ')} ${set.length === 1 ? 'is' : 'are'} honoured only with VIRTUOSO_ALLOW_TEST_CLOCK=true (a test clock, never in production)`,
      );
    return null;
  }
  const whole = (name: string, fallback: number): number => {
    const text = raw(name);
    if (text === undefined) return fallback;
    if (!/^-?\d{1,16}$/.test(text) || !Number.isSafeInteger(Number(text))) {
      problems.push(`${name} must be a whole number of milliseconds (got "${text}")`);
      return fallback;
    }
    return Number(text);
  };
  const rateText = raw('VIRTUOSO_CLOCK_RATE') ?? '1';
  const rate = Number(rateText);
  if (!/^\d+(\.\d+)?$/.test(rateText) || !(rate > 0) || rate > 1_000_000) {
    problems.push(`VIRTUOSO_CLOCK_RATE must be a number above 0 and at most 1000000 (got "${rateText}")`);
  }
  return { originMs: whole('VIRTUOSO_CLOCK_ORIGIN_MS', systemClock.now()), offsetMs: whole('VIRTUOSO_CLOCK_OFFSET_MS', 0), rate };
}

export const APP_CONFIG = Symbol('AppConfig');
