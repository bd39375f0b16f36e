import { Injectable, type ArgumentMetadata, type PipeTransform } from '@nestjs/common';
import { AgentProtocol, checkAgentMessage, type AgentCommand } from '@virtuoso/contracts';
import { CommandError } from './errors';

/**
 * Checks a verified command body (@SignedBody(pattern)) against the request DTO the protocol
 * gives its pattern, and hands the handler the DTO (unknown fields dropped). A signed body comes
 * from the front-end, but a bug there must give a clear 'failed' reply naming the field, not a
 * TypeError deep in the driver.
 */
@Injectable()
export class CommandBodyPipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    if (metadata.type !== 'custom') return value;
    const pattern = metadata.data as AgentCommand;
    const spec = AgentProtocol[pattern];
    if (!spec) throw new CommandError('failed', `no request type is known for ${String(pattern)}`);
    const checked = checkAgentMessage(spec.request, value);
    if (!checked.ok) throw new CommandError('failed', `invalid ${pattern} command: ${checked.problems.join('; ')}`);
    return checked.value;
  }
}
