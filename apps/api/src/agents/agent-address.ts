import { BlockList, isIP } from 'node:net';

/**
 * Which addresses the API may dial as an agent's (VIRTUOSO_AGENT_ADDRESSES). An agent reports the
 * address it listens on when it joins; without a policy a provider could make the API connect to
 * any address and port (and read open from closed ports in the errors). Entries, comma-separated:
 * `joined-from` (the address the agent joined from: the default), an IP address or CIDR block
 * (`10.0.0.0/8`, `fd00::/8`, `192.168.1.20`), or `any`.
 */
export interface AgentAddressPolicy {
  any: boolean;
  joinedFrom: boolean;
  blocks: BlockList;
  /** The variable's text, for messages. */
  text: string;
}

export const DEFAULT_AGENT_ADDRESSES = 'joined-from';

/** Parses the variable; problems are pushed (config collects them all before failing). */
export function parseAgentAddressPolicy(text: string, problems: string[]): AgentAddressPolicy {
  const policy: AgentAddressPolicy = { any: false, joinedFrom: false, blocks: new BlockList(), text };
  for (const entry of text
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)) {
    if (entry === 'any') policy.any = true;
    else if (entry === 'joined-from') policy.joinedFrom = true;
    else {
      const [address, bits, extra] = entry.split('/');
      const family = isIP(address);
      const prefix = bits === undefined ? (family === 6 ? 128 : 32) : /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
      if (!family || extra !== undefined || !(prefix >= 0 && prefix <= (family === 6 ? 128 : 32))) {
        problems.push(`VIRTUOSO_AGENT_ADDRESSES: "${entry}" is not joined-from, any, an IP address or a CIDR block such as 10.0.0.0/8`);
        continue;
      }
      policy.blocks.addSubnet(address, prefix, family === 6 ? 'ipv6' : 'ipv4');
    }
  }
  if (!policy.any && !policy.joinedFrom && policy.blocks.rules.length === 0) {
    problems.push('VIRTUOSO_AGENT_ADDRESSES must name at least one of joined-from, any, an IP address or a CIDR block');
  }
  return policy;
}

/** An IPv4 address as IPv6 (`::ffff:1.2.3.4`, how a dual-stack server sees IPv4 clients) is the IPv4 address. */
export function plainAddress(address: string): string {
  const lower = address
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  return mapped ? mapped[1] : lower;
}

const isLoopback = (address: string) => address === 'localhost' || address === '::1' || /^127\.\d+\.\d+\.\d+$/.test(address);

/**
 * Whether the API may dial `agentHost` for an agent that joined from `joinedFrom`. An agent that
 * joined over loopback runs on the API's own machine, where every loopback address is the same.
 */
export function agentAddressAllowed(policy: AgentAddressPolicy, agentHost: string, joinedFrom: string | null | undefined): boolean {
  if (policy.any) return true;
  const host = plainAddress(agentHost);
  if (policy.joinedFrom && joinedFrom) {
    const from = plainAddress(joinedFrom);
    if (host === from || (isLoopback(host) && isLoopback(from))) return true;
  }
  const family = isIP(host);
  return family !== 0 && policy.blocks.check(host, family === 6 ? 'ipv6' : 'ipv4');
}
