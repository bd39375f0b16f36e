import { HttpException, HttpStatus, ValidationError } from '@nestjs/common';
import type { ErrorDto } from '@virtuoso/contracts';

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  428: 'Precondition Required',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

export const statusText = (status: number): string => STATUS_TEXT[status] ?? HttpStatus[status]?.replace(/_/g, ' ') ?? 'Error';

/** An HttpException whose body is exactly an ErrorDto. */
export class ApiError extends HttpException {
  constructor(
    status: number,
    message: string,
    extra: Pick<ErrorDto, 'fields' | 'allowedActions'> = {},
    readonly headers: Record<string, string> = {},
  ) {
    const body: ErrorDto = { statusCode: status, error: statusText(status), message, ...extra };
    super(body, status);
  }
}

export const badRequest = (field: string, message: string) => new ApiError(400, message, { fields: { [field]: [message] } });
export const notFound = (what: string) => new ApiError(404, `${what} not found`);
export const conflict = (message: string) => new ApiError(409, message);

/**
 * Messages for properties a DTO does not accept. By default class-validator says "property x
 * should not exist"; a DTO listed here explains why (e.g. a host's totals are locked).
 */
const unknownPropertyMessages = new Map<abstract new (...args: never[]) => unknown, (property: string) => string | undefined>();

export function explainUnknownProperties(dto: abstract new (...args: never[]) => unknown, explain: (property: string) => string | undefined): void {
  unknownPropertyMessages.set(dto, explain);
}

function collect(errors: ValidationError[], prefix: string, fields: Record<string, string[]>): void {
  for (const error of errors) {
    const path = prefix ? `${prefix}.${error.property}` : error.property;
    const constraints = { ...(error.constraints ?? {}) };
    if (constraints.whitelistValidation && error.target) {
      const explained = unknownPropertyMessages.get(error.target.constructor as abstract new (...args: never[]) => unknown)?.(error.property);
      if (explained) constraints.whitelistValidation = explained;
    }
    const messages = Object.values(constraints);
    if (messages.length > 0) (fields[path] ??= []).push(...messages);
    if (error.children?.length) collect(error.children, path, fields);
  }
}

/** The ValidationPipe's exceptionFactory: 400, first problem as the message, all problems by field. */
export function validationException(errors: ValidationError[]): ApiError {
  // An array or other non-object body shows up as properties "0", "1", ... that should not exist.
  if (errors.some((error) => /^\d+$/.test(error.property) && error.constraints?.whitelistValidation)) {
    return new ApiError(400, 'the request body must be a JSON object');
  }
  const fields: Record<string, string[]> = {};
  collect(errors, '', fields);
  const first = Object.values(fields)[0]?.[0] ?? 'the request body is not valid';
  return new ApiError(400, first, { fields });
}

/** The fields a PATCH body sets; an explicit null is refused, naming the field. */
export function withoutUndefined<T extends object>(dto: T): Partial<T> {
  const set: Partial<T> = {};
  for (const [field, value] of Object.entries(dto)) {
    if (value === undefined) continue;
    if (value === null) throw badRequest(field, `${field} cannot be null; leave it out to keep it`);
    set[field as keyof T] = value;
  }
  return set;
}

/** A unique index (a primary key's included) refused a row: SQLite's or PostgreSQL's words. */
export function isUniqueViolation(error: unknown): boolean {
  const text = error instanceof Error ? error.message : String(error);
  return /UNIQUE constraint failed|duplicate key value violates unique constraint/i.test(text);
}
