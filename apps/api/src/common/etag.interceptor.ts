import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { Response } from 'express';
import { Observable, tap } from 'rxjs';

/** Answers that are one versioned resource carry its `etag` (see etagOf) as the ETag header, for If-Match. */
@Injectable()
export class VersionEtagInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(
      tap((body) => {
        if (body && typeof body === 'object' && !Array.isArray(body) && typeof (body as { etag?: unknown }).etag === 'string') {
          context
            .switchToHttp()
            .getResponse<Response>()
            .setHeader('ETag', (body as { etag: string }).etag);
        }
      }),
    );
  }
}
