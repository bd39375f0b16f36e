import type { Host } from '../../lib/api';

/** The host's guest networking as its agent reports it (docs/ARCHITECTURE.md §11), in a row of the hosts table. */
export function HostNetworkBrief({ host }: { host: Pick<Host, 'network'> }) {
  const network = host.network;
  if (!network) return <span className="pair__detail muted">guest network: not reported yet</span>;
  return (
    <span className="pair__detail" data-testid="host-network" title={`Forwarded ports on ${network.publicHost}`}>
      ports {network.portRange.first}–{network.portRange.last} ({network.portsInUse} in use) · outbound {network.outbound}
    </span>
  );
}

/** The host page's Guest network section: what buyers reach and how their guests reach out. */
export function HostNetworkSection({ host }: { host: Pick<Host, 'network' | 'name'> }) {
  const network = host.network;
  return (
    <section aria-labelledby="host-network-title">
      <h2 className="form-section" id="host-network-title">
        Guest network
      </h2>
      {!network ? (
        <p className="muted">The agent of {host.name} has not reported its network yet (it does when it joins and with each heartbeat).</p>
      ) : (
        <>
          <dl className="summary summary--wide">
            <div>
              <dt>Public host</dt>
              <dd className="mono">{network.publicHost}</dd>
            </div>
            <div>
              <dt>Forwarded port range</dt>
              <dd className="mono">
                {network.portRange.first}–{network.portRange.last}
              </dd>
            </div>
            <div>
              <dt>Ports in use</dt>
              <dd>
                {network.portsInUse} of {network.portRange.last - network.portRange.first + 1}
              </dd>
            </div>
            <div>
              <dt>Outbound policy</dt>
              <dd>{network.outbound === 'allow' ? "allow (NAT'ed through this host)" : 'none'}</dd>
            </div>
            <div>
              <dt>Private networks</dt>
              <dd>{network.vnet ? 'can carry buyers’ private networks' : 'not available (VDE or the transfer endpoint missing)'}</dd>
            </div>
          </dl>
          <p className="muted">
            Buyers reach their machines’ ssh and other forwarded ports at <span className="mono">{network.publicHost}</span> on ports of this range; the agent’s{' '}
            <code>--port-range</code>, <code>--public-host</code> and <code>--outbound</code> options set them.
            {network.outbound === 'allow' && ' With outbound allowed, guests also reach this host’s own loopback services at 10.0.2.2.'}
          </p>
        </>
      )}
    </section>
  );
}
