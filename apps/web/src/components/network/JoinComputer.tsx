import { useState } from 'react';
import { Link } from 'react-router';
import { joinCommand, joinScriptPath } from '../../lib/network';
import { useNetwork, useSshKeys } from '../../lib/queries';
import { CopyBlock } from '../forms';

/**
 * "Join your computer" (docs/ARCHITECTURE.md §11): the buyer's own Debian computer joins the
 * private network with a script the API writes for it (GET /api/network/join.sh?device=N) and one
 * command. The script plugs a tap device into the network's hub over ssh with the buyer's own key.
 */
export function JoinComputer() {
  const network = useNetwork();
  const sshKeys = useSshKeys();
  const [device, setDevice] = useState(1);
  const addresses = network.data?.deviceAddresses ?? [];
  const address = addresses[device - 1];
  const hub = network.data?.hubHostName;
  const ready = !!hub && !!sshKeys.data?.length;
  return (
    <details className="join-computer" id="join">
      <summary>Join your computer</summary>
      <p>
        Your own Debian or Ubuntu computer can join this private network as if it were one more machine: it gets an address of its own and reaches your machines
        at theirs. The join script installs <code>vde2</code> and <code>openssh-client</code> if they are missing, makes a network device <code>vnet0</code>{' '}
        with your computer's address, and plugs it into your network over ssh (encrypted), logging in with one of{' '}
        <Link to="/account#ssh-keys">your ssh keys</Link>: run it where that key is (in <code>~/.ssh</code> or your ssh agent). It stays connected until you
        press Ctrl-C.
      </p>
      {sshKeys.data?.length === 0 && (
        <p className="alert alert--info" role="status">
          Your computer joins with one of your ssh keys: <Link to="/account#ssh-keys">add yours on your account page</Link> first.
        </p>
      )}
      {network.data && !hub && (
        <p className="alert alert--info" role="status">
          Your computer plugs into the host of one of your running machines: start a machine first (on a host that carries private networks), then download the
          script.
        </p>
      )}
      {hub && <p className="muted">Your computer plugs into {hub}, the host your other machines’ hosts connect to now.</p>}
      <div className="field join-computer__device">
        <label htmlFor="join-device">Which computer</label>
        <select id="join-device" value={device} onChange={(event) => setDevice(Number(event.target.value))}>
          {(addresses.length ? addresses : [null]).map((deviceAddress, index) => (
            <option key={index + 1} value={index + 1}>
              Computer {index + 1}
              {deviceAddress ? ` — ${deviceAddress}` : ''}
            </option>
          ))}
        </select>
        <p className="field__hint">Each of your computers uses its own address{address ? `; this one gets ${address}` : ''}.</p>
      </div>
      <ol className="join-computer__steps">
        <li>
          {/* Offered once the API can write the script: a refusal would be saved as join.sh. */}
          {ready ? (
            <a className="btn btn--small" href={joinScriptPath(device)} download="join.sh">
              Download join.sh
            </a>
          ) : (
            <button type="button" className="btn btn--small" disabled>
              Download join.sh
            </button>
          )}{' '}
          and run it as root on that computer:
          <CopyBlock text="sudo bash join.sh" label="Run the join script" />
        </li>
        <li>
          Or in one command, with a personal API token from your <Link to="/account">account page</Link>:
          <CopyBlock text={joinCommand(window.location.origin, device)} label="Join command" />
        </li>
      </ol>
    </details>
  );
}
