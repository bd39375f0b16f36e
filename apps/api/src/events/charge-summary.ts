import { moneyToUnits, sumMoney, unitsToMoney } from '@virtuoso/domain';
import type { MachineEventDto } from '@virtuoso/contracts';
import type { NewEvent } from './event-log.service';

/** What one billing pass did, as the operator's log keeps it. */
export interface PassSummary {
  meters: number;
  charges: number;
  batches: number;
  /** Exact money text. */
  total: string;
  ms: number;
}

/**
 * A billing pass as the event log keeps it: one billing.pass event per pass in the operator's
 * global log, not one per machine charged — the pass is benchmarked at 100,000 meters
 * (docs/ARCHITECTURE.md §12) and the charges themselves are the ledger's rows, which a machine's
 * history reads (chargeEntries; docs/ARCHITECTURE.md "Event log").
 */
export function passEvent(pass: PassSummary): NewEvent {
  return {
    kind: 'billing.pass',
    message: `billing pass: charged ${pass.total} in ${pass.charges} charge${pass.charges === 1 ? '' : 's'} over ${pass.meters} meter${pass.meters === 1 ? '' : 's'} (${pass.batches} batch${pass.batches === 1 ? '' : 'es'}, ${pass.ms} ms)`,
    data: { ...pass },
  };
}

/** Sums amounts exactly, converting each distinct amount text once (a pass repeats a few prices). */
export class MoneyTotal {
  private units = 0n;
  private readonly parsed = new Map<string, bigint>();

  /** Adds `amount`, `times` times over. */
  add(amount: string, times = 1): void {
    let units = this.parsed.get(amount);
    if (units === undefined) {
      units = moneyToUnits(amount);
      this.parsed.set(amount, units);
    }
    this.units += units * BigInt(times);
  }

  get total(): string {
    return unitsToMoney(this.units);
  }
}

/** A ledger row of a machine's charge, as the history reads it. */
export interface ChargeRow {
  key: string;
  kind: string;
  amount: string;
  hostId: string | null;
  at: number | string;
  createdAt: string;
}

/**
 * A machine's charges as entries of its history: one billing.charged per write (the rows one
 * transaction wrote share their createdAt: a batch of the billing pass, a store, a start), e.g.
 * "charged 0.0021 for storage and running (3 charges)". Rows of one createdAt, in any order.
 */
export function chargeEntry(machineId: string, rows: readonly ChargeRow[]): MachineEventDto {
  const kinds = [...new Set(rows.map((row) => row.kind))];
  const total = rows.length === 1 ? rows[0].amount : sumMoney(rows.map((row) => row.amount));
  const dueAt = Math.max(...rows.map((row) => Number(row.at)));
  return {
    id: null,
    at: rows[0].createdAt,
    occurredAt: new Date(dueAt).toISOString(),
    source: 'market',
    kind: 'billing.charged',
    message: `charged ${total} for ${kinds.join(' and ')} (${rows.length} charge${rows.length === 1 ? '' : 's'})`,
    machineId,
    hostId: rows.find((row) => row.hostId)?.hostId ?? null,
    agentId: null,
    version: null,
    agentSeq: null,
    data: { total, charges: rows.length },
  };
}
