import { HeartbeatAdmission } from './agents/heartbeat-admission';
import 'reflect-metadata';
import { LoggerService, LogLevel, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { SwaggerModule } from '@nestjs/swagger';
import cookieParser from 'cookie-parser';
import express, { type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { AppModule } from './app.module';
import type { Clock } from './common/clock';
import { ErrorFilter } from './common/error.filter';
import { EventLog } from './events/event-log.service';
import { requestOriginGuard } from './common/request-origin';
import { assignRequestId } from './common/request-id';
import { Logger as PinoLogger } from 'nestjs-pino';
import { Metrics } from './metrics/metrics.service';
import { validationException } from './common/errors';
import { checkParsedBody } from './common/request-body';
import { AppConfig, loadConfig } from './config';
import { PROVIDER_PACKAGE_ROUTES } from './agents/provider-package.controller';
import { OFFLINE_AFTER_MS } from '@virtuoso/contracts';
import { buildOpenApiDocument } from './openapi';

export interface CreateAppOptions {
  /** Environment to read VIRTUOSO_* from; process.env by default. */
  env?: Record<string, string | undefined>;
  /** Values that win over the environment (tests: a temp database, a low bcrypt cost). */
  config?: Partial<AppConfig>;
  /** Seed the catalog (and demo accounts per VIRTUOSO_SEED_DEMO) on start. Default true. */
  seed?: boolean;
  /** Start the market-average daemon. Default true. */
  daemons?: boolean;
  /** Mount swagger-ui at /api/docs and the document at /api/docs-json. Default true. */
  docs?: boolean;
  /** The clock billing and the daemons go by (tests: a ManualClock). */
  clock?: Clock;
  /** Real time: sessions, tokens, agents, records' timestamps (see common/clock.ts). Default the system clock. */
  wallClock?: Clock;
  logger?: LoggerService | LogLevel[] | false;
}

export const API_PREFIX = 'api';

/** Nest's log levels as pino's: the most verbose one enabled; silent when logging is off. */
function pinoLevel(logger: LoggerService | LogLevel[] | false): string {
  if (!Array.isArray(logger)) return 'silent';
  const order: Array<[LogLevel, string]> = [
    ['verbose', 'trace'],
    ['debug', 'debug'],
    ['log', 'info'],
    ['warn', 'warn'],
    ['error', 'error'],
    ['fatal', 'fatal'],
  ];
  return order.find(([nest]) => logger.includes(nest))?.[1] ?? 'silent';
}
export const HEARTBEAT_BODY_LIMIT = 4 * 1024 * 1024;
/** How long an idle client connection is kept (the Keep-Alive hint): an agent's whole offline threshold. */
export const KEEP_ALIVE_MS = OFFLINE_AFTER_MS;

/**
 * helmet's headers for every answer (the SPA, the API, swagger-ui). The CSP allows only this
 * origin: the SPA's bundled scripts and styles, fetch and the console websocket (CSP 3's 'self'
 * covers ws:/wss: to this host), data:/blob: images (the favicon, noVNC's cursor); inline styles
 * for swagger-ui's page. Nothing may frame us (clickjacking); the referrer goes to this origin only
 * (console and machine URLs stay here) while same-origin requests keep their Origin and Referer.
 * HSTS and upgrade-insecure-requests only behind HTTPS (VIRTUOSO_COOKIE_SECURE): on plain HTTP
 * they would send the browser to an https:// that does not exist.
 */
function securityHeaders(config: AppConfig) {
  return helmet({
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        connectSrc: ["'self'"],
        imgSrc: ["'self'", 'data:', 'blob:'],
        styleSrc: ["'self'", "'unsafe-inline'"],
        fontSrc: ["'self'", 'data:'],
        frameAncestors: ["'none'"],
        upgradeInsecureRequests: config.cookieSecure ? [] : null,
      },
    },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'same-origin' },
    strictTransportSecurity: config.cookieSecure,
  });
}

/**
 * Builds the whole API, initialised but not listening: main.ts listens, tests drive it with
 * supertest, the OpenAPI exporter only reads its routes. Throws ConfigError naming every bad variable.
 */
export async function createApp(options: CreateAppOptions = {}): Promise<NestExpressApplication> {
  const config = loadConfig(options.env ?? process.env, options.config);
  if (!config.databaseUrl && config.dbPath !== ':memory:') mkdirSync(dirname(config.dbPath), { recursive: true });

  const logger = options.logger ?? ['log', 'warn', 'error'];
  const app = await NestFactory.create<NestExpressApplication>(
    AppModule.forRoot(config, {
      seed: options.seed ?? true,
      daemons: options.daemons ?? true,
      clock: options.clock,
      wallClock: options.wallClock,
      logLevel: pinoLevel(logger),
    }),
    // Body parsers are registered below, in order, with our limits and the check that follows them.
    // Log lines wait for the JSON logger (nestjs-pino) unless logging is off or another logger is given.
    { logger, bufferLogs: Array.isArray(logger), abortOnError: false, bodyParser: false },
  );
  if (Array.isArray(logger)) app.useLogger(app.get(PinoLogger));
  app.set('etag', false); // our ETags are machine versions, set explicitly
  app.disable('x-powered-by');
  // Behind the replicas' reverse proxy (VIRTUOSO_TRUST_PROXY): req.ip and req.protocol are the
  // client's, from X-Forwarded-For/-Proto, for sign-in limits, agents' join addresses and URLs.
  if (config.trustProxy) app.set('trust proxy', config.trustProxy);
  // The provider package stays at the root, where the install line's curl fetches it.
  app.setGlobalPrefix(API_PREFIX, { exclude: PROVIDER_PACKAGE_ROUTES });
  // Before everything: the request's id (X-Request-Id) for its log lines and its agent commands.
  app.use(assignRequestId);
  // First, so that every answer is timed, refusals (401, 413, 429) included.
  app.use(app.get(Metrics).timeRequests());
  app.use(securityHeaders(config));
  // Slow clients: the whole request (an ISO upload included) within requestTimeoutMs, its headers
  // within 30 s. Only receiving the request is timed; handlers that wait on an agent (a stop waits
  // up to VIRTUOSO_STOP_TIMEOUT_SECONDS + 10 s) are bounded by the agent command timeouts instead.
  const server = app.getHttpServer();
  server.requestTimeout = config.requestTimeoutMs;
  server.headersTimeout = Math.min(30_000, config.requestTimeoutMs);
  // Node checks them on an interval (createServer's connectionsCheckingInterval, 30 s by default,
  // read when the server starts listening): check often enough that they hold.
  (server as typeof server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = Math.min(5_000, server.headersTimeout / 4);
  // An idle connection is kept longer than an agent waits between heartbeats: Node's 5 s told
  // agents' fetch (undici keeps a connection for the server's hint less 1 s) to drop it after 4 s,
  // so every heartbeat paid a new connection — its accept, socket and close on the event loop, and
  // in bursts a wait in the accept queue (docs/ARCHITECTURE.md §12).
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  app.use(cookieParser());
  // CSRF: cross-site state-changing requests and non-JSON bodies are refused (common/request-origin.ts).
  app.use(`/${API_PREFIX}`, requestOriginGuard(config, ['/media']));
  // API answers are live state, never to be cached; and since our ETag is the machine version (for
  // If-Match), not a validator of the whole representation — a start changes the state but not
  // the version — a conditional GET must never turn into a stale 304.
  app.use(`/${API_PREFIX}`, (req: Request, res: Response, next: NextFunction) => {
    res.setHeader('Cache-Control', 'no-store');
    delete req.headers['if-none-match'];
    next();
  });
  // A heartbeat carries every VM of the host and the events queued while the API was unreachable
  // (about 110 bytes a VM and 150 an event as JSON text): it gets 4 MiB, everything else the
  // configured cap. Over the cap: 413 before any parsing.
  // Past VIRTUOSO_HEARTBEAT_CONCURRENCY heartbeats at once: 503 before the body is read.
  app.use(`/${API_PREFIX}/agents/heartbeat`, app.get(HeartbeatAdmission).middleware());
  app.use(`/${API_PREFIX}/agents/heartbeat`, express.json({ limit: HEARTBEAT_BODY_LIMIT }));
  app.useBodyParser('json', { limit: config.jsonBodyMaxKb * 1024 });
  app.useBodyParser('urlencoded', { extended: true, limit: config.jsonBodyMaxKb * 1024 });
  app.use(checkParsedBody);
  const eventLog = app.get(EventLog);
  app.useGlobalFilters(
    new ErrorFilter((error) =>
      eventLog.note({
        kind: 'error',
        message: `${error.method} ${error.route} answered ${error.status}: ${error.message}`,
        userId: error.userId,
        data: { status: error.status, route: error.route, ...(error.requestId ? { requestId: error.requestId } : {}) },
      }),
    ),
  );
  app.useGlobalPipes(
    new ValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      // The target tells the exception factory which DTO refused an unknown field (e.g. a locked host total).
      validationError: { target: true, value: false },
      exceptionFactory: validationException,
    }),
  );
  if (options.docs ?? true) {
    SwaggerModule.setup(`${API_PREFIX}/docs`, app, () => buildOpenApiDocument(app), {
      jsonDocumentUrl: `${API_PREFIX}/docs-json`,
      yamlDocumentUrl: `${API_PREFIX}/docs-yaml`,
      customSiteTitle: 'Virtuoso API',
    });
  }
  await app.init();
  return app;
}
