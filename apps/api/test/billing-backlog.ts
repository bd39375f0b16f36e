import {
  type Charge,
  type MachineMeter,
  type MeterTerms,
  dueCharges,
  meterOnStart,
  meterOnStop,
  meterOnStored,
  quote,
  registrationFeeCharge,
} from '@virtuoso/domain';
import { expect } from 'vitest';
import type { ManualClock } from '../src/common/clock';
import { Machine } from '../src/machines/machine.entity';
import type { Agent, TestApp } from './helpers';

/**
 * A billing backlog for the crash tests (billing-crash.spec.ts, scale/replicas.spec.ts): 300
 * machines of 20 buyers on three hand-added hosts, stored one a second from S0, half of them
 * started 400 s later and one in eight stopped, each event at its recorded instant through
 * MachineStore (the billing hooks); the oracle (expectedCharges) replays the same events.
 */
export const S = 1000;
export const D = 86_400_000;
export const S0 = Date.UTC(2026, 10, 25, 12);
export const BUYERS = 20;
export const PER_BUYER = 15;

/** A machine's recorded events: what the oracle replays with libs/domain. */
export interface Timeline {
  machineId: string;
  buyerId: string;
  terms: MeterTerms;
  registeredAt: number;
  storedAt: number;
  startedAt?: number;
  stoppedAt?: number;
}

/**
 * The oracle: every charge the timeline makes by `until`, worked out by replaying its events with
 * libs/domain's meter functions and one dueCharges at the end — no daemon, no database.
 */
export function expectedCharges(line: Timeline, until: number): Charge[] {
  const charges: Charge[] = [registrationFeeCharge({ machineId: line.machineId, buyerId: line.buyerId, at: line.registeredAt })];
  let step = meterOnStored({ machineId: line.machineId, buyerId: line.buyerId, at: line.storedAt, ...line.terms });
  charges.push(...step.charges);
  let meter: MachineMeter = step.meter;
  if (line.startedAt !== undefined) {
    step = meterOnStart(meter, line.startedAt);
    charges.push(...step.charges);
    meter = step.meter;
  }
  if (line.stoppedAt !== undefined) {
    step = meterOnStop(meter, line.stoppedAt);
    charges.push(...step.charges);
    meter = step.meter;
  }
  charges.push(...dueCharges(meter, until).charges);
  return charges;
}

/** Seeds the backlog through `t` (its clock `clock`, moved to each event's instant); returns the machines' timelines. */
export async function seedBillingBacklog(t: TestApp, clock: ManualClock, hostPrefix: string): Promise<Timeline[]> {
  const lines: Timeline[] = [];
  const provider = await t.signUp('provider');
  const hosts: string[] = [];
  for (const [i, speedUnitPrice] of ['0.00001', '0.00002', '0.000007'].entries()) {
    const host = await provider.post('/api/hosts').send({
      name: `${hostPrefix}-${i}`,
      processor: 'x',
      speed: 10_000_000,
      speedUnit: 1000,
      speedUnitPrice,
      memory: 1_000_000,
      memoryUnit: 4,
      memoryUnitPrice: '0.00001',
      runningUnitAmount: 600,
      storage: 10_000_000,
      storageUnit: 100,
      storageUnitPrice: '0.01',
      storageAmount: 1,
      connectionSpeed: '1G',
      agentHost: '127.0.0.1',
      agentPort: 9,
    });
    expect(host.status).toBe(201);
    hosts.push(host.body.id);
  }
  const buyers: Array<Agent & { userId: string }> = [];
  for (let b = 0; b < BUYERS; b++) buyers.push(await t.signUp('buyer'));
  let n = 0;
  for (const buyer of buyers) {
    for (let k = 0; k < PER_BUYER; k++, n++) {
      const registered = await buyer
        .post('/api/machines')
        .send({ name: `m${n}`, processor: 'x', speed: 4000, os: 'x', memory: 64, disk: 100, askedStoragePerMonth: '100', askedRunningPerHour: '100' });
      expect(registered.status).toBe(201);
      lines.push({
        machineId: registered.body.id,
        buyerId: buyer.userId,
        registeredAt: S0 - 10 * S,
        storedAt: S0 + n * S,
        ...(n % 2 === 0 ? { startedAt: S0 + 400 * S + n * S } : {}),
        ...(n % 8 === 0 ? { stoppedAt: S0 + 3000 * S + n * S } : {}),
        terms: undefined as unknown as MeterTerms,
      });
    }
  }
  const { Database } = await import('../src/common/database.service');
  const { MachineStore } = await import('../src/machines/machine-store.service');
  const { HostsService, pricesOf } = await import('../src/providers/hosts.service');
  const events = lines.flatMap((line, i) => [
    { at: line.storedAt, line, host: hosts[i % hosts.length], kind: 'store' as const },
    ...(line.startedAt !== undefined ? [{ at: line.startedAt, line, host: '', kind: 'start' as const }] : []),
    ...(line.stoppedAt !== undefined ? [{ at: line.stoppedAt, line, host: '', kind: 'stop' as const }] : []),
  ]);
  events.sort((a, b) => a.at - b.at);
  for (const event of events) {
    clock.set(event.at);
    await t.app.get(Database).transaction(async (em) => {
      const machine = await em.findOneByOrFail(Machine, { id: event.line.machineId });
      if (event.kind === 'store') {
        const size = { speed: machine.speed, memory: machine.memory, disk: machine.disk };
        const host = await t.app.get(HostsService).reserve(em, event.host, size);
        const fixed = quote(pricesOf(host), size);
        event.line.terms = {
          providerId: provider.userId,
          storagePrice: fixed.storagePrice,
          storageAmountDays: fixed.storageAmount,
          runningPrice: fixed.runningPrice,
          runningUnitSeconds: fixed.runningUnitAmount,
        };
        const { storagePrice, storageAmount, runningPrice, runningUnitAmount } = fixed;
        await t.app
          .get(MachineStore)
          .write(em, machine, { state: 'stored', version: 1, hostId: event.host, storagePrice, storageAmount, runningPrice, runningUnitAmount });
      } else {
        await t.app.get(MachineStore).write(em, machine, event.kind === 'start' ? { state: 'running' } : { state: 'stopped', version: 2 });
      }
    });
  }
  return lines;
}
