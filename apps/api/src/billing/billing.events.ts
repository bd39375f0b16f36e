/**
 * Facts the billing context announces (through @nestjs/event-emitter) for contexts it does not
 * depend on: the machines module imports billing for its hooks, so billing cannot call it back.
 */

/** A running machine whose buyer is held for a low balance (LowBalanceService.enforce): it must be suspended, never deleted. Announced on every billing pass while it runs. */
export class HeldBuyerMachineRunning {
  static readonly event = 'billing.held-buyer-machine-running';
  constructor(
    readonly machineId: string,
    readonly buyerId: string,
  ) {}
}
