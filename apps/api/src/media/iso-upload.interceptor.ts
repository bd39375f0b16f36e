import { CallHandler, ExecutionContext, Inject, Injectable, NestInterceptor } from '@nestjs/common';
import type { Request, Response } from 'express';
import multer from 'multer';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Observable } from 'rxjs';
import { ApiError } from '../common/errors';
import { APP_CONFIG, AppConfig } from '../config';

export type UploadedFile = multer.File;

/**
 * Receives the multipart upload of POST /api/media: one `file` part streamed to disk under
 * <data>/media/incoming (never held in memory), at most VIRTUOSO_MEDIA_MAX_MB. Multer's errors
 * become 4xx answers that name the field and the limit.
 */
@Injectable()
export class IsoUploadInterceptor implements NestInterceptor {
  private readonly upload: ReturnType<multer.Multer['single']>;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    const dest = join(config.dataDir, 'media', 'incoming');
    mkdirSync(dest, { recursive: true });
    this.upload = multer({ dest, limits: { fileSize: config.mediaMaxMb * 1024 * 1024, files: 1, fields: 4, fieldSize: 1024 } }).single('file');
  }

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    const http = context.switchToHttp();
    await new Promise<void>((resolve, reject) =>
      this.upload(http.getRequest<Request>(), http.getResponse<Response>(), (error?: unknown) => (error ? reject(this.explain(error)) : resolve())),
    );
    return next.handle();
  }

  private explain(error: unknown): ApiError {
    const code = (error as { code?: string }).code;
    const field = (message: string, status = 400) => new ApiError(status, message, { fields: { file: [message] } });
    switch (code) {
      case 'LIMIT_FILE_SIZE':
        return field(`file is larger than the ${this.config.mediaMaxMb} MB limit`, 413);
      case 'LIMIT_UNEXPECTED_FILE':
      case 'LIMIT_FILE_COUNT':
        return field('send one ISO image in the multipart field "file"');
      default:
        return new ApiError(400, `the upload is not valid multipart form data (${(error as Error).message})`);
    }
  }
}
