import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useLocation, useNavigate } from 'react-router';
import { ErrorBanner, Field, fieldErrors, Notice, QueryState } from '../components/forms';
import { HostStatus } from '../components/HostStatus';
import { HostNetworkBrief } from '../components/network/HostNetwork';
import { api, ApiRequestError, call, type Host } from '../lib/api';
import { formatDuration, plural, roundDecimal } from '../lib/format';
import { keys, useHosts, useMe } from '../lib/queries';

const COLUMNS = 11;

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
            <Link to="/hosts/new">Add a host</Link>: the page gives you the command that starts the provider agent on it; the agent measures the machine and you
            set your prices.
          </span>
        </div>
      )}
      {hosts.data && hosts.data.length > 0 && (
        <div className="table-wrap">
          <table className="table table--compact table--hosts table--fit table--cards">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Status</th>
                <th scope="col">Processor</th>
                <th scope="col" className="num">
                  Speed
                </th>
                <th scope="col" className="num">
                  Memory
                </th>
                <th scope="col" className="num">
                  Storage
                </th>
                <th scope="col">Charged every</th>
                <th scope="col">Connection</th>
                <th scope="col">Agent</th>
                <th scope="col">Free speed / memory / storage</th>
                <th scope="col" className="num">
                  VMs
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
  const [revoking, setRevoking] = useState(false);
  const navigate = useNavigate();
  // The provider replaces a host's agent (a leaked or lost secret): the old one stops working at
  // once, then the join flow gives the host a new agent with a new secret.
  const revokeAgent = useMutation({
    mutationFn: () => call(api.DELETE('/api/hosts/{id}/agent', { params: { path: { id: host.id } } })),
    onSuccess: () => {
      queryClient.invalidateQueries({ queryKey: keys.hosts });
      queryClient.invalidateQueries({ queryKey: keys.host(host.id) });
      queryClient.invalidateQueries({ queryKey: keys.marketHosts });
      navigate(`/hosts/${host.id}/agent?replace=1`);
    },
  });
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
      <tr className={confirming || remove.error || forcing || revoking ? 'has-subrow' : undefined}>
        <th scope="row" className="cell-name">
          <span className="cell-name__title">{host.name}</span>
          <div className="btn-row">
            <Link className="btn btn--small" to={`/hosts/${host.id}/edit`} aria-label={`Edit ${host.name}`}>
              Edit
            </Link>
            <Link className="btn btn--small" to={`/hosts/new?copy=${host.id}`} aria-label={`Copy ${host.name}`}>
              Copy
            </Link>
            <Link className="btn btn--small" to={`/hosts/${host.id}/history`} aria-label={`History of ${host.name}`}>
              History
            </Link>
            {!host.agentId && (
              <Link className="btn btn--small btn--primary" to={`/hosts/${host.id}/agent`} aria-label={`Connect an agent to ${host.name}`}>
                Connect agent
              </Link>
            )}
            {host.agentId && (
              <button
                type="button"
                className="btn btn--small btn--danger-ghost"
                onClick={() => {
                  revokeAgent.reset();
                  setRevoking(true);
                }}
                disabled={revoking}
                aria-label={`Revoke the agent of ${host.name}`}
              >
                Revoke agent
              </button>
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
        <td data-label="Status">
          <HostStatus online={host.online} lastHeartbeatAt={host.lastHeartbeatAt} />
        </td>
        <td data-label="Processor">{host.processor}</td>
        <td className="num" data-label="Speed">
          <UnitPrice total={host.speed} unit={host.speedUnit} unitName="bogomips" price={host.speedUnitPrice} per="s" />
        </td>
        <td className="num" data-label="Memory">
          <UnitPrice total={host.memory} unit={host.memoryUnit} unitName="MB" price={host.memoryUnitPrice} per="s" />
        </td>
        <td className="num" data-label="Storage">
          <UnitPrice total={host.storage} unit={host.storageUnit} unitName="MB" price={host.storageUnitPrice} per="day" />
        </td>
        <td data-label="Charged every">
          <span className="pair pair--start">
            <span>running: {formatDuration(host.runningUnitAmount * 1000)}</span>
            <span>
              storage: {host.storageAmount} {plural(host.storageAmount, 'day')}
            </span>
          </span>
        </td>
        <td data-label="Connection">{host.connectionSpeed}</td>
        <td data-label="Agent">
          <span className="pair pair--start">
            <span className="mono">
              {host.agentHost}:{host.agentPort}
            </span>
            {host.agentId && <HostNetworkBrief host={host} />}
          </span>
        </td>
        <td data-label="Free speed / memory / storage">
          {host.free.speed} / {host.free.memory} / {host.free.storage}
        </td>
        <td className="num" data-label="VMs">
          {host.machineCount}
        </td>
      </tr>
      {(confirming || remove.error || forcing || revoking) && (
        <tr className="subrow">
          <td colSpan={COLUMNS}>
            {revoking && (
              <div className="confirm" role="group" aria-label={`Revoke the agent of ${host.name}?`}>
                <span>
                  Revoke the agent of <strong>{host.name}</strong>? Its secret stops working at once and the host is offline until you start a new agent with
                  the join command shown next.
                </span>
                <button type="button" className="btn btn--small btn--danger" disabled={revokeAgent.isPending} onClick={() => revokeAgent.mutate()}>
                  {revokeAgent.isPending ? 'Revoking…' : 'Revoke agent'}
                </button>
                <button type="button" className="btn btn--small btn--ghost" onClick={() => setRevoking(false)}>
                  Cancel
                </button>
                {revokeAgent.error ? <ErrorBanner error={revokeAgent.error} /> : null}
              </div>
            )}
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
                    <button
                      type="button"
                      className="btn btn--small btn--danger-ghost"
                      onClick={() => setForcing(true)}
                      aria-label={`Force remove ${host.name}…`}
                    >
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

/** A total with its unit price beneath: "10000 bogomips" / "$0.00001 per 1000 / s". */
function UnitPrice({ total, unit, unitName, price, per }: { total: number; unit: number; unitName: string; price: string; per: 's' | 'day' }) {
  return (
    <span className="pair">
      <span className="pair__main">
        {total} {unitName}
      </span>
      <span className="pair__detail money" title={`$${price} per ${unit} ${unitName} per ${per === 's' ? 'second' : 'day'}`}>
        ${roundDecimal(price, 6)} per {unit} / {per}
      </span>
    </span>
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
          their machines go back to registered: the owners keep the configurations and can store them on another host, but the disks on this host are gone with
          it.
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
