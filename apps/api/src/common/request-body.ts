import type { NextFunction, Request, Response } from 'express';
import { ApiError, badRequest } from './errors';

/**
 * Deepest nesting a request body may have (the top-level object is level 1). Our DTOs are at most
 * three levels deep; class-transformer and class-validator recurse once per level, so a body
 * nested thousands of levels deep overflowed the stack in the ValidationPipe (a 500 after up to
 * half a second of CPU). 32 is body-parser's own depth cap for form bodies.
 */
export const MAX_BODY_DEPTH = 32;

/** A high surrogate not followed by a low one, or a low one not preceded by a high one (matched per UTF-16 code unit: no `u` flag). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const wellFormed = (text: string): boolean => !LONE_SURROGATE.test(text);

export type BodyProblem = { kind: 'depth' } | { kind: 'text'; path: string };

/**
 * The first reason a parsed body must be refused before validation: nested deeper than
 * `maxDepth`, or a string (value or key) that is not well-formed UTF-16 — a lone surrogate such
 * as "\ud800", which JSON allows as an escape but no database, hash or mail transport can encode.
 * Walks with its own stack, so the check itself cannot overflow.
 */
export function bodyProblem(body: unknown, maxDepth = MAX_BODY_DEPTH): BodyProblem | null {
  const stack: Array<{ value: unknown; path: string; depth: number }> = [{ value: body, path: '', depth: 0 }];
  while (stack.length > 0) {
    const { value, path, depth } = stack.pop()!;
    if (typeof value === 'string') {
      if (!wellFormed(value)) return { kind: 'text', path: path || 'body' };
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth + 1 > maxDepth) return { kind: 'depth' };
    for (const [key, child] of Object.entries(value)) {
      const childPath = path ? `${path}.${key}` : key;
      if (!wellFormed(key)) return { kind: 'text', path: childPath };
      stack.push({ value: child, path: childPath, depth: depth + 1 });
    }
  }
  return null;
}

/** Express middleware after the body parsers: refuses what `bodyProblem` finds with a 400. */
export function checkParsedBody(req: Request, _res: Response, next: NextFunction): void {
  const problem = bodyProblem(req.body);
  if (problem?.kind === 'depth') return next(new ApiError(400, `the request body is nested more than ${MAX_BODY_DEPTH} levels deep`));
  if (problem?.kind === 'text') return next(badRequest(problem.path, `${problem.path} is not valid text: it holds a lone UTF-16 surrogate (e.g. "\\ud800")`));
  next();
}
