import { useEffect, useRef, useState } from 'react';
import { api, call, type JoinToken } from '../lib/api';
import { formatBogomips, formatDateTime, formatMb } from '../lib/format';
import { idempotencyHeader } from '../lib/idempotency';
import { useJoinToken } from '../lib/queries';
import { useAction } from '../lib/useAction';
import { ErrorBanner, Loading } from './forms';

export type JoinedAgent = NonNullable<JoinToken['agent']>;

/** How long a joining agent normally takes; past it the page says what to check. */
export const JOIN_PATIENCE_MS = 60_000;

export interface JoinFlow {
  /** The one line that installs the agent on a Debian 12 host (the market's install script). */
  installCommand: string | null;
  /** The developer's line: the agent from a checkout of the repository (npm run agent). */
  command: string | null;
  /** The ports the command gives the agent: free on that address as far as the market knows. */
  agentPort: number | null;
  consolePort: number | null;
  /** Whether the token is older than JOIN_PATIENCE_MS and no agent has joined with it. */
  overdue: boolean;
  expiresAt: string | null;
  creating: boolean;
  createError: unknown;
  pollError: unknown;
  expired: boolean;
  agent: JoinedAgent | null;
  newToken: () => void;
}

/**
 * A one-time join token made as soon as `enabled` (once, even under StrictMode), then polled
 * until an agent joins with it or it expires. `hostId` makes the agent that joins serve a host
 * that was added by hand.
 */
export function useJoinFlow(enabled: boolean, hostId?: string): JoinFlow {
  const requested = useRef(false);
  const [joinId, setJoinId] = useState<string | null>(null);
  // When this browser got the token (its own clock, so a skewed server clock does not matter).
  const [madeAt, setMadeAt] = useState<number | null>(null);
  const [overdue, setOverdue] = useState(false);
  const create = useAction({
    mutationFn: (_: void, idempotencyKey: string) =>
      call(api.POST('/api/agents/join-tokens', { body: hostId ? { hostId } : {}, headers: idempotencyHeader(idempotencyKey) })),
    onSuccess: (token) => {
      setJoinId(token.id);
      setMadeAt(Date.now());
      setOverdue(false);
    },
  });
  const { mutate } = create;
  useEffect(() => {
    if (!enabled || requested.current) return;
    requested.current = true;
    mutate();
  }, [enabled, mutate]);
  const join = useJoinToken(joinId);
  // Re-render when the token expires, so the page offers a new one without waiting for a poll.
  const [, setTick] = useState(0);
  const expiresAt = join.data?.expiresAt ?? create.data?.expiresAt ?? null;
  useEffect(() => {
    if (!expiresAt || join.data?.joined) return;
    const left = Date.parse(expiresAt) - Date.now();
    if (left <= 0 || left > 2 ** 31 - 1) return;
    const timer = setTimeout(() => setTick((t) => t + 1), left + 50);
    return () => clearTimeout(timer);
  }, [expiresAt, join.data?.joined]);
  const joined = !!join.data?.joined;
  useEffect(() => {
    if (madeAt == null || joined) return;
    const timer = setTimeout(() => setOverdue(true), Math.max(0, madeAt + JOIN_PATIENCE_MS - Date.now()));
    return () => clearTimeout(timer);
  }, [madeAt, joined]);
  return {
    installCommand: create.data?.installCommand ?? null,
    command: create.data?.command ?? null,
    agentPort: create.data?.agentPort ?? null,
    consolePort: create.data?.consolePort ?? null,
    overdue: overdue && !joined,
    expiresAt,
    creating: create.isPending,
    createError: create.error,
    pollError: join.error,
    expired: !!expiresAt && !join.data?.joined && Date.parse(expiresAt) <= Date.now(),
    agent: join.data?.agent ?? null,
    newToken: () => {
      setJoinId(null);
      create.mutate();
    },
  };
}

/** Step 1: the command to run on the host; step 2: what the agent measured once it joined. */
export function JoinSteps({ flow, joinedNote }: { flow: JoinFlow; joinedNote?: string }) {
  const { installCommand, command, expiresAt, creating, createError, pollError, expired, agent, newToken, agentPort, consolePort, overdue } = flow;
  return (
    <div className="join-steps">
      <section className={`join-step${agent ? ' join-step--done' : ''}`} aria-labelledby="join-step-1">
        <h2 id="join-step-1">1. Start the provider agent on the host</h2>
        {createError ? (
          <>
            <ErrorBanner error={createError} title="No join command" />
            <button type="button" className="btn btn--small" onClick={newToken} disabled={creating}>
              Try again
            </button>
          </>
        ) : !installCommand || !command ? (
          <Loading what={creating ? 'Creating a join command' : 'Preparing'} />
        ) : (
          <>
            <p className="muted small">
              Run this on the physical machine, a Debian 12 host, as a user who may sudo: it installs QEMU and the provider agent (a systemd service running as
              the virtuoso user) and joins it to this market. The token in it works once, until {formatDateTime(expiresAt)}. Running the line again later
              upgrades the agent.
            </p>
            <CopyableCommand testId="join-command" label="Command to install the provider agent" text={installCommand} />
            <details className="small">
              <summary>From a checkout of this repository instead (development)</summary>
              <p className="muted small">
                With QEMU installed and the repository built, this starts the agent in the foreground with the same token and ports.
              </p>
              <CopyableCommand testId="dev-command" label="Command to start the provider agent from a checkout" text={command} />
            </details>
            {agentPort != null && consolePort != null && (
              <p className="small" data-testid="suggested-ports">
                The command gives the agent port <strong className="mono">{agentPort}</strong> and console port <strong className="mono">{consolePort}</strong>:
                no agent the market knows on that address uses them. Change them in the command if something else on the host listens there.
              </p>
            )}
            {!agent && !expired && overdue && <NotJoinedYet agentPort={agentPort} consolePort={consolePort} />}
            {agent ? null : expired ? (
              <div className="alert alert--warning" role="status">
                This command expired before an agent joined.{' '}
                <button type="button" className="btn btn--small" onClick={newToken} disabled={creating}>
                  New command
                </button>
              </div>
            ) : (
              <p className="loading" role="status" aria-live="polite">
                <span className="spinner" aria-hidden="true" />
                Waiting for the agent to join…
              </p>
            )}
            {pollError ? <ErrorBanner error={pollError} /> : null}
          </>
        )}
      </section>
      {agent && (
        <section className="join-step join-step--done" aria-labelledby="join-step-2">
          <h2 id="join-step-2">2. The agent joined: {agent.facts.hostname}</h2>
          <p className="muted small">{joinedNote ?? 'It measured the host. The totals below are prefilled with these values and may not exceed them.'}</p>
          <AgentFacts agent={agent} />
        </section>
      )}
    </div>
  );
}

/** A command line with its Copy button. */
function CopyableCommand({ testId, label, text }: { testId: string; label: string; text: string }) {
  const [copied, setCopied] = useState(false);
  const copy = () => {
    navigator.clipboard
      ?.writeText(text)
      .then(() => setCopied(true))
      .catch(() => undefined);
  };
  return (
    <div className="command">
      <pre data-testid={testId} aria-label={label}>
        {text}
      </pre>
      <button type="button" className="btn btn--small" onClick={copy}>
        {copied ? 'Copied' : 'Copy'}
      </button>
    </div>
  );
}

/** Said once the agent is late (a minute without joining): what usually stops it. */
function NotJoinedYet({ agentPort, consolePort }: { agentPort: number | null; consolePort: number | null }) {
  const ports = agentPort != null && consolePort != null ? `${agentPort} and ${consolePort}` : 'given with --port and --console-port';
  return (
    <div className="alert alert--warning" role="alert" data-testid="agent-not-joined">
      <strong className="alert__title">No agent has joined in a minute</strong>
      <span className="alert__message">An agent usually joins within seconds of starting. Check that:</span>
      <ul className="alert__list">
        <li>the command ran on the host and its output shows no error (the installed agent logs with journalctl -u virtuoso-agent);</li>
        <li>the host can reach this server at the address in the command (no firewall or proxy in between);</li>
        <li>ports {ports} are free on the host (another agent may hold them) and this server can reach them;</li>
        <li>the command was copied whole: the token after --join works once.</li>
      </ul>
    </div>
  );
}

export function AgentFacts({ agent }: { agent: JoinedAgent }) {
  return (
    <dl className="facts" data-testid="agent-facts">
      <div>
        <dt>Speed</dt>
        <dd>{formatBogomips(agent.facts.bogomips)}</dd>
      </div>
      <div>
        <dt>CPUs</dt>
        <dd>{agent.facts.cpus}</dd>
      </div>
      <div>
        <dt>Memory</dt>
        <dd>{formatMb(agent.facts.memoryMb)}</dd>
      </div>
      <div>
        <dt>Free disk</dt>
        <dd>{formatMb(agent.facts.freeDiskMb)}</dd>
      </div>
      <div>
        <dt>Accelerator</dt>
        <dd>{agent.facts.accelerator.toUpperCase()}</dd>
      </div>
      <div>
        <dt>Agent</dt>
        <dd className="mono">
          {agent.agentHost}:{agent.agentPort} · v{agent.facts.agentVersion}
        </dd>
      </div>
    </dl>
  );
}
