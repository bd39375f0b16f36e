import type { NoOfferExplanation, Offer } from '../lib/api';
import { formatAskedPrice, formatPeriodPrice } from '../lib/format';

export const NO_OFFERS = 'No provider can hold this configuration at these prices';

/** Report fig. 11 / 31: the hosts that can hold the machine, one to choose with a radio button. */
export function OffersTable({
  offers,
  selected,
  onSelect,
  selectable,
  explanation,
}: {
  offers: Offer[];
  selected: string | null;
  onSelect: (hostId: string) => void;
  selectable: boolean;
  /** Why there is no offer, once the API said (asked only when the list is empty). */
  explanation?: { data?: NoOfferExplanation; isPending: boolean; error: unknown };
}) {
  if (offers.length === 0) {
    return (
      <div className="empty empty--boxed" role="status" data-testid="no-offers">
        <strong>{NO_OFFERS}.</strong>
        <NoOfferReason explanation={explanation} />
      </div>
    );
  }
  return (
    <div className="table-wrap">
      <table className="table table--offers table--fit table--cards">
        <caption className="sr-only">Available hosts</caption>
        <thead>
          <tr>
            <th scope="col">Host</th>
            <th scope="col">Provider</th>
            <th scope="col">Processor</th>
            <th scope="col">Connection</th>
            <th scope="col" className="num">
              Storage cost
            </th>
            <th scope="col" className="num">
              Running cost
            </th>
            <th scope="col" className="num">
              Per month / per hour
            </th>
          </tr>
        </thead>
        <tbody>
          {offers.map((offer) => (
            <tr key={offer.hostId} className={selected === offer.hostId ? 'is-selected' : undefined}>
              <th scope="row">
                {selectable ? (
                  <label className="radio-cell">
                    <input type="radio" name="offer" value={offer.hostId} checked={selected === offer.hostId} onChange={() => onSelect(offer.hostId)} />
                    {offer.hostName}
                  </label>
                ) : (
                  offer.hostName
                )}
              </th>
              <td data-label="Provider">{offer.owner}</td>
              <td data-label="Processor">{offer.processor}</td>
              <td data-label="Connection">{offer.connectionSpeed}</td>
              <td className="num money" data-label="Storage cost" title={`${offer.storagePrice} / ${offer.storageAmount} days`}>
                {formatPeriodPrice(offer.storagePrice, offer.storageAmount, 'day')}
              </td>
              <td className="num money" data-label="Running cost" title={`${offer.runningPrice} / ${offer.runningUnitAmount} seconds`}>
                {formatPeriodPrice(offer.runningPrice, offer.runningUnitAmount, 'second')}
              </td>
              <td className="num money muted" data-label="Per month / per hour" title={`${offer.storagePerMonth} / month · ${offer.runningPerHour} / hour`}>
                {formatAskedPrice(offer.storagePerMonth, 'month')} · {formatAskedPrice(offer.runningPerHour, 'hour')}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Headlines of the reasons the API gives (NoOfferExplanationDto.reason). */
export const NO_OFFER_REASONS: Record<NoOfferExplanation['reason'], string> = {
  size: 'It is too big: no host has that much free speed, memory or disk.',
  price: 'Your asked prices are too low: hosts can hold it, but cost more.',
  offline: 'The hosts that could hold it are offline right now.',
  none: 'No provider has a host in the market yet.',
};

/** The reason (size, price, offline hosts) and what would fit, in the API's words. */
function NoOfferReason({ explanation }: { explanation?: { data?: NoOfferExplanation; isPending: boolean; error: unknown } }) {
  const data = explanation?.data;
  if (!data) {
    return (
      <span>
        {explanation?.isPending && !explanation.error
          ? 'Finding out why…'
          : 'Raise the asked storage or running price, or make the machine smaller, and search again.'}
      </span>
    );
  }
  return (
    <>
      <span data-testid="no-offer-reason">{NO_OFFER_REASONS[data.reason] ?? data.reason}</span>
      <span>{data.message}</span>
      {data.reason === 'price' && data.cheapestStoragePerMonth != null && data.cheapestRunningPerHour != null && (
        <span>
          The cheapest host that can hold it asks {formatAskedPrice(data.cheapestStoragePerMonth, 'month')} and{' '}
          {formatAskedPrice(data.cheapestRunningPerHour, 'hour')}
          {data.hostsThatFitSize > 1 ? ` (${data.hostsThatFitSize} hosts can hold it)` : ''}.
        </span>
      )}
    </>
  );
}
