/**
 * What billing asks of the machines module, which it cannot import (the machines module imports
 * billing for its hooks). The machines module provides it under MACHINE_CONTROL; billing looks it
 * up when it needs it.
 */
export interface MachineControl {
  /** Suspends a running machine through its normal lifecycle (the agent saves its memory); never deletes. */
  suspendForBilling(machineId: string): Promise<void>;
}

export const MACHINE_CONTROL = 'VirtuosoMachineControl';
