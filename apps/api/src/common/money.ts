import { compareMoney, money } from '@virtuoso/domain';
import { badRequest } from './errors';

/** Prices and amounts a request may set: below 10^15, so every money column holds them. */
export const MAX_AMOUNT = '1000000000000000';

/**
 * A price or amount from a request in canonical money form ('1e-07' → '0.0000001'). The DTO has
 * already checked it is a non-negative decimal; this refuses more precision than money keeps and
 * magnitudes no account could ever hold.
 */
export function exactAmount(field: string, value: string): string {
  let amount: string;
  try {
    amount = money(value);
  } catch {
    throw badRequest(field, `${field} must have at most 12 digits after the decimal point`);
  }
  if (compareMoney(amount, MAX_AMOUNT) >= 0) throw badRequest(field, `${field} must be less than ${MAX_AMOUNT}`);
  return amount;
}
