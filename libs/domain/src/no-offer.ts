import { type AskedPrices, type MachineSize, type Rate, askedRates, compareRates, exactSize, quoteRates, runningRate, storageRate } from './pricing';
import { type MarketHost, hasRoomFor } from './matching';

/**
 * Why a store search found no host (report fig. 14 says only "no provider can hold this
 * configuration"):
 * - 'size': no online host has the machine's speed, memory and disk free at once;
 * - 'price': some online hosts have room, but none within both asked prices;
 * - 'offline': no host that has room is online (or no host is online at all);
 * - 'none': nothing stands in the way (hosts hold it at the asked prices), or the market is empty.
 */
export type NoOfferReason = 'size' | 'price' | 'offline' | 'none';

export interface NoOfferExplanation {
  reason: NoOfferReason;
  /** A sentence for people: the reason and what would fit. */
  message: string;
  /** Online hosts with room for the size, whatever their prices. */
  hostsThatFitSize: number;
  /** Over those hosts, the lowest storage price per 30-day month and running price per hour for this machine (each may be another host's); null when none has room. */
  cheapestStoragePerMonth: string | null;
  cheapestRunningPerHour: string | null;
}

export type HostForExplanation = MarketHost & { online: boolean };

const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;
const DIMENSIONS = [
  { size: 'speed', free: 'speed', unit: 'bogomips' },
  { size: 'memory', free: 'memory', unit: 'MB memory' },
  { size: 'disk', free: 'storage', unit: 'MB disk' },
] as const;
const amounts = (values: number[]) => DIMENSIONS.map((d, i) => `${values[i]} ${d.unit}`);
const listed = (parts: string[]) => (parts.length <= 1 ? parts.join('') : `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}`);

/**
 * Works out why `storeSearch` over `hosts` finds nothing for `size` at `asked`, and what would
 * fit: the largest free resources when it is the size, the cheapest prices when it is the price.
 * Exact rates decide (as the search does); figures are shown as the search shows them.
 */
export function explainNoOffer(hosts: readonly HostForExplanation[], size: MachineSize, asked: AskedPrices): NoOfferExplanation {
  const online = hosts.filter((host) => host.online);
  const roomy = online.filter((host) => hasRoomFor(host, size));
  const none = { hostsThatFitSize: roomy.length, cheapestStoragePerMonth: null, cheapestRunningPerHour: null };

  if (roomy.length === 0) {
    if (hosts.length === 0) return { reason: 'none', message: 'No host is in the market yet.', ...none };
    const roomyOffline = hosts.filter((host) => !host.online && hasRoomFor(host, size)).length;
    if (online.length === 0 || roomyOffline > 0) {
      const message =
        roomyOffline > 0
          ? `${plural(roomyOffline, 'host')} could hold it, but ${roomyOffline === 1 ? 'its agent is' : 'their agents are'} offline: try again later${online.length > 0 ? ' or choose a smaller size' : ''}.`
          : 'No host is online right now: try again later.';
      return { reason: 'offline', message, ...none };
    }
    return { reason: 'size', message: sizeMessage(online, size), ...none };
  }

  const exact = exactSize(size);
  const limits = askedRates(asked);
  let cheapestRunning: { host: HostForExplanation; running: Rate; storage: Rate } | null = null;
  let cheapestStorage: { host: HostForExplanation; running: Rate; storage: Rate } | null = null;
  let accepted = 0;
  for (const host of roomy) {
    const rates = { host, running: runningRate(host.prices, exact.speed, exact.memory), storage: storageRate(host.prices, exact.disk) };
    if (compareRates(rates.running, limits.running) <= 0 && compareRates(rates.storage, limits.storage) <= 0) accepted += 1;
    if (!cheapestRunning || compareRates(rates.running, cheapestRunning.running) < 0) cheapestRunning = rates;
    if (!cheapestStorage || compareRates(rates.storage, cheapestStorage.storage) < 0) cheapestStorage = rates;
  }
  const perHour = quoteRates(cheapestRunning!.host.prices, cheapestRunning!.running, cheapestRunning!.storage).runningPerHour;
  const perMonth = quoteRates(cheapestStorage!.host.prices, cheapestStorage!.running, cheapestStorage!.storage).storagePerMonth;
  const figures = { hostsThatFitSize: roomy.length, cheapestStoragePerMonth: perMonth, cheapestRunningPerHour: perHour };
  if (accepted > 0) {
    return { reason: 'none', message: `${plural(accepted, 'host')} can hold it at your asked prices: search again.`, ...figures };
  }
  const raise: string[] = [];
  if (compareRates(cheapestRunning!.running, limits.running) > 0) raise.push(`your asked running price to at least ${perHour} per hour`);
  if (compareRates(cheapestStorage!.storage, limits.storage) > 0) raise.push(`your asked storage price to at least ${perMonth} per month`);
  const start = `${plural(roomy.length, 'host')} can hold it, the cheapest at ${perMonth} per month and ${perHour} per hour`;
  if (raise.length > 0) return { reason: 'price', message: `${start}: raise ${listed(raise)}.`, ...figures };
  // Each ask is met by some host, never both by one: name what the cheapest to run asks for storage.
  const itsStorage = quoteRates(cheapestRunning!.host.prices, cheapestRunning!.running, cheapestRunning!.storage).storagePerMonth;
  return {
    reason: 'price',
    message: `${start}, but no one host is within both asked prices: ${cheapestRunning!.host.name} runs it at ${perHour} per hour but stores it at ${itsStorage} per month; raise your asked storage price to at least ${itsStorage} per month, or your running price.`,
    ...figures,
  };
}

/** 'size': what is short. One resource no online host has enough of: the largest free; otherwise the closest host. */
function sizeMessage(online: readonly HostForExplanation[], size: MachineSize): string {
  const wanted = DIMENSIONS.map((d) => size[d.size]);
  const free = (host: HostForExplanation) => DIMENSIONS.map((d) => host.total[d.free] - host.reserved[d.free]);
  const largest = DIMENSIONS.map((_, i) => Math.max(...online.map((host) => free(host)[i])));
  const short = DIMENSIONS.map((_, i) => i).filter((i) => largest[i] < wanted[i]);
  if (short.length > 0) {
    const asked = short.map((i) => `${wanted[i]} ${DIMENSIONS[i].unit}`);
    const most = short.map((i) => `${largest[i]} ${DIMENSIONS[i].unit}`);
    return `No online host has ${listed(asked)} free; the largest free is ${listed(most)}: choose a smaller size.`;
  }
  // Every resource is free somewhere, never all on one host: the host closest to holding it
  // (the largest share of the most constrained resource) shows a size that fits.
  const share = (host: HostForExplanation) => Math.min(...free(host).map((value, i) => (wanted[i] === 0 ? Infinity : value / wanted[i])));
  const closest = online.reduce((best, host) => (share(host) > share(best) ? host : best));
  return `No online host has ${listed(amounts(wanted))} free at once; ${closest.name} has ${listed(amounts(free(closest)))} free: choose a size within that.`;
}
