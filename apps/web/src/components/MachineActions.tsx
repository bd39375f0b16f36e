import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { api, call, ifMatch, type Machine } from '../lib/api';
import { sendCommand } from '../lib/commands';
import { ACTION_LABELS, isCommand, uiActions, type MachineCommand } from '../lib/machines';
import { keys } from '../lib/queries';
import { ErrorBanner } from './forms';

/**
 * Exactly the buttons the machine's state allows (MachineDto.allowedActions), each named after
 * what it does; commands carry If-Match with the version the user saw.
 */
export function MachineActions({ machine, onDeleted }: { machine: Machine; onDeleted?: () => void }) {
  const queryClient = useQueryClient();
  const [confirmDelete, setConfirmDelete] = useState(false);
  const refresh = () => {
    queryClient.invalidateQueries({ queryKey: keys.machines });
    queryClient.invalidateQueries({ queryKey: keys.me });
  };
  const command = useMutation({
    mutationFn: (cmd: MachineCommand) => sendCommand(machine, cmd),
    onSettled: refresh,
  });
  const remove = useMutation({
    mutationFn: () => call(api.DELETE('/api/machines/{id}', { params: { path: { id: machine.id } }, headers: ifMatch(machine.version) })),
    onSuccess: () => {
      queryClient.removeQueries({ queryKey: keys.machine(machine.id), exact: true });
      onDeleted?.();
    },
    onSettled: refresh,
  });
  const actions = uiActions(machine.allowedActions);
  const busy = command.isPending || remove.isPending;
  if (actions.length === 0) {
    return <span className="muted small">{machine.state.endsWith('ing') ? 'In progress…' : 'No actions now'}</span>;
  }
  return (
    <div className="stack-xs">
      <div className="btn-row">
        {actions.map((action) => {
          if (action === 'edit') {
            return (
              <Link key={action} className="btn btn--small" to={`/machines/${machine.id}/edit`}>
                {ACTION_LABELS.edit}
              </Link>
            );
          }
          if (action === 'searchProviders') {
            return (
              <Link key={action} className="btn btn--small btn--primary" to={`/machines/${machine.id}/offers`}>
                {ACTION_LABELS.searchProviders}
              </Link>
            );
          }
          if (action === 'console') {
            return (
              <Link key={action} className="btn btn--small" to={`/machines/${machine.id}/console`} aria-label={`Console of ${machine.name}`}>
                {ACTION_LABELS.console}
              </Link>
            );
          }
          if (action === 'delete') {
            return confirmDelete ? null : (
              <button key={action} type="button" className="btn btn--small btn--danger-ghost" disabled={busy} onClick={() => setConfirmDelete(true)}>
                {ACTION_LABELS.delete}
              </button>
            );
          }
          if (isCommand(action)) {
            return (
              <button
                key={action}
                type="button"
                className={`btn btn--small${action === 'start' || action === 'resume' ? ' btn--primary' : ''}`}
                disabled={busy}
                onClick={() => command.mutate(action)}
              >
                {command.isPending && command.variables === action ? `${ACTION_LABELS[action]}…` : ACTION_LABELS[action]}
              </button>
            );
          }
          return null;
        })}
      </div>
      {confirmDelete && (
        <div className="confirm" role="group" aria-label={`Delete ${machine.name}?`}>
          <span>
            Delete <strong>{machine.name}</strong>?
          </span>
          <button
            type="button"
            className="btn btn--small btn--danger"
            disabled={busy}
            onClick={() => remove.mutate()}
            title={machine.host ? 'The machine and its disk on the host are destroyed.' : 'The registration is removed.'}
          >
            Confirm delete
          </button>
          <button type="button" className="btn btn--small btn--ghost" onClick={() => setConfirmDelete(false)}>
            Cancel
          </button>
        </div>
      )}
      {command.error ? <ErrorBanner error={command.error} /> : null}
      {remove.error ? <ErrorBanner error={remove.error} /> : null}
      {machine.lastError && <p className="field__errors small">Last error: {machine.lastError}</p>}
    </div>
  );
}
