import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional } from 'class-validator';
import { IsQueryInteger } from './validation';

export const DEFAULT_SEARCH_LIMIT = 100;
export const MAX_SEARCH_LIMIT = 500;

/** The query of a market search (POST /api/market/search, GET /api/machines/{id}/offers). */
export class SearchQueryDto {
  @ApiPropertyOptional({
    description: `At most this many offers, the cheapest (1 to ${MAX_SEARCH_LIMIT}, default ${DEFAULT_SEARCH_LIMIT}). The X-Total-Count header of the answer counts them all.`,
    example: 20,
    minimum: 1,
    maximum: MAX_SEARCH_LIMIT,
    default: DEFAULT_SEARCH_LIMIT,
    type: 'integer',
  })
  @IsOptional()
  @IsQueryInteger('limit', 1, MAX_SEARCH_LIMIT)
  limit?: number;
}
