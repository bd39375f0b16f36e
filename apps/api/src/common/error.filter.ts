import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { ErrorDto } from '@virtuoso/contracts';
import type { Response } from 'express';
import type { AuthedRequest } from './auth.decorators';
import { ApiError, statusText } from './errors';
import { currentRequestId } from './request-id';

/** A server-side failure (5xx) as the event log records it. */
export interface ServerError {
  method: string;
  /** The route's pattern (`/api/machines/:id/start`), not the raw URL. */
  route: string;
  status: number;
  message: string;
  userId: string | null;
  requestId: string | null;
}

/**
 * Every error leaves as an ErrorDto; unexpected ones are logged and answered with a bare 500.
 * Every 5xx (an agent that did not answer, a database gone, a bug) also goes to `onServerError`:
 * the event log's "errors" (docs/ARCHITECTURE.md "Event log").
 */
@Catch()
export class ErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  constructor(private readonly onServerError?: (error: ServerError) => void) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    const body = this.toBody(exception);
    if (body.statusCode >= 500 && this.onServerError) {
      const request = host.switchToHttp().getRequest<AuthedRequest>();
      const route = (request.route as { path?: string } | undefined)?.path;
      this.onServerError({
        method: request.method,
        route: route ? `${request.baseUrl}${route}` : 'unmatched',
        status: body.statusCode,
        // The logged cause for an unexpected error, not the bare answer the caller gets.
        message: exception instanceof ApiError || !(exception instanceof Error) ? body.message : exception.message,
        userId: request.user?.id ?? null,
        requestId: currentRequestId() ?? null,
      });
    }
    if (exception instanceof ApiError) {
      for (const [name, value] of Object.entries(exception.headers)) response.setHeader(name, value);
    }
    if (body.statusCode >= 500 && !(exception instanceof ApiError)) {
      this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
    }
    if (response.headersSent) return;
    response.status(body.statusCode).json(body);
  }

  private toBody(exception: unknown): ErrorDto {
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const raw = exception.getResponse();
      if (typeof raw === 'string') return { statusCode: status, error: statusText(status), message: raw };
      const given = raw as Partial<ErrorDto> & { message?: string | string[] };
      let message = Array.isArray(given.message) ? given.message[0] : given.message;
      // Nest maps body-parser's SyntaxError to a bare BadRequestException carrying the parser's words.
      if (!(exception instanceof ApiError) && status === 400 && message && /JSON/.test(message)) {
        message = `the request body is not valid JSON (${message})`;
      }
      const body: ErrorDto = { statusCode: status, error: statusText(status), message: message ?? exception.message };
      if (given.fields) body.fields = given.fields;
      if (given.allowedActions) body.allowedActions = given.allowedActions;
      return body;
    }
    // Errors raised by express middleware before Nest (e.g. a body that is not JSON) carry a status.
    const status = (exception as { status?: unknown; statusCode?: unknown })?.status ?? (exception as { statusCode?: unknown })?.statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      const type = (exception as { type?: string }).type;
      const limit = (exception as { limit?: number }).limit;
      const message =
        type === 'entity.parse.failed'
          ? 'the request body is not valid JSON'
          : type === 'entity.too.large'
            ? `the request body is larger than the ${limit} byte limit`
            : (exception as Error).message;
      return { statusCode: status, error: statusText(status), message };
    }
    return { statusCode: 500, error: statusText(500), message: 'internal error; it has been logged' };
  }
}
