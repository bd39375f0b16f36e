import { describe, expect, it } from 'vitest';
import { fieldMessage, fieldWords, withFieldLabel } from './messages';

describe('field messages', () => {
  it('name the field by its label, not its code name', () => {
    expect(withFieldLabel('speedUnit must be at least 1', 'Speed unit')).toBe('Speed unit must be at least 1');
    expect(withFieldLabel('askedStoragePerMonth must be a non-negative decimal number', 'Asked storage price per month')).toBe(
      'Asked storage price per month must be a non-negative decimal number',
    );
  });
  it('put a code name into words when no label is known (banners)', () => {
    expect(withFieldLabel('speedUnitPrice must be a decimal number written as a string, e.g. "0.00001"')).toBe(
      'Speed unit price must be a decimal number written as a string, e.g. "0.00001"',
    );
    expect(fieldWords('agentPort')).toBe('Agent port');
  });
  it('leave other messages alone', () => {
    expect(withFieldLabel('Totals may not exceed what the agent measured', 'Speed')).toBe('Totals may not exceed what the agent measured');
    expect(withFieldLabel('the request body must be a JSON object')).toBe('the request body must be a JSON object');
  });
  it('show one message per field, the first', () => {
    expect(fieldMessage(['speedUnit must be a whole number', 'speedUnit must be at least 1'], 'Speed unit')).toBe('Speed unit must be a whole number');
    expect(fieldMessage([], 'Speed unit')).toBeNull();
    expect(fieldMessage(undefined, 'Speed unit')).toBeNull();
  });
});
