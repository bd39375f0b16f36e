import { request as httpRequest } from 'node:http';
import { expect } from 'vitest';

/** A JSON POST from a chosen local address (127.0.0.0/8 is all loopback on Linux: 127.0.0.2 is "another client"). */
export function postFrom(
  url: string,
  path: string,
  body: unknown,
  options: { from?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const text = JSON.stringify(body);
  return new Promise((done, fail) => {
    const req = httpRequest(
      `${url}${path}`,
      {
        method: 'POST',
        localAddress: options.from,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...options.headers },
      },
      (res) => {
        let answer = '';
        res.on('data', (chunk: Buffer) => (answer += chunk.toString()));
        res.on('end', () => done({ status: res.statusCode ?? 0, body: answer ? JSON.parse(answer) : {} }));
      },
    );
    req.on('error', fail);
    req.end(text);
  });
}

/** The address a join is seen from: the API names it when refusing an agentHost elsewhere (VIRTUOSO_AGENT_ADDRESSES=joined-from). */
export async function joinSeenFrom(url: string, joinToken: string, from: string, headers: Record<string, string> = {}): Promise<string> {
  const facts = { bogomips: 20000, cpus: 4, memoryMb: 4096, freeDiskMb: 50000, accelerator: 'tcg', agentVersion: '0.1.0', hostname: 'h' };
  const refused = await postFrom(url, '/api/agents/join', { joinToken, agentHost: '10.1.2.3', agentPort: 7000, consolePort: 7001, facts }, { from, headers });
  expect(refused.status, JSON.stringify(refused.body)).toBe(400);
  return /the address it joins from \(([^)]+)\)/.exec(String(refused.body.message))?.[1] ?? `no address in ${String(refused.body.message)}`;
}
