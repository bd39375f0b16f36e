import { applyDecorators } from '@nestjs/common';
import { IsInt, IsString, Matches, Max, Min } from 'class-validator';

/** A non-negative decimal price as text (plain or scientific, e.g. "0.00001" or "1e-07"): kept exact, never a float. */
export const PRICE_PATTERN = /^(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;

export function IsPrice(field: string) {
  return applyDecorators(
    IsString({ message: `${field} must be a decimal number written as a string, e.g. "0.00001"` }),
    Matches(PRICE_PATTERN, { message: `${field} must be a non-negative decimal number, e.g. "0.00001" or "1e-07"` }),
  );
}

export function IsWholeNumber(field: string, min: number, max: number) {
  return applyDecorators(
    IsInt({ message: `${field} must be a whole number` }),
    Min(min, { message: `${field} must be at least ${min}` }),
    Max(max, { message: `${field} must be at most ${max}` }),
  );
}
