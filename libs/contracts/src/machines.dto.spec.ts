import { ACTIONS, STATES } from '@virtuoso/domain';
import { describe, expect, it } from 'vitest';
import { MACHINE_ACTIONS, MACHINE_STATES } from './machines.dto';

describe('the machine enums of the API contract', () => {
  it("are the lifecycle's own lists (a state or action added to the domain reaches the OpenAPI enums)", () => {
    expect(MACHINE_STATES).toBe(STATES);
    expect(MACHINE_ACTIONS).toBe(ACTIONS);
    // 13 states, 12 actions, in the lifecycle's order.
    expect(MACHINE_STATES).toHaveLength(13);
    expect(MACHINE_ACTIONS[0]).toBe('edit');
  });
});
