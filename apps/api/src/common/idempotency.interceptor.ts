import { CallHandler, ExecutionContext, HttpException, Inject, Injectable, NestInterceptor, UseInterceptors, applyDecorators } from '@nestjs/common';
import { Clock, WALL_CLOCK } from './clock';
import { HTTP_CODE_METADATA } from '@nestjs/common/constants';
import { Reflector } from '@nestjs/core';
import { ApiHeader } from '@nestjs/swagger';
import type { Response } from 'express';
import { createHash } from 'node:crypto';
import { Observable, catchError, from, mergeMap, of, throwError } from 'rxjs';
import { LessThan } from 'typeorm';
import { AuthedRequest } from './auth.decorators';
import { Database } from './database.service';
import { ApiError } from './errors';
import { IdempotencyKey } from './idempotency-key.entity';
import { nowIso } from './time';
import { PruneSchedule } from './housekeeping';

export const IDEMPOTENCY_HEADER = 'Idempotency-Key';
/** How long a key is remembered (at least a day, so a retry after a long outage still finds it). */
export const IDEMPOTENCY_RETENTION_MS = 48 * 3600_000;

const KEY_PROBLEM = 'Idempotency-Key must be 1 to 200 visible ASCII characters (e.g. a UUID)';

/**
 * `Idempotency-Key` on a request that creates something or costs money: a double click or a
 * retry after a lost answer acts once. Per user, the first request with a key reserves it (in a
 * transaction, before the handler runs) with a hash of its method, path and body; its answer,
 * success or HTTP error, is stored with it. The same key and request again → that answer again
 * (`Idempotent-Replayed: true`), the handler not run; the same key with another request, or while
 * the first is still being handled → 409. An unexpected (non-HTTP) failure releases the key, so a
 * retry can act. Without the header the request runs as usual.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  constructor(
    private readonly db: Database,
    private readonly reflector: Reflector,
    @Inject(WALL_CLOCK) private readonly wallClock: Clock,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const req = context.switchToHttp().getRequest<AuthedRequest>();
    const res = context.switchToHttp().getResponse<Response>();
    const key = req.header(IDEMPOTENCY_HEADER);
    if (key === undefined || !req.user) return next.handle();
    if (!/^[\x21-\x7e]{1,200}$/.test(key)) throw new ApiError(400, KEY_PROBLEM, { fields: { [IDEMPOTENCY_HEADER]: [KEY_PROBLEM] } });
    const userId = req.user.id;
    const request = `${req.method} ${req.originalUrl}`.slice(0, 300);
    const requestHash = hashOf(req.method, req.originalUrl, req);
    const successStatus = this.reflector.get<number | undefined>(HTTP_CODE_METADATA, context.getHandler()) ?? (req.method === 'POST' ? 201 : 200);

    return from(this.reserve(userId, key, request, requestHash)).pipe(
      mergeMap((earlier) => {
        if (earlier) return this.replay(res, earlier);
        return next.handle().pipe(
          // It acted: the answer goes out even if remembering it fails (the key then stays reserved: no second act).
          mergeMap((body) => from(this.record(userId, key, successStatus, body).catch(() => undefined)).pipe(mergeMap(() => of(body)))),
          catchError((error: unknown) => {
            const kept =
              error instanceof HttpException
                ? this.record(userId, key, error.getStatus(), error.getResponse())
                : this.db.transaction((em) => em.delete(IdempotencyKey, { userId, key }));
            return from(kept.catch(() => undefined)).pipe(mergeMap(() => throwError(() => error)));
          }),
        );
      }),
    );
  }

  /** Keys are kept at least the retention; older ones go at most once a minute. */
  private readonly pruneKeys = new PruneSchedule(60_000);

  /** Reserves the key for this request; returns the finished earlier answer to replay, or null to act. */
  private async reserve(userId: string, key: string, request: string, requestHash: string): Promise<IdempotencyKey | null> {
    const earlier = await this.db
      .transaction(async (em) => {
        const now = this.wallClock.now();
        if (this.pruneKeys.due(now)) await em.delete(IdempotencyKey, { createdAt: LessThan(new Date(now - IDEMPOTENCY_RETENTION_MS).toISOString()) });
        const found = await em.findOneBy(IdempotencyKey, { userId, key });
        if (!found) await em.insert(IdempotencyKey, { userId, key, requestHash, request, status: null, body: null, createdAt: nowIso(this.wallClock) });
        return found;
      })
      // Two first requests at once on PostgreSQL: the primary key lets one insert; the other reads it now.
      .catch(async (error: unknown) => {
        const found = await this.db.manager.findOneBy(IdempotencyKey, { userId, key });
        if (!found) throw error;
        return found;
      });
    if (!earlier) return null;
    if (earlier.requestHash !== requestHash) {
      throw new ApiError(
        409,
        `this Idempotency-Key was already used for another request (${earlier.request} with another body); use a new key for a new action`,
        {
          fields: { [IDEMPOTENCY_HEADER]: ['already used for another request'] },
        },
      );
    }
    if (earlier.status === null) {
      throw new ApiError(409, 'a request with this Idempotency-Key is still being handled; wait for its answer', {
        fields: { [IDEMPOTENCY_HEADER]: ['a request with this key is still being handled'] },
      });
    }
    return earlier;
  }

  private record(userId: string, key: string, status: number, body: unknown): Promise<unknown> {
    return this.db.transaction((em) => em.update(IdempotencyKey, { userId, key }, { status, body: body === undefined ? null : JSON.stringify(body) }));
  }

  /** The first answer again: a success as the handler's value (ETag from its etag), an error rethrown for the error filter. */
  private replay(res: Response, earlier: IdempotencyKey): Observable<unknown> {
    res.setHeader('Idempotent-Replayed', 'true');
    const body: unknown = earlier.body === null ? undefined : JSON.parse(earlier.body);
    if (earlier.status! >= 400) return throwError(() => new HttpException(body as Record<string, unknown>, earlier.status!));
    if (body && typeof body === 'object' && typeof (body as { etag?: unknown }).etag === 'string') res.setHeader('ETag', (body as { etag: string }).etag);
    return of(body);
  }
}

/** The request as compared: method, path with query, and the JSON body (a multipart upload: its type and length). */
function hashOf(method: string, url: string, req: AuthedRequest): string {
  const type = req.header('content-type') ?? '';
  const body = type.startsWith('multipart/') ? `${type} ${req.header('content-length')}` : JSON.stringify(req.body ?? null);
  return createHash('sha256').update(`${method} ${url}\n${body}`).digest('hex');
}

/** Marks a route that creates something or costs money: it honours `Idempotency-Key`. */
export function Idempotent() {
  return applyDecorators(
    ApiHeader({
      name: IDEMPOTENCY_HEADER,
      required: false,
      description:
        'One key per user action (1–200 visible ASCII characters, e.g. a UUID): the same key and request again answers the first answer again ' +
        '(header Idempotent-Replayed: true) without acting twice; the same key with another request, or while the first is in flight: 409.',
      example: '1f0c6f9e-5b7a-4d2c-9e8b-3a6d4c2b1e0f',
    }),
    UseInterceptors(IdempotencyInterceptor),
  );
}
