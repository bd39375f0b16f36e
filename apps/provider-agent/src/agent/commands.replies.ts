import {
  Catch,
  Injectable,
  Logger,
  type ArgumentsHost,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
  type RpcExceptionFilter,
} from '@nestjs/common';
import type { TcpContext } from '@nestjs/microservices';
import type { AgentFailure, AgentReply } from '@virtuoso/contracts';
import { map, of, type Observable } from 'rxjs';
import { CommandRefusedError } from './command-auth';
import { CommandError, toFailure } from './errors';

/** A handler's result becomes the successful AgentReply `{ ok: true, result }`. */
@Injectable()
export class AgentReplyInterceptor implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler): Observable<AgentReply> {
    return next.handle().pipe(map((result: unknown) => ({ ok: true as const, result })));
  }
}

/**
 * Whatever stops a command (the guard's refusal, the pipe's invalid body, the driver's error)
 * becomes the failed AgentReply `{ ok: false, code, error }`, sent as the answer: an exception
 * would reach the front-end's ClientTCP as an error without the code.
 */
@Catch()
export class AgentReplyFilter implements RpcExceptionFilter<unknown> {
  private readonly log = new Logger('Commands');

  catch(exception: unknown, host: ArgumentsHost): Observable<AgentFailure> {
    const failure = toFailure(exception);
    if (!(exception instanceof CommandRefusedError)) {
      let pattern = 'command';
      try {
        pattern = host.switchToRpc().getContext<TcpContext>().getPattern();
      } catch {
        /* no TCP context */
      }
      const level = failure.code === 'failed' && !(exception instanceof CommandError) ? 'error' : 'warn';
      this.log[level](`${pattern} → ${failure.code}: ${failure.error}`);
    }
    return of(failure);
  }
}
