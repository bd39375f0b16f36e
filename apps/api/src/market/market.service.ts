import { Injectable } from '@nestjs/common';
import { MachineSpecDto, MarketHostDto, NoOfferExplanationDto, OfferDto } from '@virtuoso/contracts';
import { type AskedPrices, type MachineSize, explainNoOffer, freeResources, storeSearch } from '@virtuoso/domain';
import { exactAmount } from '../common/money';
import { MarketHosts } from '../providers/market-hosts.service';

/** A page of offers, cheapest first, and how many hosts qualified in all. */
export interface OfferPage {
  offers: OfferDto[];
  total: number;
}

const askedOf = (dto: MachineSpecDto): AskedPrices => ({
  storagePerMonth: exactAmount('askedStoragePerMonth', dto.askedStoragePerMonth),
  runningPerHour: exactAmount('askedRunningPerHour', dto.askedRunningPerHour),
});

/** Searching the market: the rules are libs/domain's storeSearch; this reads the hosts and shapes offers. */
@Injectable()
export class MarketService {
  constructor(private readonly hosts: MarketHosts) {}

  marketplace(): Promise<MarketHostDto[]> {
    return this.hosts.marketplace();
  }

  /** Search for a configuration not registered yet (report searchproviderspre.pl). */
  searchSpec(dto: MachineSpecDto, limit: number): Promise<OfferPage> {
    return this.offers({ speed: dto.speed, memory: dto.memory, disk: dto.disk }, askedOf(dto), limit);
  }

  /** Why searchSpec finds nothing (or would): libs/domain's explainNoOffer over every host. */
  explainSpec(dto: MachineSpecDto): Promise<NoOfferExplanationDto> {
    return this.explain({ speed: dto.speed, memory: dto.memory, disk: dto.disk }, askedOf(dto));
  }

  async explain(size: MachineSize, asked: AskedPrices): Promise<NoOfferExplanationDto> {
    const [hosts, online] = await Promise.all([this.hosts.marketHosts(), this.hosts.onlineHostIds()]);
    return explainNoOffer(
      hosts.map((host) => ({ ...host, online: online.has(host.id) })),
      size,
      asked,
    );
  }

  /**
   * The `limit` cheapest hosts that can hold `size` at rates the asked prices accept, cheapest to
   * run first, then to store, then by name; quotes are exact (libs/domain). Only hosts whose agent
   * is online: a machine cannot be stored on the others.
   */
  async offers(size: MachineSize, asked: AskedPrices, limit: number): Promise<OfferPage> {
    const candidates = await this.hosts.marketHosts(size, undefined, { onlineOnly: true });
    const { offers, total } = storeSearch(candidates, size, asked, { limit });
    const details = await this.hosts.offerDetails(offers.map(({ host }) => host.id));
    const page = offers.flatMap(({ host, quote }): OfferDto[] => {
      const detail = details.get(host.id);
      // A host deleted between the two reads is left out of the page.
      if (!detail) return [];
      return [
        {
          hostId: host.id,
          hostName: host.name,
          owner: detail.owner,
          processor: detail.processor,
          connectionSpeed: detail.connectionSpeed,
          storagePrice: quote.storagePrice,
          storageAmount: quote.storageAmount,
          runningPrice: quote.runningPrice,
          runningUnitAmount: quote.runningUnitAmount,
          storagePerMonth: quote.storagePerMonth,
          runningPerHour: quote.runningPerHour,
          free: freeResources(host.total, host.reserved),
        },
      ];
    });
    return { offers: page, total };
  }
}
