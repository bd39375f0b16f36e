import { useState } from 'react';
import { Money } from './Money';
import type { PriceHistory, ResourcePriceHistory } from '../lib/api';
import { RANGES, type ChartPoint, type RangeId } from '../lib/chart';
import { formatDateTime } from '../lib/format';
import { useMarketPriceHistory, usePriceHistory } from '../lib/queries';
import { QueryState } from './forms';
import { LineChart } from './LineChart';

/** 24 hours / 7 days / 30 days. */
export function RangePicker({ value, onChange, label }: { value: RangeId; onChange: (range: RangeId) => void; label: string }) {
  return (
    <div className="segmented" role="group" aria-label={label}>
      {RANGES.map((range) => (
        <button key={range.id} type="button" className="segmented__option" aria-pressed={value === range.id} onClick={() => onChange(range.id)}>
          {range.label}
        </button>
      ))}
    </div>
  );
}

function series<P extends { at: string }>(points: readonly P[], pick: (point: P) => string): ChartPoint[] {
  return points.map((point) => ({ t: Date.parse(point.at), value: pick(point) }));
}

/** A catalog configuration's market averages over time (buyers: next to Browse's current figures). */
export function ConfigurationPriceHistory({ id, name }: { id: string; name: string }) {
  const [range, setRange] = useState<RangeId>('1d');
  const history = usePriceHistory(id, range);
  return (
    <div className="price-history">
      <div className="price-history__head">
        <h3>Price history of {name}</h3>
        <RangePicker value={range} onChange={setRange} label={`Range of the price history of ${name}`} />
      </div>
      <QueryState query={history} what="Loading the price history" />
      {history.data && <ConfigurationCharts history={history.data} />}
    </div>
  );
}

function ConfigurationCharts({ history }: { history: PriceHistory }) {
  const from = Date.parse(history.from);
  const to = Date.parse(history.to);
  const current = history.current;
  return (
    <>
      <p className="price-history__now">
        {current ? (
          <>
            Now:{' '}
            <strong>
              <Money amount={current.storagePerMonth} />
            </strong>{' '}
            per month of storage and{' '}
            <strong>
              <Money amount={current.runningPerHour} />
            </strong>{' '}
            per hour of running, the mean over {current.hostCount} {current.hostCount === 1 ? 'host' : 'hosts'} that could hold it ({formatDateTime(current.at)}
            ).
          </>
        ) : (
          'No market average has been recorded for this configuration yet: no host could hold it so far.'
        )}
      </p>
      <div className="chart-grid">
        <LineChart
          title={`${history.name}: mean storage price`}
          unit="$ per month"
          points={series(history.points, (p) => p.storagePerMonth)}
          from={from}
          to={to}
          formatValue={(v) => `$${v} per month`}
        />
        <LineChart
          title={`${history.name}: mean running price`}
          unit="$ per hour"
          points={series(history.points, (p) => p.runningPerHour)}
          from={from}
          to={to}
          formatValue={(v) => `$${v} per hour`}
        />
      </div>
    </>
  );
}

/** The market's mean resource prices: the current figures with their history (providers: the marketplace). */
export function MarketPriceHistory() {
  const [range, setRange] = useState<RangeId>('1d');
  const history = useMarketPriceHistory(range);
  return (
    <section className="panel price-history" aria-labelledby="market-prices">
      <div className="price-history__head">
        <div>
          <h2 id="market-prices">Market resource prices</h2>
          <p className="muted small">The mean unit prices over every host on Virtuoso, each host counted once: a guide to what to charge.</p>
        </div>
        <RangePicker value={range} onChange={setRange} label="Range of the market price history" />
      </div>
      <QueryState query={history} what="Loading the market prices" />
      {history.data && <ResourceCharts history={history.data} />}
    </section>
  );
}

const RESOURCES = [
  { key: 'speedPer1000BogomipsPerSecond', title: 'Speed', unit: '$ per 1000 bogomips per second' },
  { key: 'memoryPerMbPerSecond', title: 'Memory', unit: '$ per MB per second' },
  { key: 'storagePer100MbPerDay', title: 'Storage', unit: '$ per 100 MB per day' },
] as const;

function ResourceCharts({ history }: { history: ResourcePriceHistory }) {
  const from = Date.parse(history.from);
  const to = Date.parse(history.to);
  const current = history.current;
  return (
    <>
      {!current && <p className="muted">No market prices recorded yet: no provider has added a host.</p>}
      <div className="chart-grid chart-grid--3">
        {RESOURCES.map((resource) => (
          <div key={resource.key} className="resource-price">
            <div className="resource-price__now">
              <span className="resource-price__name">{resource.title}</span>
              <span className="resource-price__value money" data-testid={`market-${resource.key}`}>
                {current ? `$${current[resource.key]}` : '—'}
              </span>
              <span className="resource-price__unit">{resource.unit.replace(/^\$ /, '')}</span>
            </div>
            <LineChart
              title={`Mean ${resource.title.toLowerCase()} price`}
              unit={resource.unit}
              points={series(history.points, (p) => p[resource.key])}
              from={from}
              to={to}
              formatValue={(v) => `$${v} ${resource.unit.replace(/^\$ /, '')}`}
            />
          </div>
        ))}
      </div>
      {current && (
        <p className="muted small">
          Over {current.hostCount} {current.hostCount === 1 ? 'host' : 'hosts'}, as of {formatDateTime(current.at)}.
        </p>
      )}
    </>
  );
}
