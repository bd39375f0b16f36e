import * as net from 'node:net';
import { networkInterfaces } from 'node:os';

/** First command port suggested for a new agent; its console port is this + CONSOLE_PORT_OFFSET (the demo agents: 7101/7201, 7102/7202). */
export const FIRST_AGENT_PORT = 7101;
export const CONSOLE_PORT_OFFSET = 100;
const LAST_AGENT_PORT = 65535 - CONSOLE_PORT_OFFSET;

export interface SuggestedPorts {
  agentPort: number;
  consolePort: number;
}

/**
 * The first pair (port, port + 100) from 7101 up of which neither port is `taken` (held by an agent
 * the market knows) nor refused by `isFree` (a port in use on this machine). Null when none is left.
 */
export async function suggestAgentPorts(taken: ReadonlySet<number>, isFree: (port: number) => Promise<boolean>): Promise<SuggestedPorts | null> {
  for (let agentPort = FIRST_AGENT_PORT; agentPort <= LAST_AGENT_PORT; agentPort++) {
    const consolePort = agentPort + CONSOLE_PORT_OFFSET;
    if (taken.has(agentPort) || taken.has(consolePort)) continue;
    if ((await isFree(agentPort)) && (await isFree(consolePort))) return { agentPort, consolePort };
  }
  return null;
}

/** Whether a TCP port can be bound on 127.0.0.1 now (a port held on any local address cannot). */
export function canBindLoopback(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Whether an address is this machine's: loopback, or one of its interfaces' addresses. */
export function isThisMachine(address: string | undefined): boolean {
  if (!address) return false;
  const bare = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (bare === '::1' || bare.startsWith('127.') || bare === 'localhost') return true;
  return Object.values(networkInterfaces()).some((list) => list?.some((info) => info.address === bare));
}
