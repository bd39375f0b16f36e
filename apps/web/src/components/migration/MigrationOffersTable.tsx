import type { MigrationOffer } from '../../lib/api';
import { formatAskedPrice, formatPeriodPrice } from '../../lib/format';
import { choiceValue, METHOD_DESCRIPTIONS, methodLabel } from '../../lib/migration';

/**
 * Report fig. 20: the hosts the machine can move to, with their prices and free room, and per host
 * the methods its agent answered as choices (one radio group for host and method). A host that did
 * not answer is listed greyed with the reason and no choice.
 */
export function MigrationOffersTable({ offers, choice, onChoose }: { offers: MigrationOffer[]; choice: string | null; onChoose: (choice: string) => void }) {
  return (
    <div className="table-wrap">
      <table className="table table--offers table--migration-offers table--fit table--cards">
        <caption className="sr-only">Hosts the machine can move to</caption>
        <thead>
          <tr>
            <th scope="col">Host</th>
            <th scope="col">Processor</th>
            <th scope="col" className="num">
              Storage cost
            </th>
            <th scope="col" className="num">
              Running cost
            </th>
            <th scope="col">Free room</th>
            <th scope="col">Migration methods</th>
          </tr>
        </thead>
        <tbody>
          {offers.map((offer) => {
            const answered = offer.methods.length > 0;
            const selected = answered && choice != null && choice.startsWith(`${offer.hostId} `);
            return (
              <tr
                key={offer.hostId}
                className={!answered ? 'is-offline' : selected ? 'is-selected' : undefined}
                data-testid={`migration-offer-${offer.hostName}`}
                aria-disabled={answered ? undefined : true}
              >
                <th scope="row">
                  <span className="cell-name__title">{offer.hostName}</span>
                  <span className="pair__detail">
                    {offer.owner} · {offer.connectionSpeed}
                  </span>
                </th>
                <td data-label="Processor">{offer.processor}</td>
                <td className="num" data-label="Storage cost">
                  <span className="pair">
                    <span className="money" title={`${offer.storagePrice} / ${offer.storageAmount} days`}>
                      {formatPeriodPrice(offer.storagePrice, offer.storageAmount, 'day')}
                    </span>
                    <span className="pair__detail money" title={offer.storagePerMonth}>
                      {formatAskedPrice(offer.storagePerMonth, 'month')}
                    </span>
                  </span>
                </td>
                <td className="num" data-label="Running cost">
                  <span className="pair">
                    <span className="money" title={`${offer.runningPrice} / ${offer.runningUnitAmount} seconds`}>
                      {formatPeriodPrice(offer.runningPrice, offer.runningUnitAmount, 'second')}
                    </span>
                    <span className="pair__detail money" title={offer.runningPerHour}>
                      {formatAskedPrice(offer.runningPerHour, 'hour')}
                    </span>
                    <span className={`asked asked--${offer.withinAsked ? 'within' : 'above'}`}>
                      {offer.withinAsked ? 'within your asked prices' : 'above your asked prices'}
                    </span>
                  </span>
                </td>
                <td data-label="Free room">
                  <span className="pair pair--start">
                    <span>{offer.free.speed} bogomips</span>
                    <span className="pair__detail">
                      {offer.free.memory} MB memory · {offer.free.storage} MB disk
                    </span>
                  </span>
                </td>
                <td data-label="Migration methods">
                  {answered ? (
                    <span className="method-choices" role="group" aria-label={`Methods ${offer.hostName} offers`}>
                      {offer.methods.map((method) => {
                        const value = choiceValue(offer.hostId, method);
                        return (
                          <label key={method} className="radio-cell method-choice">
                            <input
                              type="radio"
                              name="migration-choice"
                              value={value}
                              checked={choice === value}
                              onChange={() => onChoose(value)}
                              aria-label={`${offer.hostName}: ${methodLabel(method)}`}
                            />
                            <span>
                              <strong>{method}</strong>
                              {METHOD_DESCRIPTIONS[method] && <span className="method-choice__what"> — {METHOD_DESCRIPTIONS[method]}</span>}
                            </span>
                          </label>
                        );
                      })}
                    </span>
                  ) : (
                    <span className="muted small" data-testid="unavailable">
                      No method: {offer.unavailable ?? 'its agent did not answer'}
                    </span>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
