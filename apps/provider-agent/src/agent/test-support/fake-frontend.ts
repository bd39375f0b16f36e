import { randomBytes, randomUUID } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { firstValueFrom, timeout } from 'rxjs';
import { ClientTCP } from '@nestjs/microservices';
import {
  AGENT_HEADER,
  AGENT_ID_HEADER,
  NonceCache,
  sign,
  verify,
  type AgentEvent,
  type AgentReply,
  type Heartbeat,
  type JoinRequest,
  type MigrationReport,
} from '@virtuoso/contracts';

/**
 * The front-end's half of the agent protocol, small enough to live in a test: join with a
 * one-time token, verified heartbeats (recorded), signed image and media downloads, and signed
 * commands over the NestJS TCP transport (the same ClientTCP apps/api uses).
 */
export class FakeFrontend {
  readonly joinToken = `join-${randomBytes(8).toString('hex')}`;
  readonly agentId = randomUUID();
  readonly secret = randomBytes(32).toString('hex');
  readonly joins: JoinRequest[] = [];
  /** Each heartbeat with the agent id its AGENT_ID_HEADER named (admission, read before the body). */
  readonly heartbeats: { at: number; hb: Heartbeat; status: number; named: string | undefined }[] = [];
  /** Events acknowledged by a 2xx, in arrival order. */
  readonly ackedEvents: AgentEvent[] = [];
  readonly downloads: { path: string; status: number }[] = [];
  readonly refused: string[] = [];
  /** Migration destinations' HEARTBEATs and RESPs (signatures checked), in arrival order. */
  readonly migrationReports: MigrationReport[] = [];
  /** Files the store serves: images by name, media by id. */
  readonly images = new Map<string, string>();
  readonly media = new Map<string, string>();
  /** Answer heartbeats with this status (e.g. 503 to hold events back). */
  heartbeatStatus = 204;
  private readonly nonces = new NonceCache();
  private server?: http.Server;
  private waiters: (() => void)[] = [];
  url = '';

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolve with the first accepted heartbeat (after `since`) satisfying `pred`. */
  async waitForHeartbeat(pred: (hb: Heartbeat) => boolean, opts: { since?: number; timeoutMs?: number } = {}): Promise<Heartbeat> {
    const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
    const since = opts.since ?? 0;
    for (;;) {
      const hit = this.heartbeats.find((h) => h.at >= since && h.status < 300 && pred(h.hb));
      if (hit) return hit.hb;
      const left = deadline - Date.now();
      if (left <= 0) {
        const last = this.heartbeats.at(-1);
        throw new Error(
          `no matching heartbeat within ${opts.timeoutMs ?? 20_000} ms; last: ${JSON.stringify(last?.hb.vms)} events ${JSON.stringify(last?.hb.events)}`,
        );
      }
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 500));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://x');
    const json = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    const error = (status: number, message: string) => {
      this.refused.push(`${req.method} ${url.pathname}: ${message}`);
      json(status, { statusCode: status, error: http.STATUS_CODES[status], message });
    };

    if (req.method === 'POST' && url.pathname === '/api/agents/join') {
      const j = JSON.parse(body) as JoinRequest;
      if (j.joinToken !== this.joinToken) return error(401, 'this join token is unknown or already used');
      this.joins.push(j);
      return json(201, { agentId: this.agentId, secret: this.secret });
    }
    if (req.method === 'POST' && url.pathname === '/api/agents/heartbeat') {
      const v = verify(this.secret, url.pathname, JSON.parse(body || 'null'), this.nonces);
      if (!v.ok) return error(401, `heartbeat refused: ${v.reason}`);
      if (v.agentId !== this.agentId) return error(401, 'unknown agent');
      const hb = v.body as Heartbeat;
      const status = this.heartbeatStatus;
      const named = req.headers[AGENT_ID_HEADER];
      this.heartbeats.push({ at: Date.now(), hb, status, named: typeof named === 'string' ? named : undefined });
      if (status < 300) this.ackedEvents.push(...hb.events);
      this.notify();
      if (status >= 300) return error(status, 'not now');
      res.writeHead(status);
      res.end();
      return;
    }
    if (req.method === 'POST' && url.pathname === '/api/agents/migrations') {
      const v = verify(this.secret, url.pathname, JSON.parse(body || 'null'), this.nonces);
      if (!v.ok) return error(401, `migration report refused: ${v.reason}`);
      if (v.agentId !== this.agentId || (v.body as MigrationReport).agentId !== this.agentId) return error(401, 'unknown agent');
      this.migrationReports.push(v.body as MigrationReport);
      this.notify();
      res.writeHead(204);
      res.end();
      return;
    }
    const m = /^\/api\/agents\/(images|media)\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'GET' && m) {
      const header = req.headers[AGENT_HEADER];
      let env: unknown = null;
      try {
        env = JSON.parse(Buffer.from(String(header ?? ''), 'base64').toString('utf8'));
      } catch {
        /* refused below */
      }
      const v = verify(this.secret, url.pathname, env, this.nonces);
      if (!v.ok || (v.body as { path?: string })?.path !== url.pathname) {
        this.downloads.push({ path: url.pathname, status: 401 });
        return error(401, `download refused: ${v.ok ? 'path mismatch' : v.reason}`);
      }
      const file = (m[1] === 'images' ? this.images : this.media).get(m[2]!);
      if (!file) {
        this.downloads.push({ path: url.pathname, status: 404 });
        return error(404, `no such ${m[1]}`);
      }
      this.downloads.push({ path: url.pathname, status: 200 });
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': statSync(file).size });
      createReadStream(file).pipe(res);
      return;
    }
    error(404, 'not found');
  }
}

/** The front-end's command client: signed envelopes over the NestJS TCP transport. */
export class CommandClient {
  private readonly client: ClientTCP;

  constructor(
    host: string,
    port: number,
    private readonly agentId: string,
    private readonly secret: string,
  ) {
    this.client = new ClientTCP({ host, port });
  }

  /** Sign `payload` on channel = pattern and send it. */
  send<T = unknown>(pattern: string, payload: unknown, opts: { timeoutMs?: number } = {}): Promise<AgentReply<T>> {
    return this.sendRaw<T>(pattern, sign(this.secret, this.agentId, pattern, payload), opts);
  }

  /** Send anything (unsigned, forged, replayed envelopes). */
  sendRaw<T = unknown>(pattern: string, data: unknown, opts: { timeoutMs?: number } = {}): Promise<AgentReply<T>> {
    return firstValueFrom(this.client.send<AgentReply<T>>(pattern, data).pipe(timeout(opts.timeoutMs ?? 60_000)));
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
