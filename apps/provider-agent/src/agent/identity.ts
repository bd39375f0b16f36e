import { chmodSync, existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { Logger } from '@nestjs/common';
import type { HostFacts } from '@virtuoso/contracts';
import type { AgentConfig } from '../config';
import { FrontendClient, FrontendRefusedError, type AgentIdentity } from './frontend-client';

/** agent.json: the identity from the join, plus where the agent said it listens. */
export interface AgentFile extends AgentIdentity {
  agentHost: string;
  agentPort: number;
  consolePort: number;
  joinedAt: string;
  /** Set when the front-end retired this agent (its host was deleted): it serves no more, and
   *  only a join with a new token gives it a new identity. */
  retiredAt?: string;
  retiredReason?: string;
}

export const AGENT_FILE = 'agent.json';

export function loadAgentFile(dataDir: string): AgentFile | undefined {
  const file = path.join(dataDir, AGENT_FILE);
  if (!existsSync(file)) return undefined;
  let j: Partial<AgentFile>;
  try {
    j = JSON.parse(readFileSync(file, 'utf8')) as Partial<AgentFile>;
  } catch (e) {
    throw new Error(`${file} is not valid JSON (${(e as Error).message}): restore it or remove it and join again`);
  }
  if (typeof j.agentId !== 'string' || typeof j.secret !== 'string' || typeof j.frontendUrl !== 'string') {
    throw new Error(`${file} lacks agentId, secret or frontendUrl: restore it or remove it and join again`);
  }
  const mode = statSync(file).mode & 0o777;
  if (mode & 0o077) {
    new Logger('Join').warn(`${file} holds the agent's secret but has mode ${mode.toString(8)}: setting 600`);
    chmodSync(file, 0o600);
  }
  return j as AgentFile;
}

/** Record in agent.json that the front-end retired this agent, so that a restart does not serve again. */
export function markRetired(dataDir: string, reason: string, at = new Date()): void {
  const a = loadAgentFile(dataDir);
  if (!a) return;
  saveAgentFile(dataDir, { ...a, retiredAt: at.toISOString(), retiredReason: reason });
}

export function saveAgentFile(dataDir: string, a: AgentFile): void {
  const file = path.join(dataDir, AGENT_FILE);
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, JSON.stringify(a, null, 2) + '\n', { mode: 0o600 });
  chmodSync(tmp, 0o600); // in case the file existed with other bits
  renameSync(tmp, file);
}

const log = new Logger('Join');

/**
 * agent.json when it exists (no token needed); otherwise join the front-end with the token:
 * a 4xx stops the agent with the server's message, other failures are retried.
 */
export async function ensureJoined(
  config: AgentConfig,
  facts: () => HostFacts,
  opts: { retryDelaysMs?: number[]; shouldStop?: () => boolean } = {},
): Promise<AgentFile> {
  const retired = loadAgentFile(config.dataDir);
  if (retired?.retiredAt) {
    const why = `agent ${retired.agentId} was retired by ${retired.frontendUrl} at ${retired.retiredAt}${retired.retiredReason ? ` (${retired.retiredReason})` : ''}`;
    if (!config.frontendUrl || !config.joinToken) throw new Error(`${why}; it serves no more: to serve a host again, start it with a new join token (--join)`);
    log.warn(`${why}; joining again with the new join token`);
  }
  const existing = retired?.retiredAt ? undefined : retired;
  if (existing) {
    const frontendUrl = config.frontendUrl ?? existing.frontendUrl;
    const moved =
      frontendUrl !== existing.frontendUrl ||
      existing.agentHost !== config.advertiseHost ||
      existing.agentPort !== config.port ||
      existing.consolePort !== config.consolePort;
    if (moved) {
      log.warn(
        `configuration differs from agent.json (front-end ${existing.frontendUrl} → ${frontendUrl}, ` +
          `endpoint ${existing.agentHost}:${existing.agentPort}/${existing.consolePort} → ${config.advertiseHost}:${config.port}/${config.consolePort}); ` +
          `the front-end still dials what the agent reported when it joined`,
      );
      const updated = { ...existing, frontendUrl };
      saveAgentFile(config.dataDir, updated);
      return updated;
    }
    log.log(`using agent.json: agent ${existing.agentId}, front-end ${existing.frontendUrl}`);
    return existing;
  }
  if (!config.frontendUrl || !config.joinToken) throw new Error('not joined yet: VIRTUOSO_FRONTEND_URL and VIRTUOSO_JOIN_TOKEN are required');
  const client = new FrontendClient(config.frontendUrl);
  const delays = opts.retryDelaysMs ?? [1_000, 2_000, 5_000, 10_000];
  for (let attempt = 0; ; attempt++) {
    const f = facts();
    try {
      const r = await client.join({
        joinToken: config.joinToken,
        agentHost: config.advertiseHost,
        agentPort: config.port,
        consolePort: config.consolePort,
        facts: f,
      });
      const a: AgentFile = {
        agentId: r.agentId,
        secret: r.secret,
        frontendUrl: config.frontendUrl,
        agentHost: config.advertiseHost,
        agentPort: config.port,
        consolePort: config.consolePort,
        joinedAt: new Date().toISOString(),
      };
      saveAgentFile(config.dataDir, a);
      log.log(
        `joined ${config.frontendUrl} as agent ${r.agentId} (${f.cpus} cpus, ${f.bogomips} bogomips, ${f.memoryMb} MB, ${f.freeDiskMb} MB free, ${f.accelerator})`,
      );
      return a;
    } catch (e) {
      if (e instanceof FrontendRefusedError) throw new Error(`the front-end refused to join this agent (${e.status}): ${e.message}`);
      if (opts.shouldStop?.()) throw e;
      const delay = delays[Math.min(attempt, delays.length - 1)]!;
      log.warn(`cannot join ${config.frontendUrl} yet (${(e as Error).message}${causeOf(e)}); retrying in ${delay} ms`);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

export function causeOf(e: unknown): string {
  const c = (e as { cause?: { code?: string; message?: string } })?.cause;
  return c ? `: ${c.code ?? c.message}` : '';
}
