import { Injectable } from '@nestjs/common';
import { MachineSpecDto, MarketHostDto, OfferDto } from '@virtuoso/contracts';
import { type AskedPrices, type MachineSize, storeSearch } from '@virtuoso/domain';
import { exactAmount } from '../common/money';
import { HostsService, freeOf } from '../providers/hosts.service';

/** Searching the market: the rules are libs/domain's storeSearch; this reads the hosts and shapes offers. */
@Injectable()
export class MarketService {
  constructor(private readonly hosts: HostsService) {}

  marketplace(): Promise<MarketHostDto[]> {
    return this.hosts.marketplace();
  }

  /** Search for a configuration not registered yet (report searchproviderspre.pl). */
  searchSpec(dto: MachineSpecDto): Promise<OfferDto[]> {
    const asked = {
      storagePerMonth: exactAmount('askedStoragePerMonth', dto.askedStoragePerMonth),
      runningPerHour: exactAmount('askedRunningPerHour', dto.askedRunningPerHour),
    };
    return this.offers({ speed: dto.speed, memory: dto.memory, disk: dto.disk }, asked);
  }

  /** Hosts that can hold `size` at rates the asked prices accept, cheapest to run first. */
  async offers(size: MachineSize, asked: AskedPrices): Promise<OfferDto[]> {
    const candidates = await this.hosts.marketHosts(size);
    return storeSearch(candidates, size, asked).map(({ host, quote }) => ({
      hostId: host.id,
      hostName: host.name,
      owner: host.owner,
      processor: host.row.processor,
      connectionSpeed: host.row.connectionSpeed,
      storagePrice: quote.storagePrice,
      storageAmount: quote.storageAmount,
      runningPrice: quote.runningPrice,
      runningUnitAmount: quote.runningUnitAmount,
      storagePerMonth: quote.storagePerMonth,
      runningPerHour: quote.runningPerHour,
      free: freeOf(host.row),
    }));
  }
}
