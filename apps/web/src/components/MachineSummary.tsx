import type { Machine } from '../lib/api';
import { formatAskedPrice, formatBogomips, formatMb, formatPeriodPrice } from '../lib/format';
import type { ConfigForm } from '../lib/spec';

type Summary = Pick<Machine, 'name' | 'processor' | 'speed' | 'os' | 'memory' | 'disk' | 'askedStoragePerMonth' | 'askedRunningPerHour'> &
  Partial<Pick<Machine, 'state' | 'host' | 'storagePrice' | 'storageAmount' | 'runningPrice' | 'runningUnitAmount' | 'macAddress' | 'version'>>;

/** Report fig. 8: the registered configuration, the asked prices and (once stored) the fixed ones. */
export function MachineSummary({ machine }: { machine: Summary }) {
  const placed = machine.host != null;
  return (
    <dl className="summary">
      <div>
        <dt>Name</dt>
        <dd>{machine.name}</dd>
      </div>
      <div>
        <dt>Processor</dt>
        <dd>{machine.processor}</dd>
      </div>
      <div>
        <dt>Speed</dt>
        <dd>{formatBogomips(machine.speed)}</dd>
      </div>
      <div>
        <dt>Operating system</dt>
        <dd>{machine.os}</dd>
      </div>
      <div>
        <dt>Memory</dt>
        <dd>{formatMb(machine.memory)}</dd>
      </div>
      <div>
        <dt>Disk</dt>
        <dd>{formatMb(machine.disk)}</dd>
      </div>
      <div>
        <dt>Asked storage price</dt>
        <dd className="money" title={machine.askedStoragePerMonth}>
          {formatAskedPrice(machine.askedStoragePerMonth, 'month')}
        </dd>
      </div>
      <div>
        <dt>Asked running price</dt>
        <dd className="money" title={machine.askedRunningPerHour}>
          {formatAskedPrice(machine.askedRunningPerHour, 'hour')}
        </dd>
      </div>
      {machine.state !== undefined && (
        <>
          <div>
            <dt>Storage cost</dt>
            <dd className="money" title={machine.storagePrice ?? undefined}>
              {placed ? formatPeriodPrice(machine.storagePrice, machine.storageAmount, 'day') : '0 (not stored yet)'}
            </dd>
          </div>
          <div>
            <dt>Running cost</dt>
            <dd className="money" title={machine.runningPrice ?? undefined}>
              {placed ? formatPeriodPrice(machine.runningPrice, machine.runningUnitAmount, 'second') : '0 (not stored yet)'}
            </dd>
          </div>
          <div>
            <dt>Host</dt>
            <dd>
              {machine.host ? (
                <>
                  {machine.host.name} ({machine.host.owner}){' '}
                  <span className={`status status--${machine.host.online ? 'online' : 'offline'}`}>{machine.host.online ? 'Online' : 'Offline'}</span>
                </>
              ) : (
                '—'
              )}
            </dd>
          </div>
          <div>
            <dt>Machine status</dt>
            <dd>
              <StateBadge state={machine.state} />
            </dd>
          </div>
          {machine.version !== undefined && (
            <div>
              <dt>Version</dt>
              <dd>{machine.version}</dd>
            </div>
          )}
          {machine.macAddress && (
            <div>
              <dt>MAC address</dt>
              <dd className="mono">{machine.macAddress}</dd>
            </div>
          )}
        </>
      )}
    </dl>
  );
}

export function StateBadge({ state }: { state: string }) {
  return <span className={`state state--${state}`}>{state}</span>;
}

/** A configuration that is not registered yet, shown with the same layout. */
export function formToSummary(form: ConfigForm): Summary {
  return {
    name: form.name,
    processor: form.processor,
    os: form.os,
    speed: Number(form.speed),
    memory: Number(form.memory),
    disk: Number(form.disk),
    askedStoragePerMonth: form.askedStoragePerMonth,
    askedRunningPerHour: form.askedRunningPerHour,
  };
}
