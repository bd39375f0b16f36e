import { REQUEST_ID_PATTERN } from '@virtuoso/contracts';
import type { NextFunction, Request, Response } from 'express';
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/**
 * Each HTTP request's id (docs/ARCHITECTURE.md, Operating): the caller's X-Request-Id when it is
 * well-formed, else a new UUID; answered in the X-Request-Id header, on every log line of the
 * request (nestjs-pino), and in the signed envelope of every agent command the request sends, so
 * one user action can be followed from the API's log to the agent's.
 */
const requestIds = new AsyncLocalStorage<string>();

export const REQUEST_ID_HEADER = 'X-Request-Id';

/** The id of the request being handled, or undefined outside one (a daemon's pass). */
export const currentRequestId = (): string | undefined => requestIds.getStore();

/** Express middleware, first of all: names the request and runs the rest of it in its context. */
export function assignRequestId(req: Request, res: Response, next: NextFunction): void {
  const given = req.header(REQUEST_ID_HEADER);
  const id = given && REQUEST_ID_PATTERN.test(given) ? given : randomUUID();
  (req as Request & { id?: string }).id = id;
  res.setHeader(REQUEST_ID_HEADER, id);
  requestIds.run(id, next);
}
