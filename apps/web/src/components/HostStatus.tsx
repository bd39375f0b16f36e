import { formatAgo, formatDateTime } from '../lib/format';

/**
 * Online / Offline for a host, from its agent's heartbeats (a host that misses them is offline),
 * with the time of the last one. The word is the accessible text; the dot is decoration.
 */
export function HostStatus({ online, lastHeartbeatAt }: { online: boolean; lastHeartbeatAt: string | null | undefined }) {
  return (
    <span className="host-status">
      <span className={`status status--${online ? 'online' : 'offline'}`}>{online ? 'Online' : 'Offline'}</span>
      <span className="host-status__beat" title={lastHeartbeatAt ? `Last heartbeat ${formatDateTime(lastHeartbeatAt)}` : undefined}>
        {lastHeartbeatAt ? (
          <>
            heartbeat <time dateTime={lastHeartbeatAt}>{formatAgo(lastHeartbeatAt)}</time>
          </>
        ) : (
          'no heartbeat yet'
        )}
      </span>
    </span>
  );
}
