import { applyDecorators, createParamDecorator, ExecutionContext } from '@nestjs/common';
import { ApiQuery } from '@nestjs/swagger';
import { decimalInteger } from '@virtuoso/contracts';
import type { Request, Response } from 'express';
import { badRequest } from '../common/errors';

export const DEFAULT_SEARCH_LIMIT = 100;
export const MAX_SEARCH_LIMIT = 500;
export const TOTAL_COUNT_HEADER = 'X-Total-Count';

const LIMIT_MESSAGE = `limit must be a whole number from 1 to ${MAX_SEARCH_LIMIT}`;

/** `?limit=` of a search: absent → the default; anything but one whole number in 1..500 is a 400 naming `limit`. */
export function parseSearchLimit(value: unknown): number {
  if (value === undefined) return DEFAULT_SEARCH_LIMIT;
  const limit = decimalInteger(value);
  if (limit === undefined || limit < 1 || limit > MAX_SEARCH_LIMIT) throw badRequest('limit', LIMIT_MESSAGE);
  return limit;
}

/** The `limit` query parameter of a market search, checked. */
export const SearchLimit = createParamDecorator((_data: unknown, context: ExecutionContext): number =>
  parseSearchLimit(context.switchToHttp().getRequest<Request>().query.limit),
);

/** Documents `?limit=` on a search operation. */
export function ApiSearchLimit() {
  return applyDecorators(
    ApiQuery({
      name: 'limit',
      required: false,
      description: `At most this many offers, the cheapest (1 to ${MAX_SEARCH_LIMIT}, default ${DEFAULT_SEARCH_LIMIT}). The ${TOTAL_COUNT_HEADER} header of the answer counts them all.`,
      schema: { type: 'integer', minimum: 1, maximum: MAX_SEARCH_LIMIT, default: DEFAULT_SEARCH_LIMIT, example: 20 },
    }),
  );
}

/** The response header documentation of a search answer. */
export const TOTAL_COUNT_DOC = {
  [TOTAL_COUNT_HEADER]: {
    description: 'How many hosts fit and are acceptable in all, before `limit`.',
    required: true,
    schema: { type: 'integer', example: 250 },
  },
};

export function setTotalCount(response: Response, total: number): void {
  response.setHeader(TOTAL_COUNT_HEADER, String(total));
}
