import type { Offer } from '../lib/api';
import { formatAskedPrice, formatPeriodPrice } from '../lib/format';

export const NO_OFFERS = 'No provider can hold this configuration at these prices';

/** Report fig. 11 / 31: the hosts that can hold the machine, one to choose with a radio button. */
export function OffersTable({
  offers,
  selected,
  onSelect,
  selectable,
}: {
  offers: Offer[];
  selected: string | null;
  onSelect: (hostId: string) => void;
  selectable: boolean;
}) {
  if (offers.length === 0) {
    return (
      <div className="empty empty--boxed" role="status">
        <strong>{NO_OFFERS}.</strong>
        <span>Raise the asked storage or running price, or make the machine smaller, and search again.</span>
      </div>
    );
  }
  return (
    <div className="table-wrap">
      <table className="table table--offers">
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
                    <input
                      type="radio"
                      name="offer"
                      value={offer.hostId}
                      checked={selected === offer.hostId}
                      onChange={() => onSelect(offer.hostId)}
                    />
                    {offer.hostName}
                  </label>
                ) : (
                  offer.hostName
                )}
              </th>
              <td>{offer.owner}</td>
              <td>{offer.processor}</td>
              <td>{offer.connectionSpeed}</td>
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
