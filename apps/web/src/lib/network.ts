// Pure rules of the guest networking pages (docs/ARCHITECTURE.md §11): the extra forwarded ports
// as the buyer types them, and the one command that joins the buyer's own computer.

/** The API's limit on extra forwarded ports (ssh, 22, is always forwarded besides). */
export const MAX_EXTRA_PORTS = 7;

export type ParsedPorts = { ports: number[]; error?: undefined } | { ports?: undefined; error: string };

/**
 * "80, 443" → [80, 443]. Commas or spaces separate ports; an empty text is no extra port. Port 22
 * and repeats are refused here with the API's own reason, so the buyer sees it before sending.
 */
export function parseForwardPorts(text: string): ParsedPorts {
  const parts = text.split(/[\s,]+/).filter((part) => part !== '');
  const ports: number[] = [];
  for (const part of parts) {
    if (!/^\d{1,5}$/.test(part) || Number(part) < 1 || Number(part) > 65535) {
      return { error: `“${part}” is not a TCP port (1 to 65535)` };
    }
    const port = Number(part);
    if (port === 22) return { error: 'ssh (22) is always forwarded: list only the other ports' };
    if (ports.includes(port)) return { error: `port ${port} is listed twice` };
    ports.push(port);
  }
  if (ports.length > MAX_EXTRA_PORTS) return { error: `at most ${MAX_EXTRA_PORTS} ports besides ssh` };
  return { ports };
}

/** The extra ports (all but 22) as the form shows them: "80, 443". */
export function formatExtraPorts(forwardPorts: readonly number[]): string {
  return forwardPorts.filter((port) => port !== 22).join(', ');
}

/** The join script's address for device `n` (1 to 8), relative to the SPA's origin. */
export function joinScriptPath(device: number): string {
  return `/api/network/join.sh?device=${device}`;
}

/**
 * The one command that fetches the join script and runs it as root on the buyer's Debian computer.
 * The script is the buyer's own (it names their network), so curl authenticates with one of their
 * personal API tokens (account page); a script downloaded in the browser runs with `sudo bash join.sh`.
 */
export function joinCommand(origin: string, device: number): string {
  return `curl -fsSL -H 'Authorization: Bearer <your API token>' '${origin}${joinScriptPath(device)}' | sudo bash`;
}
