// Pure helpers of the console page (report fig. 15–18): where noVNC connects, and what the status
// line says.

/** The websocket URL for the API's console path: same host as the page, ws or wss like the page. */
export function consoleSocketUrl(path: string, location: { protocol: string; host: string }): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}${path.startsWith('/') ? path : `/${path}`}`;
}

export type ConsoleStatus = { kind: 'idle' } | { kind: 'connecting' } | { kind: 'connected'; desktop?: string } | { kind: 'disconnected'; reason: string };

/** The status line under the toolbar. */
export function statusText(status: ConsoleStatus): string {
  switch (status.kind) {
    case 'idle':
      return 'Not connected';
    case 'connecting':
      return 'Connecting…';
    case 'connected':
      return status.desktop ? `Connected to ${status.desktop}` : 'Connected';
    case 'disconnected':
      return `Disconnected: ${status.reason}`;
  }
}

/** The websocket close codes of the API's console relay (libs/contracts CONSOLE_CLOSE). */
const CLOSE_WORDS: Record<number, string> = {
  4000: 'another viewer opened this console',
  4401: 'you are not signed in',
  4403: 'the console token belongs to another user',
  4404: 'the console token is unknown',
  4409: 'the console token was already used',
  4410: 'the console token expired',
  4412: 'the machine is not running',
  4502: "the host's agent could not be reached",
};

/**
 * Why noVNC's connection ended, in words: the relay's close reason when it gave one (it names the
 * cause), else what its close code means, else whether the connection ended cleanly.
 */
export function disconnectReason(clean: boolean, securityReason?: string, close?: { code: number; reason: string }): string {
  if (securityReason) return `the console refused the connection (${securityReason})`;
  if (close?.reason) return close.reason;
  if (close && CLOSE_WORDS[close.code]) return CLOSE_WORDS[close.code];
  return clean ? 'the console connection was closed (the machine stopped, or another viewer took over)' : 'the connection to the console was lost';
}

/** Why there is no console for a machine in this state, or null when it can have one. */
export function noConsoleReason(state: string): string | null {
  switch (state) {
    case 'running':
      return null;
    case 'stopped':
    case 'stored':
      return 'The machine is stopped.';
    case 'suspended':
      return 'The machine is suspended: its memory is saved on the host.';
    case 'starting':
      return 'The machine is starting…';
    case 'resuming':
      return 'The machine is resuming…';
    case 'stopping':
      return 'The machine is stopping…';
    case 'suspending':
      return 'The machine is suspending…';
    case 'migrating':
      return 'The machine is migrating to another host.';
    default:
      return `The machine is ${state}.`;
  }
}
