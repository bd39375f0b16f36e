import 'reflect-metadata';
import { LoggerService, LogLevel, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { SwaggerModule } from '@nestjs/swagger';
import cookieParser from 'cookie-parser';
import type { NextFunction, Request, Response } from 'express';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { AppModule } from './app.module';
import type { Clock } from './common/clock';
import { ErrorFilter } from './common/error.filter';
import { requestOriginGuard } from './common/request-origin';
import { validationException } from './common/errors';
import { AppConfig, loadConfig } from './config';
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
  logger?: LoggerService | LogLevel[] | false;
}

export const API_PREFIX = 'api';

/**
 * Builds the whole API, initialised but not listening: main.ts listens, tests drive it with
 * supertest, the OpenAPI exporter only reads its routes. Throws ConfigError naming every bad variable.
 */
export async function createApp(options: CreateAppOptions = {}): Promise<NestExpressApplication> {
  const config = loadConfig(options.env ?? process.env, options.config);
  if (config.dbPath !== ':memory:') mkdirSync(dirname(config.dbPath), { recursive: true });

  const app = await NestFactory.create<NestExpressApplication>(
    AppModule.forRoot(config, { seed: options.seed ?? true, daemons: options.daemons ?? true, clock: options.clock }),
    { logger: options.logger ?? ['log', 'warn', 'error'], abortOnError: false },
  );
  app.set('etag', false); // our ETags are machine versions, set explicitly
  app.disable('x-powered-by');
  app.setGlobalPrefix(API_PREFIX);
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
  app.useGlobalFilters(new ErrorFilter());
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
