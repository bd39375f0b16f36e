import { sumMoney, type Charge } from '@virtuoso/domain';
import type { NewEvent } from './event-log.service';

/**
 * A billing pass's charges as the event log keeps them: one billing.charged event per machine
 * charged ("charged 0.0021 for storage and running (3 charges)"), not one per charge — the pass
 * runs every minute over every meter due (docs/ARCHITECTURE.md "Event log").
 */
export function chargeEvents(charges: readonly Charge[], hostOf: (machineId: string) => string | null): NewEvent[] {
  const byMachine = new Map<string, Charge[]>();
  for (const charge of charges) {
    const list = byMachine.get(charge.machineId);
    if (list) list.push(charge);
    else byMachine.set(charge.machineId, [charge]);
  }
  return [...byMachine.entries()].map(([machineId, list]) => {
    const kinds = [...new Set(list.map((charge) => charge.kind))];
    const total = list.length === 1 ? list[0].amount : sumMoney(list.map((charge) => charge.amount));
    // The pass is benchmarked (docs/ARCHITECTURE.md §12): one short row per machine, its figures in the message.
    return {
      kind: 'billing.charged',
      message: `charged ${total} for ${kinds.join(' and ')} (${list.length} charge${list.length === 1 ? '' : 's'})`,
      machineId,
      hostId: hostOf(machineId),
      buyerId: list[0].payer,
      providerId: list.find((charge) => charge.kind !== 'fee')?.payee ?? null,
    };
  });
}
