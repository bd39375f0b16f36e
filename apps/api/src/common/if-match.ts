import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { ApiError } from './errors';

/**
 * What an If-Match header asks of a machine: a bare version (`"3"`, a number here, compared with
 * the lifecycle version only, as before edits had their own counter) or the full ETag
 * (`"3.7"` = version.revision, compared on both, so an edit made meanwhile also fails it).
 */
export type IfMatchValue = number | { version: number; revision: number };

const IF_MATCH_PROBLEM = 'If-Match must be the machine\'s ETag in quotes, e.g. "3.7", or its version, e.g. "3"';

/** Reads `If-Match`. Absent or `*` → undefined (no precondition). Anything else that is not an ETag of ours is a 400. */
export function parseIfMatch(header: string | undefined): IfMatchValue | undefined {
  if (header === undefined || header.trim() === '' || header.trim() === '*') return undefined;
  const match = /^(?:W\/)?"(\d{1,15})(?:\.(\d{1,15}))?"$/.exec(header.trim());
  if (!match) throw new ApiError(400, IF_MATCH_PROBLEM, { fields: { 'If-Match': [IF_MATCH_PROBLEM] } });
  return match[2] === undefined ? Number(match[1]) : { version: Number(match[1]), revision: Number(match[2]) };
}

/** Whether a machine at (version, revision) meets the precondition. */
export function ifMatchHolds(ifMatch: IfMatchValue | undefined, machine: { version: number; revision: number }): boolean {
  if (ifMatch === undefined) return true;
  if (typeof ifMatch === 'number') return ifMatch === machine.version;
  return ifMatch.version === machine.version && ifMatch.revision === machine.revision;
}

/** The precondition as the client wrote it, for messages. */
export const describeIfMatch = (ifMatch: IfMatchValue): string =>
  typeof ifMatch === 'number' ? `version ${ifMatch}` : `ETag "${ifMatch.version}.${ifMatch.revision}"`;

export const IfMatch = createParamDecorator((_data: unknown, context: ExecutionContext): IfMatchValue | undefined =>
  parseIfMatch(context.switchToHttp().getRequest<Request>().header('if-match')),
);

/** A machine's ETag: its lifecycle version and its revision (which grows on every write, edits included). */
export const etagOf = (version: number, revision: number): string => `"${version}.${revision}"`;
