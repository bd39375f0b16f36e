import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { Link } from 'react-router';
import { api, call, ifMatch, type Machine } from '../lib/api';
import { sendCommand } from '../lib/commands';
import {
  ACTION_LABELS,
  CONFIRM_COMMANDS,
  isCommand,
  needsAgent,
  offlineReason,
  PENDING_LABELS,
  stopNote,
  uiActions,
  type MachineCommand,
} from '../lib/machines';
import { keys } from '../lib/queries';
import { useAction } from '../lib/useAction';
import { ErrorBanner } from './forms';

/**
 * Exactly the buttons the machine's state allows (MachineDto.allowedActions), each named after
 * what it does; commands carry If-Match with the machine as the user saw it. While the host is
 * offline the agent's actions are shown disabled with the reason. An error is about the state it
 * was answered in: it goes once the machine's state changes.
 */
export function MachineActions({ machine, onDeleted }: { machine: Machine; onDeleted?: () => void }) {
  const queryClient = useQueryClient();
  const [confirming, setConfirming] = useState<MachineCommand | 'delete' | null>(null);
  // The error appears together with the refreshed machine (onSettled is awaited before it).
  const refresh = () => Promise.all([queryClient.invalidateQueries({ queryKey: keys.machines }), queryClient.invalidateQueries({ queryKey: keys.me })]);
  const command = useAction({
    mutationFn: (cmd: MachineCommand, idempotencyKey: string) => sendCommand(machine, cmd, idempotencyKey),
    onSettled: refresh,
  });
  const remove = useMutation({
    mutationFn: () => call(api.DELETE('/api/machines/{id}', { params: { path: { id: machine.id } }, headers: ifMatch(machine) })),
    onSuccess: () => {
      queryClient.removeQueries({ queryKey: keys.machine(machine.id), exact: true });
      onDeleted?.();
    },
    onSettled: refresh,
  });
  // A new state makes an earlier refusal stale ("Cannot start a machine that is starting" while it runs).
  const { reset: resetCommand, isError: commandFailed } = command;
  const { reset: resetRemove, isError: removeFailed } = remove;
  useEffect(() => {
    if (commandFailed) resetCommand();
    if (removeFailed) resetRemove();
    setConfirming(null);
    // Only a change of state clears them, not the error's own arrival.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [machine.state]);

  const actions = uiActions(machine.allowedActions);
  const busy = command.isPending || remove.isPending;
  const offline = offlineReason(machine);
  const stopping = (command.isPending && (command.variables === 'stop' || command.variables === 'forceStop')) || machine.state === 'stopping';
  const noOsStop = stopNote(machine);
  if (actions.length === 0) {
    return (
      <span className="muted small" role="status">
        {machine.state === 'stopping'
          ? 'Stopping…'
          : machine.state === 'migrating'
            ? 'Migrating: no actions until it has arrived or the move is undone.'
            : machine.state.endsWith('ing')
              ? 'In progress…'
              : 'No actions now'}
      </span>
    );
  }
  const send = (cmd: MachineCommand) => {
    if (CONFIRM_COMMANDS[cmd]) setConfirming(cmd);
    else command.mutate(cmd);
  };
  return (
    <div className="stack-xs machine-actions">
      <div className="btn-row">
        {actions.map((action) => {
          const blocked = offline !== null && needsAgent(action);
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
            return blocked ? (
              <button key={action} type="button" className="btn btn--small" disabled title={offline ?? undefined}>
                {ACTION_LABELS.console}
              </button>
            ) : (
              <Link key={action} className="btn btn--small" to={`/machines/${machine.id}/console`} aria-label={`Console of ${machine.name}`}>
                {ACTION_LABELS.console}
              </Link>
            );
          }
          if (action === 'migrate') {
            return blocked ? (
              <button key={action} type="button" className="btn btn--small" disabled title={offline ?? undefined}>
                {ACTION_LABELS.migrate}
              </button>
            ) : (
              <Link key={action} className="btn btn--small" to={`/machines/${machine.id}/migrate`} aria-label={`Migrate ${machine.name}`}>
                {ACTION_LABELS.migrate}
              </Link>
            );
          }
          if (action === 'delete') {
            return confirming === 'delete' ? null : (
              <button key={action} type="button" className="btn btn--small btn--danger-ghost" disabled={busy} onClick={() => setConfirming('delete')}>
                {ACTION_LABELS.delete}
              </button>
            );
          }
          if (isCommand(action)) {
            const pending = command.isPending && command.variables === action;
            const danger = action === 'reset' || action === 'forceStop';
            return (
              <button
                key={action}
                type="button"
                className={`btn btn--small${action === 'start' || action === 'resume' ? ' btn--primary' : danger ? ' btn--danger-ghost' : ''}`}
                disabled={busy || blocked || confirming === action}
                title={blocked ? (offline ?? undefined) : action === 'stop' && noOsStop ? noOsStop : undefined}
                onClick={() => send(action)}
              >
                {pending ? PENDING_LABELS[action] : ACTION_LABELS[action]}
              </button>
            );
          }
          return null;
        })}
      </div>
      {offline && (
        <p className="muted small" role="note">
          {offline}
        </p>
      )}
      {confirming && confirming !== 'delete' && (
        <div className="confirm" role="group" aria-label={`${ACTION_LABELS[confirming]} ${machine.name}?`}>
          <span>
            <strong>{machine.name}</strong>: {CONFIRM_COMMANDS[confirming]}
          </span>
          <button
            type="button"
            className="btn btn--small btn--danger"
            disabled={busy}
            onClick={() => {
              const cmd = confirming;
              setConfirming(null);
              command.mutate(cmd);
            }}
          >
            {ACTION_LABELS[confirming]} now
          </button>
          <button type="button" className="btn btn--small btn--ghost" onClick={() => setConfirming(null)}>
            Cancel
          </button>
        </div>
      )}
      {confirming === 'delete' && (
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
          <button type="button" className="btn btn--small btn--ghost" onClick={() => setConfirming(null)}>
            Cancel
          </button>
        </div>
      )}
      {stopping && noOsStop && (
        <p className="muted small" role="status">
          {noOsStop}
        </p>
      )}
      {command.error ? <ErrorBanner error={command.error} /> : null}
      {remove.error ? <ErrorBanner error={remove.error} /> : null}
      {machine.lastError && <p className="field__errors small">Last error: {machine.lastError}</p>}
    </div>
  );
}
