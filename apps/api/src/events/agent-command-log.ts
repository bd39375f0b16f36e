import { Injectable } from '@nestjs/common';
import { AgentCommands, type AgentCommand } from '@virtuoso/contracts';
import type { AgentTarget } from '../machines/host-agent.gateway';
import { EventLog } from './event-log.service';

/** Polls the daemons send over and over: in the log only when they fail. */
const QUIET: ReadonlySet<string> = new Set([AgentCommands.list, AgentCommands.vnetSync, AgentCommands.migrationStatus]);

/**
 * Commands sent to agents and their replies in the event log (agent.command, agent.reply), around
 * the gateway's one exchange. Noted outside any transaction: a command is not a state change.
 */
@Injectable()
export class AgentCommandLog {
  constructor(private readonly eventLog: EventLog) {}

  async traced<T>(target: AgentTarget, pattern: AgentCommand, body: unknown, exchange: () => Promise<T>): Promise<T> {
    const machineId = machineOf(body);
    const about = { machineId, hostId: target.hostId, agentId: target.agentId };
    const quiet = QUIET.has(pattern);
    if (!quiet) this.eventLog.note({ ...about, kind: 'agent.command', message: `${pattern} sent to host ${target.hostName}`, data: { command: pattern } });
    const started = performance.now();
    try {
      const result = await exchange();
      if (!quiet) {
        this.eventLog.note({
          ...about,
          kind: 'agent.reply',
          message: `${pattern} on host ${target.hostName}: ok`,
          data: { command: pattern, ok: true, ms: Math.round(performance.now() - started) },
        });
      }
      return result;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const code = (error as { code?: unknown }).code;
      this.eventLog.note({
        ...about,
        kind: 'agent.reply',
        message: `${pattern} on host ${target.hostName} failed: ${message}`,
        data: { command: pattern, ok: false, ...(typeof code === 'string' ? { code } : {}), ms: Math.round(performance.now() - started) },
      });
      throw error;
    }
  }
}

function machineOf(body: unknown): string | null {
  const id = body && typeof body === 'object' ? (body as { machineId?: unknown }).machineId : undefined;
  return typeof id === 'string' ? id : null;
}
