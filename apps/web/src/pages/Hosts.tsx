import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useLocation } from 'react-router';
import { ErrorBanner, Field, fieldErrors, Notice, QueryState } from '../components/forms';
import { HostStatus } from '../components/HostStatus';
import { api, ApiRequestError, call, type Host } from '../lib/api';
import { keys, useHosts, useMe } from '../lib/queries';

const COLUMNS = 18;

/** Report fig. 26 / 28: the provider's hosts with every field, and Add / Copy / Edit / Delete. */
export function HostsList() {
  const location = useLocation();
  const notice = (location.state as { notice?: string } | null)?.notice;
  const hosts = useHosts();
  return (
    <>
      <div className="page-head">
        <div>
          <h1>My hosts</h1>
          <p className="muted">The physical machines you sell, with their resources, units and prices.</p>
        </div>
        <div className="btn-row">
          <Link className="btn btn--primary" to="/hosts/new">
            Add host
          </Link>
          <Link className="btn" to="/marketplace">
            Provider marketplace
          </Link>
        </div>
      </div>
      {notice && <Notice>{notice}</Notice>}
      <QueryState query={hosts} what="Loading your hosts" />
      {hosts.data && hosts.data.length === 0 && (
        <div className="empty empty--boxed">
          <strong>You have no hosts yet.</strong>
          <span>
            <Link to="/hosts/new">Add a host</Link>: the page gives you the command that starts the provider agent on it; the agent measures
            the machine and you set your prices.
          </span>
        </div>
      )}
      {hosts.data && hosts.data.length > 0 && (
        <div className="table-wrap">
          <table className="table table--compact table--hosts">
            <thead>
              <tr>
                <th scope="col" rowSpan={2}>
                  Name
                </th>
                <th scope="col" rowSpan={2}>
                  Status
                </th>
                <th scope="col" rowSpan={2}>
                  Processor
                </th>
                <th scope="colgroup" colSpan={3} className="group">
                  Speed (bogomips)
                </th>
                <th scope="colgroup" colSpan={3} className="group">
                  Memory (MB)
                </th>
                <th scope="col" rowSpan={2} className="num wrap-head">
                  Running period (s)
                </th>
                <th scope="colgroup" colSpan={3} className="group">
                  Storage (MB)
                </th>
                <th scope="col" rowSpan={2} className="num wrap-head">
                  Storage period (days)
                </th>
                <th scope="col" rowSpan={2}>
                  Connection
                </th>
                <th scope="col" rowSpan={2}>
                  Agent host:port
                </th>
                <th scope="col" rowSpan={2} className="wrap-head">
                  Free speed / memory / storage
                </th>
                <th scope="col" rowSpan={2} className="num">
                  VMs
                </th>
              </tr>
              <tr>
                <th scope="col" className="num">
                  Total
                </th>
                <th scope="col" className="num">
                  Unit
                </th>
                <th scope="col" className="num">
                  $/unit/s
                </th>
                <th scope="col" className="num">
                  Total
                </th>
                <th scope="col" className="num">
                  Unit
                </th>
                <th scope="col" className="num">
                  $/unit/s
                </th>
                <th scope="col" className="num">
                  Total
                </th>
                <th scope="col" className="num">
                  Unit
                </th>
                <th scope="col" className="num">
                  $/unit/day
                </th>
              </tr>
            </thead>
            <tbody>
              {hosts.data.map((host) => (
                <HostRow key={host.id} host={host} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

function HostRow({ host }: { host: Host }) {
  const queryClient = useQueryClient();
  const [confirming, setConfirming] = useState(false);
  const [forcing, setForcing] = useState(false);
  const removed = () => {
    queryClient.removeQueries({ queryKey: keys.host(host.id), exact: true });
    queryClient.invalidateQueries({ queryKey: keys.hosts });
    queryClient.invalidateQueries({ queryKey: keys.marketHosts });
    queryClient.invalidateQueries({ queryKey: ['account'] });
  };
  const remove = useMutation({
    mutationFn: () => call(api.DELETE('/api/hosts/{id}', { params: { path: { id: host.id } } })),
    onSuccess: removed,
    onError: () => setConfirming(false),
  });
  // 409 while buyers' machines are stored on it: the provider may force the removal, after confirming.
  const canForce = remove.error instanceof ApiRequestError && remove.error.status === 409 && host.machineCount > 0;
  return (
    <>
      <tr className={confirming || remove.error || forcing ? 'has-subrow' : undefined}>
        <th scope="row" className="cell-name">
          <span className="cell-name__title">{host.name}</span>
          <div className="btn-row">
            <Link className="btn btn--small" to={`/hosts/${host.id}/edit`} aria-label={`Edit ${host.name}`}>
              Edit
            </Link>
            <Link className="btn btn--small" to={`/hosts/new?copy=${host.id}`} aria-label={`Copy ${host.name}`}>
              Copy
            </Link>
            {!host.agentId && (
              <Link className="btn btn--small btn--primary" to={`/hosts/${host.id}/agent`} aria-label={`Connect an agent to ${host.name}`}>
                Connect agent
              </Link>
            )}
            <button
              type="button"
              className="btn btn--small btn--danger-ghost"
              onClick={() => {
                remove.reset();
                setForcing(false);
                setConfirming(true);
              }}
              disabled={confirming || forcing}
              aria-label={`Delete ${host.name}`}
            >
              Delete
            </button>
          </div>
        </th>
        <td>
          <HostStatus online={host.online} lastHeartbeatAt={host.lastHeartbeatAt} />
        </td>
        <td>{host.processor}</td>
        <td className="num">{host.speed}</td>
        <td className="num">{host.speedUnit}</td>
        <td className="num money">{host.speedUnitPrice}</td>
        <td className="num">{host.memory}</td>
        <td className="num">{host.memoryUnit}</td>
        <td className="num money">{host.memoryUnitPrice}</td>
        <td className="num">{host.runningUnitAmount}</td>
        <td className="num">{host.storage}</td>
        <td className="num">{host.storageUnit}</td>
        <td className="num money">{host.storageUnitPrice}</td>
        <td className="num">{host.storageAmount}</td>
        <td>{host.connectionSpeed}</td>
        <td className="mono">
          {host.agentHost}:{host.agentPort}
        </td>
        <td>
          {host.free.speed} / {host.free.memory} / {host.free.storage}
        </td>
        <td className="num">{host.machineCount}</td>
      </tr>
      {(confirming || remove.error || forcing) && (
        <tr className="subrow">
          <td colSpan={COLUMNS}>
            {confirming && (
              <div className="confirm" role="group" aria-label={`Delete ${host.name}?`}>
                <span>
                  Delete <strong>{host.name}</strong>? Buyers can no longer store machines on it.
                </span>
                <button type="button" className="btn btn--small btn--danger" disabled={remove.isPending} onClick={() => remove.mutate()}>
                  Confirm delete
                </button>
                <button type="button" className="btn btn--small btn--ghost" onClick={() => setConfirming(false)}>
                  Cancel
                </button>
              </div>
            )}
            {remove.error && !forcing ? (
              <div className="stack-xs">
                <ErrorBanner error={remove.error} title={`Cannot delete ${host.name}:`} />
                {canForce && (
                  <div className="btn-row">
                    <button type="button" className="btn btn--small btn--danger-ghost" onClick={() => setForcing(true)} aria-label={`Force remove ${host.name}…`}>
                      Force remove…
                    </button>
                    <button type="button" className="btn btn--small btn--ghost" onClick={() => remove.reset()}>
                      Keep the host
                    </button>
                  </div>
                )}
              </div>
            ) : null}
            {forcing && (
              <ForceRemove
                host={host}
                onDone={removed}
                onCancel={() => {
                  setForcing(false);
                  remove.reset();
                }}
              />
            )}
          </td>
        </tr>
      )}
    </>
  );
}

/**
 * Report §6.1.1 (deletemachineprovider): removing a host that still holds buyers' machines. The
 * provider types the host's name; each owner is told, in the app and by email, with the
 * provider's contact; billing for those machines stops and they return to registered.
 */
function ForceRemove({ host, onDone, onCancel }: { host: Host; onDone: () => void; onCancel: () => void }) {
  const me = useMe();
  const [typed, setTyped] = useState('');
  const force = useMutation({
    mutationFn: () => call(api.DELETE('/api/hosts/{id}', { params: { path: { id: host.id }, query: { force: 'true' } }, body: { confirmName: typed.trim() } })),
    onSuccess: onDone,
  });
  const matches = typed.trim() === host.name;
  const count = host.machineCount;
  return (
    <form
      className="force-remove"
      aria-labelledby={`force-${host.id}`}
      onSubmit={(event) => {
        event.preventDefault();
        if (matches) force.mutate();
      }}
      noValidate
    >
      <strong id={`force-${host.id}`}>Force remove {host.name}?</strong>
      <p>
        {count} {count === 1 ? 'machine of a buyer is' : 'machines of buyers are'} stored on <strong>{host.name}</strong>. If you remove it now:
      </p>
      <ul>
        <li>
          each owner is notified, in the app and by email, that you removed the host, with your contact address
          {me.data?.email ? (
            <>
              {' '}
              (<strong>{me.data.email}</strong>)
            </>
          ) : null}
          ;
        </li>
        <li>billing for those machines stops at once;</li>
        <li>
          their machines go back to registered: the owners keep the configurations and can store them on another host, but the disks on
          this host are gone with it.
        </li>
      </ul>
      <p>This cannot be undone.</p>
      <Field
        label={`Type ${host.name} to confirm`}
        value={typed}
        onChange={setTyped}
        autoComplete="off"
        spellCheck={false}
        errors={fieldErrors(force.error, 'confirmName')}
      />
      <div className="btn-row">
        <button type="submit" className="btn btn--small btn--danger" disabled={!matches || force.isPending}>
          {force.isPending ? 'Removing…' : 'Force remove host'}
        </button>
        <button type="button" className="btn btn--small btn--ghost" onClick={onCancel}>
          Cancel
        </button>
      </div>
      {force.error && !fieldErrors(force.error, 'confirmName') ? <ErrorBanner error={force.error} title={`Cannot remove ${host.name}:`} /> : null}
    </form>
  );
}
