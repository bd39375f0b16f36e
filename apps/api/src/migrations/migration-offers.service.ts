import { Injectable } from '@nestjs/common';
import type { MigrationOfferDto } from '@virtuoso/contracts';
import { freeResources, migrationCandidates } from '@virtuoso/domain';
import { AuthUser } from '../common/auth.decorators';
import { conflict } from '../common/errors';
import { MachineLifecycle } from '../machines/machine-lifecycle.service';
import { MarketHosts } from '../providers/market-hosts.service';
import { MigrationAgents } from './migration-agents';

/** At most this many hosts are offered (the cheapest), so the parallel QUERYs stay bounded. */
export const MAX_MIGRATION_OFFERS = 100;

/**
 * The migrate search (fig. 20): every other host that fits the machine, cheapest first, with its
 * prices for this machine whether or not they are within the asked ones, and the methods its
 * agent answers to a VMMP QUERY — sent to all candidates in parallel, bounded at about 2 s.
 */
@Injectable()
export class MigrationOffers {
  constructor(
    private readonly lifecycle: MachineLifecycle,
    private readonly market: MarketHosts,
    private readonly agents: MigrationAgents,
  ) {}

  async offers(user: AuthUser, id: string): Promise<MigrationOfferDto[]> {
    const machine = await this.lifecycle.find(user, id);
    this.lifecycle.begin(machine, 'migrate');
    if (!machine.hostId) throw conflict(`machine ${machine.name} is not stored on a host`);
    const size = { speed: machine.speed, memory: machine.memory, disk: machine.disk };
    const asked = { storagePerMonth: machine.askedStoragePerMonth, runningPerHour: machine.askedRunningPerHour };
    const candidates = migrationCandidates(await this.market.marketHosts(size), size, machine.hostId, asked).slice(0, MAX_MIGRATION_OFFERS);
    const ids = candidates.map((c) => c.host.id);
    const [details, online] = await Promise.all([this.market.offerDetails(ids), this.market.onlineHostIds()]);
    const answers = await Promise.all(
      candidates.map((c) =>
        online.has(c.host.id) ? this.agents.query(c.host.id, machine.id) : Promise.resolve({ methods: [], vmmp: [], unavailable: 'its agent is offline' }),
      ),
    );
    return candidates.map((c, index) => {
      const detail = details.get(c.host.id);
      const answer = answers[index];
      return {
        hostId: c.host.id,
        hostName: c.host.name,
        owner: detail?.owner ?? '?',
        processor: detail?.processor ?? '',
        connectionSpeed: detail?.connectionSpeed ?? '',
        storagePrice: c.quote.storagePrice,
        storageAmount: c.quote.storageAmount,
        runningPrice: c.quote.runningPrice,
        runningUnitAmount: c.quote.runningUnitAmount,
        storagePerMonth: c.quote.storagePerMonth,
        runningPerHour: c.quote.runningPerHour,
        withinAsked: c.withinAsked,
        free: freeResources(c.host.total, c.host.reserved),
        methods: answer.methods,
        ...(answer.unavailable ? { unavailable: answer.unavailable } : {}),
        vmmp: answer.vmmp,
      };
    });
  }
}
