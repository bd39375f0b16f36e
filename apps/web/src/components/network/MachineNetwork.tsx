import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { api, call, type Machine, type MachineNetwork as MachineNetworkData } from '../../lib/api';
import { isTransient } from '../../lib/machines';
import { formatExtraPorts, parseForwardPorts } from '../../lib/network';
import { keys, useMachineNetwork, useNetwork, useSshKeys } from '../../lib/queries';
import { CopyBlock, ErrorBanner, Field, fieldErrors, Notice, QueryState } from '../forms';
import { StateBadge } from '../MachineSummary';
import { JoinComputer } from './JoinComputer';

/**
 * The machine page's Network panel (docs/ARCHITECTURE.md §11): its private address on the buyer's
 * network, the ports forwarded on the provider's address, the ssh command while it runs, the
 * other machines on the network, and how the buyer's own computer joins.
 */
export function MachineNetwork({ machine }: { machine: Machine }) {
  const queryClient = useQueryClient();
  const network = useMachineNetwork(machine.id, isTransient(machine.state));
  const sshKeys = useSshKeys();
  // The forwards come and go with the machine's running: read them again when its state changes.
  useEffect(() => {
    queryClient.invalidateQueries({ queryKey: keys.machineNetwork(machine.id) });
    queryClient.invalidateQueries({ queryKey: keys.network });
  }, [queryClient, machine.id, machine.state]);
  return (
    <section className="machine-network" aria-labelledby="network-title">
      <h2 className="form-section" id="network-title">
        Network
      </h2>
      {sshKeys.data && sshKeys.data.length === 0 && (
        <Notice tone="warning">
          You have no ssh key, so nobody can log in to this machine over ssh. <Link to="/account#ssh-keys">Add your public key on your account page</Link>; the
          machine gets it at its next start or resume.
        </Notice>
      )}
      <QueryState query={network} what="Loading the machine's network" />
      {network.data && <NetworkDetails machine={machine} network={network.data} />}
      <Members machineId={machine.id} />
      <JoinComputer />
    </section>
  );
}

function NetworkDetails({ machine, network }: { machine: Machine; network: MachineNetworkData }) {
  const running = machine.state === 'running';
  return (
    <div className="network-grid">
      <div>
        <h3>Private network</h3>
        <dl className="summary">
          <div>
            <dt>Private address</dt>
            <dd className="mono" data-testid="private-address">
              {network.privateAddress ?? <span className="muted">given at its first start</span>}
            </dd>
          </div>
          <div>
            <dt>MAC address</dt>
            <dd className="mono">{network.mac}</dd>
          </div>
          <div>
            <dt>Subnet</dt>
            <dd className="mono">{network.subnet}</dd>
          </div>
          <div>
            <dt>Outbound</dt>
            <dd>
              {network.outbound === 'allow'
                ? "to the internet, NAT'ed through the provider"
                : network.outbound === 'none'
                  ? 'none (the provider allows no outbound traffic)'
                  : '—'}
            </dd>
          </div>
        </dl>
      </div>
      <div>
        <h3>SSH</h3>
        {running && network.sshCommand ? (
          <>
            <p className="muted">Log in as root with one of your ssh keys:</p>
            <CopyBlock text={network.sshCommand} label="ssh command" />
          </>
        ) : (
          <p className="muted" data-testid="ssh-note">
            The ssh command appears here when the machine runs{machine.host ? '' : ' (store it on a host and start it first)'}.
          </p>
        )}
        <ForwardedPorts network={network} running={running} />
        <ExtraPortsForm machineId={machine.id} network={network} />
      </div>
    </div>
  );
}

function ForwardedPorts({ network, running }: { network: MachineNetworkData; running: boolean }) {
  return (
    <div className="table-wrap">
      <table className="table table--compact table--fit table--forwards" aria-label="Forwarded ports">
        <thead>
          <tr>
            <th scope="col" className="num">
              Guest port
            </th>
            <th scope="col">Reached at</th>
          </tr>
        </thead>
        <tbody>
          {network.forwardPorts.map((guestPort) => {
            const forward = network.forwards.find((f) => f.guestPort === guestPort);
            return (
              <tr key={guestPort}>
                <td className="num">
                  {guestPort}
                  {guestPort === 22 ? ' (ssh)' : ''}
                </td>
                <td className="mono">
                  {running && forward ? (
                    `${network.publicHost ?? 'the provider'}:${forward.hostPort}`
                  ) : (
                    <span className="muted">{running ? 'not forwarded (set at the next start)' : 'when running'}</span>
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

/** Extra guest ports besides ssh, comma-separated; they take effect at the next start or resume. */
function ExtraPortsForm({ machineId, network }: { machineId: string; network: MachineNetworkData }) {
  const queryClient = useQueryClient();
  const saved = formatExtraPorts(network.forwardPorts);
  const [text, setText] = useState(saved);
  const [invalid, setInvalid] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const save = useMutation({
    mutationFn: (ports: number[]) => call(api.PUT('/api/machines/{id}/network/ports', { params: { path: { id: machineId } }, body: { ports } })),
    onSuccess: (updated) => {
      queryClient.setQueryData(keys.machineNetwork(machineId), updated);
      setText(formatExtraPorts(updated.forwardPorts));
      setDone(true);
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setDone(false);
    save.reset();
    const parsed = parseForwardPorts(text);
    if (parsed.error !== undefined) {
      setInvalid(parsed.error);
      return;
    }
    setInvalid(null);
    save.mutate(parsed.ports);
  };
  const serverErrors = fieldErrors(save.error, 'ports');
  return (
    <form className="inline-form" onSubmit={submit} noValidate aria-label="Extra forwarded ports">
      {save.error && !serverErrors ? <ErrorBanner error={save.error} /> : null}
      <Field
        label="Extra forwarded ports"
        value={text}
        onChange={(value) => {
          setText(value);
          setDone(false);
        }}
        placeholder="e.g. 80, 443"
        inputMode="numeric"
        autoComplete="off"
        hint="Guest TCP ports besides ssh (22), comma-separated. They take effect at the next start or resume."
        errors={invalid ? [invalid] : serverErrors}
      />
      <button type="submit" className="btn" disabled={save.isPending}>
        {save.isPending ? 'Saving…' : 'Save ports'}
      </button>
      {done && (
        <p className="muted" role="status">
          Saved: {saved ? `22, ${saved}` : 'ssh (22) only'}, from the next start.
        </p>
      )}
    </form>
  );
}

/** The buyer's machines on the same private network, each linking to its page. */
function Members({ machineId }: { machineId: string }) {
  const network = useNetwork();
  if (network.isPending || network.error) return <QueryState query={network} what="Loading your network" />;
  const members = network.data.members;
  return (
    <>
      <h3>
        Machines on your network <span className="muted mono">{network.data.subnet}</span>
      </h3>
      {members.length === 0 ? (
        <p className="empty">No machine has an address yet: a machine gets one at its first start.</p>
      ) : (
        <div className="table-wrap">
          <table className="table table--compact table--fit table--cards" aria-label="Machines on your network">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Address</th>
                <th scope="col">State</th>
                <th scope="col">Host</th>
              </tr>
            </thead>
            <tbody>
              {members.map((member) => (
                <tr key={member.machineId}>
                  <th scope="row">
                    {member.machineId === machineId ? (
                      <>
                        {member.name} <span className="muted">(this machine)</span>
                      </>
                    ) : (
                      <Link to={`/machines/${member.machineId}`}>{member.name}</Link>
                    )}
                  </th>
                  <td data-label="Address" className="mono">
                    {member.address}
                  </td>
                  <td data-label="State">
                    <StateBadge state={member.state} />
                  </td>
                  <td data-label="Host">{member.hostName ?? <span className="muted">—</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
