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

/** A whole number in [min, max]; `{ each: true }`: every item of a list is. */
export function IsWholeNumber(field: string, min: number, max: number, options: { each?: boolean } = {}) {
  const each = options.each ? { each: true } : {};
  const what = options.each ? `each of ${field}` : field;
  return applyDecorators(
    IsInt({ message: `${what} must be a whole number`, ...each }),
    Min(min, { message: `${what} must be at least ${min}`, ...each }),
    Max(max, { message: `${what} must be at most ${max}`, ...each }),
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
    // Text that is not plain decimal digits stays text, which the check below refuses.
    Transform(({ value }) => decimalInteger(value) ?? value),
    // One check, so one message per parameter.
    ValidateBy(
      {
        name: 'isQueryInteger',
        validator: { validate: (value: unknown) => Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max },
      },
      { message },
    ),
  );
}

/** A true/false query parameter: the text `true` or `false`, parsed to a boolean; anything else is a 400 naming it. */
export function IsQueryBoolean(field: string) {
  return applyDecorators(
    Transform(({ value }) => (value === 'true' ? true : value === 'false' ? false : value)),
    ValidateBy(
      { name: 'isQueryBoolean', validator: { validate: (value: unknown) => typeof value === 'boolean' } },
      { message: `${field} must be true or false` },
    ),
  );
}

/**
 * Characters a name may not hold (report, "bad input"): C0 controls (NUL, tab, CR, LF, …), DEL and
 * the C1 controls, the Unicode bidirectional controls (U+061C, U+200E/F, U+202A–202E,
 * U+2066–2069: a U+202E before "gpj.exe" shows it as "exe.jpg") and the line and paragraph separators.
 * Names reach other users' pages, notices, emails and CSV files, where these forge lines or
 * reorder text.
 */
export const CONTROL_CHARACTER = /[\u0000-\u001F\u007F-\u009F\u061C\u200E\u200F\u2028\u2029\u202A-\u202E\u2066-\u2069]/;

export function hasControlCharacter(text: string): boolean {
  return CONTROL_CHARACTER.test(text);
}

export const noControlCharactersMessage = (field: string) =>
  `${field} must not contain control characters (line breaks, tabs, NUL or bidirectional text controls)`;

/** A name field (host, machine, media, token names, handles…): refuses control characters with a 400 naming the field. */
export function NoControlCharacters(field: string) {
  return ValidateBy(
    { name: 'noControlCharacters', validator: { validate: (value: unknown) => typeof value !== 'string' || !hasControlCharacter(value) } },
    { message: noControlCharactersMessage(field) },
  );
}
