import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { IsInt, IsString, Matches, Max, Min, ValidateBy } from 'class-validator';

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

/**
 * A query parameter's text as a whole number: decimal digits only (no sign, exponent, hex, spaces
 * or fraction), at most 15 of them so that the number is exact. Anything else → undefined.
 * Number() alone would take "1e20", "0x10" and " 16 ", and round 9007199254740993 to …992.
 */
export function decimalInteger(value: unknown): number | undefined {
  return typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : undefined;
}

/**
 * An integer query parameter from `min` to `max`, parsed by `decimalInteger`; anything else is a
 * 400 naming the parameter. For every integer query parameter of the API.
 */
export function IsQueryInteger(field: string, min: number, max: number) {
  const message = `${field} must be a whole number from ${min} to ${max}`;
  return applyDecorators(
    // Text that is not plain decimal digits stays text, so IsInt refuses it with the message.
    Transform(({ value }) => decimalInteger(value) ?? value),
    // One check, so one message per parameter.
    ValidateBy({ name: 'isQueryInteger', validator: { validate: (value: unknown) => Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max } }, { message }),
  );
}
