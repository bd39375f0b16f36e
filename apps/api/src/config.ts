import { money } from '@virtuoso/domain';
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';

/** The repository root: this file is apps/api/src/config.ts (tests) or apps/api/dist/config.js (built). */
export const REPO_ROOT = resolve(__dirname, '..', '..', '..');

/** Everything the API reads from its environment, validated once at boot. */
export interface AppConfig {
  port: number;
  host: string;
  dataDir: string;
  /** A file path, or ':memory:' for a throw-away database. */
  dbPath: string;
  /** The built SPA; null when the directory has no index.html (then only the API is served). */
  webDir: string | null;
  marketIntervalSeconds: number;
  registrationFee: string;
  /** Credit a new buyer account starts with (report fig. 22/30 accounts start at $1000). */
  signupCredit: string;
  signinMaxFailures: number;
  signinWindowSeconds: number;
  sessionTtlHours: number;
  seedDemo: boolean;
  cookieSecure: boolean;
  bcryptCost: number;
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
    webDir,
    marketIntervalSeconds: integer('VIRTUOSO_MARKET_INTERVAL_SECONDS', 60, 1, 86_400),
    registrationFee: amount('VIRTUOSO_REGISTRATION_FEE', '0.05'),
    signupCredit: amount('VIRTUOSO_SIGNUP_CREDIT', '1000'),
    signinMaxFailures: integer('VIRTUOSO_SIGNIN_MAX_FAILURES', 5, 1, 1000),
    signinWindowSeconds: integer('VIRTUOSO_SIGNIN_WINDOW_SECONDS', 300, 1, 86_400),
    sessionTtlHours: integer('VIRTUOSO_SESSION_TTL_HOURS', 168, 1, 8760),
    seedDemo: boolean('VIRTUOSO_SEED_DEMO', true),
    cookieSecure: boolean('VIRTUOSO_COOKIE_SECURE', false),
    bcryptCost: integer('VIRTUOSO_BCRYPT_COST', 10, 4, 15),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return { ...config, ...overrides };
}

export const APP_CONFIG = Symbol('AppConfig');
