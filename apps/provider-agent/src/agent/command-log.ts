import { ConsoleLogger, Injectable, type CallHandler, type ExecutionContext, type LogLevel, type NestInterceptor } from '@nestjs/common';
import type { TcpContext } from '@nestjs/microservices';
import { AsyncLocalStorage } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { Observable, tap } from 'rxjs';
import { requestIdOf } from './command-auth';

/** The command being handled: its pattern and the API request that sent it (the envelope's requestId). */
export interface CommandScope {
  command: string;
  requestId?: string;
}

const scopes = new AsyncLocalStorage<CommandScope>();

/**
 * The agent's JSON log of command work (docs/ARCHITECTURE.md, Operating): one line per pino call
 * on stdout, each carrying the command and the API's request id while a command is handled, so a
 * user action can be followed from the API's log into the agent's.
 */
export const commandLog = pino({ base: { name: 'virtuoso-agent' }, mixin: () => ({ ...scopes.getStore() }) });

/**
 * The agent's Nest logger (every `new Logger(...)` line): Nest's console format, and while a
 * command is handled each line also names the command and the API's request id — the scope
 * CommandLogInterceptor runs the command in, carried by AsyncLocalStorage through everything the
 * command awaits — so all the agent logged for a user's action can be found by that id.
 */
export class CommandScopedLogger extends ConsoleLogger {
  protected override formatContext(context: string): string {
    const scope = scopes.getStore();
    const named = super.formatContext(context);
    if (!scope) return named;
    return `${named}[${scope.command}${scope.requestId ? ` requestId=${scope.requestId}` : ''}] `;
  }
}

/** Nest's log levels as pino's (the agent's --quiet tests log errors only). */
export function setCommandLogLevels(levels: LogLevel[]): void {
  commandLog.level = levels.includes('log') ? 'info' : levels.includes('warn') ? 'warn' : levels.includes('error') ? 'error' : 'silent';
}

/** Runs each command's handler in its scope, and logs when it came and how it ended. */
@Injectable()
export class CommandLogInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const tcp = context.switchToRpc().getContext<TcpContext>();
    const scope: CommandScope = { command: tcp.getPattern(), requestId: requestIdOf(tcp) };
    return new Observable((subscriber) =>
      scopes.run(scope, () => {
        const started = performance.now();
        commandLog.info('command received');
        const ms = () => Math.round(performance.now() - started);
        return next
          .handle()
          .pipe(
            tap({
              complete: () => commandLog.info({ ms: ms() }, 'command done'),
              error: (error: unknown) => commandLog.warn({ ms: ms(), error: error instanceof Error ? error.message : String(error) }, 'command failed'),
            }),
          )
          .subscribe(subscriber);
      }),
    );
  }
}
