import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, renameSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import {
  AGENT_HEADER,
  AGENT_ID_HEADER,
  HEARTBEAT_PATH,
  JOIN_PATH,
  MIGRATION_REPORT_PATH,
  sign,
  type Heartbeat,
  type JoinRequest,
  type JoinResponse,
  type MigrationReport,
} from '@virtuoso/contracts';

/** Where the agent's identity lives once joined. */
export interface AgentIdentity {
  agentId: string;
  secret: string;
  frontendUrl: string;
}

/** The front-end said no (4xx): retrying will not help. */
export class FrontendRefusedError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'FrontendRefusedError';
  }
}

/** Names and ids put in download paths: no encoding ambiguity between the two ends. */
const PATH_PART = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

function checkPathPart(what: string, value: unknown): string {
  if (typeof value !== 'string' || !PATH_PART.test(value) || value.includes('..')) {
    throw new Error(`${what} must be 1-200 characters of letters, digits, '.', '_' and '-' (got ${JSON.stringify(value)})`);
  }
  return value;
}

async function errorMessage(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  try {
    const j = JSON.parse(text) as { message?: unknown };
    if (typeof j.message === 'string') return j.message;
    if (Array.isArray(j.message)) return j.message.join('; ');
  } catch {
    /* not JSON */
  }
  return text.trim().slice(0, 500) || `${res.status} ${res.statusText}`;
}

/**
 * HTTP from the agent to the front-end (protocol.ts): join (join token), heartbeat (body is a
 * SignedEnvelope on channel = path), downloads (envelope of `{ path }` in the AGENT_HEADER
 * header, base64 of its JSON, channel = path).
 */
export class FrontendClient {
  constructor(
    private baseUrl: string,
    private identity?: AgentIdentity,
  ) {}

  /** After the join (or agent.json): sign with this identity, talk to its front-end. */
  setIdentity(identity: AgentIdentity): void {
    this.identity = identity;
    this.baseUrl = identity.frontendUrl;
  }

  private url(p: string): string {
    return this.baseUrl.replace(/\/+$/, '') + p;
  }

  private id(): AgentIdentity {
    if (!this.identity) throw new Error('the agent has not joined a front-end yet');
    return this.identity;
  }

  async join(req: JoinRequest, timeoutMs = 15_000): Promise<JoinResponse> {
    const res = await fetch(this.url(JOIN_PATH), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(req),
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (res.status >= 400 && res.status < 500) throw new FrontendRefusedError(res.status, await errorMessage(res));
    if (!res.ok) throw new Error(`join failed: ${res.status} ${await errorMessage(res)}`);
    const body = (await res.json()) as Partial<JoinResponse>;
    if (typeof body.agentId !== 'string' || !body.agentId || typeof body.secret !== 'string' || body.secret.length < 16) {
      throw new Error(`join answered without agentId and secret: ${JSON.stringify(Object.keys(body ?? {}))}`);
    }
    return { agentId: body.agentId, secret: body.secret };
  }

  /** Resolves on a 2xx; throws otherwise (the caller keeps its events queued). */
  async heartbeat(hb: Heartbeat, timeoutMs = 10_000): Promise<void> {
    const { agentId, secret } = this.id();
    const envelope = sign(secret, agentId, HEARTBEAT_PATH, hb);
    const res = await fetch(this.url(HEARTBEAT_PATH), {
      method: 'POST',
      headers: { 'content-type': 'application/json', [AGENT_ID_HEADER]: agentId },
      body: JSON.stringify(envelope),
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!res.ok) {
      const msg = await errorMessage(res);
      if (res.status >= 400 && res.status < 500) throw new FrontendRefusedError(res.status, `refused: ${res.status} ${msg}`);
      throw new Error(`${res.status} ${msg}`);
    }
    await res.body?.cancel().catch(() => undefined);
  }

  /** A migration destination's HEARTBEAT or RESP (report §7.2.1), signed like a heartbeat on
   *  channel = MIGRATION_REPORT_PATH. Resolves on a 2xx; throws otherwise (the caller retries). */
  async migrationReport(report: Omit<MigrationReport, 'agentId'>, timeoutMs = 5_000): Promise<void> {
    const { agentId, secret } = this.id();
    const envelope = sign(secret, agentId, MIGRATION_REPORT_PATH, { agentId, ...report });
    const res = await fetch(this.url(MIGRATION_REPORT_PATH), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(envelope),
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!res.ok) {
      const msg = await errorMessage(res);
      if (res.status >= 400 && res.status < 500) throw new FrontendRefusedError(res.status, `refused: ${res.status} ${msg}`);
      throw new Error(`${res.status} ${msg}`);
    }
    await res.body?.cancel().catch(() => undefined);
  }

  /**
   * GET a file of the front-end's store into `dir/<sha256><ext>`: streamed to a partial file,
   * hashed on the way, renamed only when the sha256 matches. Returns the final path.
   * `idleTimeoutMs`: abort when no byte arrives for that long.
   */
  async download(
    kind: 'images' | 'media',
    name: string,
    expectedSha256: string,
    dir: string,
    ext: string,
    idleTimeoutMs = 30_000,
  ): Promise<{ path: string; bytes: number }> {
    checkPathPart(kind === 'images' ? 'image name' : 'media id', name);
    const p = `/api/agents/${kind}/${name}`;
    const { agentId, secret } = this.id();
    const header = Buffer.from(JSON.stringify(sign(secret, agentId, p, { path: p }))).toString('base64');
    const ctl = new AbortController();
    let idle = setTimeout(() => ctl.abort(new Error(`no data for ${idleTimeoutMs} ms`)), idleTimeoutMs);
    const partial = path.join(dir, `.partial-${randomBytes(6).toString('hex')}`);
    try {
      const res = await fetch(this.url(p), { headers: { [AGENT_HEADER]: header }, signal: ctl.signal });
      if (!res.ok) {
        const msg = await errorMessage(res);
        if (res.status >= 400 && res.status < 500) throw new FrontendRefusedError(res.status, `GET ${p}: ${res.status} ${msg}`);
        throw new Error(`GET ${p}: ${res.status} ${msg}`);
      }
      if (!res.body) throw new Error(`GET ${p}: empty response`);
      const hash = createHash('sha256');
      const out = createWriteStream(partial, { mode: 0o600 });
      const outDone = new Promise<void>((resolve, reject) => {
        out.on('finish', resolve);
        out.on('error', reject);
      });
      let bytes = 0;
      try {
        const reader = res.body.getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          clearTimeout(idle);
          idle = setTimeout(() => ctl.abort(new Error(`no data for ${idleTimeoutMs} ms`)), idleTimeoutMs);
          bytes += value.byteLength;
          hash.update(value);
          if (!out.write(value)) await new Promise<void>((r) => out.once('drain', () => r()));
        }
      } finally {
        out.end();
        await outDone;
      }
      const got = hash.digest('hex');
      if (got !== expectedSha256.toLowerCase()) {
        throw new Error(`GET ${p}: sha256 mismatch (expected ${expectedSha256}, got ${got} for ${bytes} bytes)`);
      }
      const final = path.join(dir, `${got}${ext}`);
      renameSync(partial, final);
      return { path: final, bytes };
    } catch (e) {
      rmSync(partial, { force: true });
      if (ctl.signal.aborted && !(e instanceof FrontendRefusedError)) {
        throw new Error(`GET ${p}: ${(ctl.signal.reason as Error)?.message ?? 'aborted'}`);
      }
      throw e;
    } finally {
      clearTimeout(idle);
    }
  }
}
