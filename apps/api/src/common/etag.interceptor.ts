import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { Response } from 'express';
import { Observable, tap } from 'rxjs';
import { etagOf } from './if-match';

/** Answers that are one versioned resource carry its version as the ETag, for If-Match. */
@Injectable()
export class VersionEtagInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(
      tap((body) => {
        if (body && typeof body === 'object' && !Array.isArray(body) && typeof (body as { version?: unknown }).version === 'number') {
          context.switchToHttp().getResponse<Response>().setHeader('ETag', etagOf((body as { version: number }).version));
        }
      }),
    );
  }
}
