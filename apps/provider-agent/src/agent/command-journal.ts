import { Inject, Injectable, Optional, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import type { TcpContext } from '@nestjs/microservices';
import { AgentCommands } from '@virtuoso/contracts';
import { tap, type Observable } from 'rxjs';
import { verifiedBody } from './command-auth';
import type { EventQueue } from './event-queue';

export const JOURNAL = Symbol('Journal');

/** Asked over and over by the front-end's daemons: not journalled. */
const QUIET: ReadonlySet<string> = new Set([AgentCommands.facts, AgentCommands.list, AgentCommands.vnetSync, AgentCommands.migrationStatus]);

/**
 * Every verified command in the journal (event-queue.ts): received (name, machine) and done (ok,
 * or the error); a migration command's end is a migration step; a VMMP message carried by the
 * command or its reply is journalled in the report's text form (§7.2.1).
 */
@Injectable()
export class CommandJournalInterceptor implements NestInterceptor {
  constructor(@Optional() @Inject(JOURNAL) private readonly journal: EventQueue | null) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const tcp = context.switchToRpc().getContext<TcpContext>();
    const pattern = tcp.getPattern();
    const journal = this.journal;
    if (!journal || QUIET.has(pattern)) return next.handle();
    const body = verifiedBody(tcp) as { machineId?: unknown; vmmp?: unknown } | undefined;
    const machineId = typeof body?.machineId === 'string' ? body.machineId : undefined;
    journal.note('agent.command.received', `${pattern} received`, machineId, { command: pattern });
    if (typeof body?.vmmp === 'string') journal.note('vmmp', `received ${body.vmmp}`, machineId, { command: pattern });
    const started = Date.now();
    const doneKind = pattern.startsWith('migration.') ? 'migration.step' : 'agent.command.done';
    return next.handle().pipe(
      tap({
        next: (reply) => {
          const result = (reply as { result?: { vmmp?: unknown } } | undefined)?.result;
          if (typeof result?.vmmp === 'string') journal.note('vmmp', `sent ${result.vmmp}`, machineId, { command: pattern });
          journal.note(doneKind, `${pattern} done`, machineId, { command: pattern, ok: true, ms: Date.now() - started });
        },
        error: (error: unknown) => {
          const message = error instanceof Error ? error.message : String(error);
          journal.note(doneKind, `${pattern} failed: ${message}`, machineId, { command: pattern, ok: false, ms: Date.now() - started });
        },
      }),
    );
  }
}
