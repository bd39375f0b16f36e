import type { Response } from 'express';

export const TOTAL_COUNT_HEADER = 'X-Total-Count';

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
