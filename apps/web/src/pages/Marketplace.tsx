import { QueryState } from '../components/forms';
import { HostStatus } from '../components/HostStatus';
import { MarketPriceHistory } from '../components/PriceHistory';
import { useMarketHosts } from '../lib/queries';

/** Report fig. 33 (getproviders.pl): every host with its free resources and prices. */
export function MarketplacePage() {
  const hosts = useMarketHosts();
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Provider marketplace</h1>
          <p className="muted">
            Every host on Virtuoso with its free resources and unit prices: speed and memory are charged per second of running, storage per day. Offline hosts
            are listed too, marked offline: buyers cannot store machines on them until their agent is back.
          </p>
        </div>
      </div>
      <MarketPriceHistory />
      <h2>Hosts</h2>
      <QueryState query={hosts} what="Loading the marketplace" />
      {hosts.data && hosts.data.length === 0 && <p className="empty empty--boxed">No provider has added a host yet.</p>}
      {hosts.data && hosts.data.length > 0 && (
        <div className="table-wrap">
          <table className="table table--compact table--fit table--cards">
            <thead>
              <tr>
                <th scope="col">Provider</th>
                <th scope="col">Host</th>
                <th scope="col">Status</th>
                <th scope="col">Processor</th>
                <th scope="col" className="num">
                  Free speed (bogomips)
                </th>
                <th scope="col" className="num">
                  Speed price
                </th>
                <th scope="col" className="num">
                  Free memory (MB)
                </th>
                <th scope="col" className="num">
                  Memory price
                </th>
                <th scope="col" className="num">
                  Free storage (MB)
                </th>
                <th scope="col" className="num">
                  Storage price
                </th>
                <th scope="col">Connection</th>
              </tr>
            </thead>
            <tbody>
              {hosts.data.map((host) => (
                <tr key={host.id} className={host.online ? undefined : 'is-offline'}>
                  <td data-label="Provider">{host.owner}</td>
                  <th scope="row">{host.name}</th>
                  <td data-label="Status">
                    <HostStatus online={host.online} lastHeartbeatAt={host.lastHeartbeatAt} />
                  </td>
                  <td data-label="Processor">{host.processor}</td>
                  <td className="num" data-label="Free speed (bogomips)">
                    <Pair main={String(host.free.speed)} detail={`of ${host.total.speed}`} />
                  </td>
                  <td className="num money" data-label="Speed price">
                    <Pair main={`$${host.speedUnitPrice}`} detail={`per ${host.speedUnit} bogomips / s`} />
                  </td>
                  <td className="num" data-label="Free memory (MB)">
                    <Pair main={String(host.free.memory)} detail={`of ${host.total.memory}`} />
                  </td>
                  <td className="num money" data-label="Memory price">
                    <Pair main={`$${host.memoryUnitPrice}`} detail={`per ${host.memoryUnit} MB / s`} />
                  </td>
                  <td className="num" data-label="Free storage (MB)">
                    <Pair main={String(host.free.storage)} detail={`of ${host.total.storage}`} />
                  </td>
                  <td className="num money" data-label="Storage price">
                    <Pair main={`$${host.storageUnitPrice}`} detail={`per ${host.storageUnit} MB / day`} />
                  </td>
                  <td data-label="Connection">{host.connectionSpeed}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

/** A value with its unit or context on a second, quieter line. */
function Pair({ main, detail }: { main: string; detail: string }) {
  return (
    <span className="pair">
      <span className="pair__main">{main}</span>
      <span className="pair__detail">{detail}</span>
    </span>
  );
}
