import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { ApiError } from './errors';

/**
 * Reads `If-Match: "<version>"` (the ETag of a machine). Absent or `*` → undefined (no
 * precondition). Anything else that is not a quoted version is a 400.
 */
export function parseIfMatch(header: string | undefined): number | undefined {
  if (header === undefined || header.trim() === '' || header.trim() === '*') return undefined;
  const match = /^(?:W\/)?"(\d{1,15})"$/.exec(header.trim());
  if (!match) {
    throw new ApiError(400, 'If-Match must be a machine version in quotes, e.g. "3"', { fields: { 'If-Match': ['If-Match must be a machine version in quotes, e.g. "3"'] } });
  }
  return Number(match[1]);
}

export const IfMatch = createParamDecorator((_data: unknown, context: ExecutionContext): number | undefined =>
  parseIfMatch(context.switchToHttp().getRequest<Request>().header('if-match')),
);

export const etagOf = (version: number): string => `"${version}"`;
