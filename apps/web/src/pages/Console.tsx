import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useCallback, useEffect, useRef, useState } from 'react';
import { Link, useParams } from 'react-router';
import { ErrorBanner, QueryState } from '../components/forms';
import { StateBadge } from '../components/MachineSummary';
import { VncScreen } from '../components/VncScreen';
import type { Machine } from '../lib/api';
import { sendCommand, sendCtrlAltDel, type BootFrom } from '../lib/commands';
import { noConsoleReason, statusText, type ConsoleStatus } from '../lib/console';
import { offlineReason, PENDING_LABELS, stopNote, type MachineCommand } from '../lib/machines';
import { useAction } from '../lib/useAction';
import { keys, useMachine } from '../lib/queries';

/** How often the page asks for the machine's state (a guest may power itself off). */
const POLL_MS = 3000;
/** A connection that fails before it ever connected is retried this many times on its own. */
const AUTO_RETRIES = 2;

/**
 * The report's viewmachine (fig. 15–18): the machine's screen in noVNC with Stop, Suspend and
 * Ctrl-Alt-Del; when the machine is not running, its state and the way back (Start, Resume).
 */
export function ConsolePage() {
  const { id = '' } = useParams();
  const machine = useMachine(id, POLL_MS);
  if (machine.isPending || machine.error) return <QueryState query={machine} what="Loading the machine" />;
  return <ConsoleView machine={machine.data} />;
}

function ConsoleView({ machine }: { machine: Machine }) {
  const queryClient = useQueryClient();
  const [status, setStatus] = useState<ConsoleStatus>({ kind: 'idle' });
  /** Bumped to reconnect: VncScreen is keyed by it. */
  const [session, setSession] = useState(0);
  const retries = useRef(0);
  const everConnected = useRef(false);
  const running = machine.state === 'running';
  const allowed = new Set(machine.allowedActions);

  const onStatus = useCallback((next: ConsoleStatus) => {
    setStatus(next);
    if (next.kind === 'connecting') everConnected.current = false;
    if (next.kind === 'connected') {
      everConnected.current = true;
      retries.current = 0;
    }
  }, []);

  // A connection that failed before connecting (e.g. QEMU's VNC not up yet right after a resume)
  // is retried a couple of times; one that was connected and then closed is not.
  useEffect(() => {
    if (!running || status.kind !== 'disconnected' || everConnected.current || retries.current >= AUTO_RETRIES) return;
    const timer = setTimeout(() => {
      retries.current += 1;
      setSession((s) => s + 1);
    }, 1500);
    return () => clearTimeout(timer);
  }, [running, status]);

  // Leaving "running" ends the session; coming back starts a new one with fresh retries.
  useEffect(() => {
    if (!running) {
      retries.current = 0;
      setStatus({ kind: 'idle' });
    }
  }, [running]);

  const reconnect = () => {
    retries.current = AUTO_RETRIES; // the user asked: no automatic retries on top
    setSession((s) => s + 1);
  };
  const refresh = (updated?: Machine) => {
    if (updated) queryClient.setQueryData(keys.machine(machine.id), updated);
    queryClient.invalidateQueries({ queryKey: keys.machines });
    queryClient.invalidateQueries({ queryKey: keys.me });
  };
  const command = useAction({
    mutationFn: ({ cmd, bootFrom }: { cmd: MachineCommand; bootFrom?: BootFrom }, idempotencyKey: string) =>
      sendCommand(machine, cmd, idempotencyKey, bootFrom),
    onSuccess: (updated) => refresh(updated),
    onError: () => refresh(),
  });
  const ctrlAltDel = useMutation({ mutationFn: () => sendCtrlAltDel(machine.id) });
  // An error answered in one state is stale once the machine is in another.
  const { reset: resetCommand, isError: commandFailed } = command;
  useEffect(() => {
    if (commandFailed) resetCommand();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [machine.state]);
  const busy = command.isPending;
  const pendingLabel = (cmd: MachineCommand, label: string, bootFrom?: BootFrom) =>
    command.isPending && command.variables?.cmd === cmd && command.variables?.bootFrom === bootFrom ? PENDING_LABELS[cmd] : label;
  const offline = offlineReason(machine);
  const noOsStop = stopNote(machine);

  const shown: ConsoleStatus = running ? status : { kind: 'disconnected', reason: `the machine is ${machine.state}` };
  const reason = noConsoleReason(machine.state);

  return (
    <section className="console">
      <div className="page-head">
        <div>
          <h1>Console of {machine.name}</h1>
          <p className="muted">
            <StateBadge state={machine.state} /> {machine.host ? `on ${machine.host.name} (${machine.host.owner})` : null}
          </p>
        </div>
        <div className="btn-row">
          <Link className="btn btn--ghost" to={`/machines/${machine.id}`}>
            Machine page
          </Link>
          <Link className="btn btn--ghost" to="/computers">
            My computers
          </Link>
        </div>
      </div>

      <div className="console__toolbar" role="toolbar" aria-label="Console controls">
        <div className="btn-row">
          {allowed.has('stop') && (
            <button type="button" className="btn" disabled={busy || !!offline} title={noOsStop ?? undefined} onClick={() => command.mutate({ cmd: 'stop' })}>
              {pendingLabel('stop', 'Stop')}
            </button>
          )}
          {allowed.has('reboot') && (
            <button type="button" className="btn" disabled={busy || !!offline} onClick={() => command.mutate({ cmd: 'reboot' })}>
              {pendingLabel('reboot', 'Reboot')}
            </button>
          )}
          {allowed.has('suspend') && (
            <button type="button" className="btn" disabled={busy || !!offline} onClick={() => command.mutate({ cmd: 'suspend' })}>
              {pendingLabel('suspend', 'Suspend')}
            </button>
          )}
          {allowed.has('start') && (
            <button type="button" className="btn btn--primary" disabled={busy || !!offline} onClick={() => command.mutate({ cmd: 'start' })}>
              {pendingLabel('start', 'Start')}
            </button>
          )}
          {allowed.has('start') && machine.media && (
            <button type="button" className="btn" disabled={busy || !!offline} onClick={() => command.mutate({ cmd: 'start', bootFrom: 'cdrom' })}>
              {pendingLabel('start', 'Start from CD-ROM', 'cdrom')}
            </button>
          )}
          {allowed.has('resume') && (
            <button type="button" className="btn btn--primary" disabled={busy || !!offline} onClick={() => command.mutate({ cmd: 'resume' })}>
              {pendingLabel('resume', 'Resume')}
            </button>
          )}
        </div>
        <div className="btn-row">
          <button
            type="button"
            className="btn"
            disabled={!running || ctrlAltDel.isPending}
            onClick={() => ctrlAltDel.mutate()}
            title="Sends Ctrl-Alt-Del to the machine"
          >
            Ctrl-Alt-Del
          </button>
          <button type="button" className="btn" disabled={!running || status.kind === 'connecting'} onClick={reconnect}>
            Reconnect
          </button>
        </div>
      </div>

      <p className={`console__status console__status--${shown.kind}`} role="status" aria-live="polite" data-testid="console-status">
        <span className="console__status-dot" aria-hidden="true" />
        {statusText(shown)}
      </p>
      {offline && <p className="alert alert--warning">{offline}</p>}
      {noOsStop && (machine.state === 'stopping' || (command.isPending && command.variables?.cmd === 'stop')) && (
        <p className="alert alert--info" role="status">
          {noOsStop}
        </p>
      )}
      <ErrorBanner error={command.error} />
      <ErrorBanner error={ctrlAltDel.error} title="Ctrl-Alt-Del was not sent" />

      <div className="console__screen">
        {running ? (
          <>
            <VncScreen key={session} machineId={machine.id} onStatus={onStatus} label={`Screen of ${machine.name}`} />
            {status.kind === 'disconnected' && (
              <div className="console__overlay">
                <strong>Not connected</strong>
                <span>{status.reason}</span>
                <button type="button" className="btn btn--primary" onClick={reconnect}>
                  Connect again
                </button>
              </div>
            )}
          </>
        ) : (
          <div className="console__overlay">
            <strong>{reason}</strong>
            {allowed.has('start') && <span>Start it to see its screen.</span>}
            {allowed.has('resume') && <span>Resume it to continue where it left off.</span>}
          </div>
        )}
      </div>
      <p className="console__hint">
        Click the screen to type: keys go to the machine while the screen has focus. The console is for setting the machine up; for daily work use the machine's
        own remote access (ssh, remote desktop).
      </p>
    </section>
  );
}
