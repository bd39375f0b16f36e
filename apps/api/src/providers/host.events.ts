import type { AuthUser } from '../common/auth.decorators';
import type { NewEvent } from '../events/event-log.service';
import type { Host } from './host.entity';

/** Facts about hosts the providers context announces (through @nestjs/event-emitter) for the contexts above it. */

/** A host left the market (deleted by its provider, forced or not); its row is gone. Its agent, if any, must stop serving. */
export class HostDeleted {
  static readonly event = 'providers.host-deleted';
  constructor(
    readonly hostId: string,
    readonly hostName: string,
    readonly agentId: string | null,
  ) {}
}

const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;

/** The removal in the event log (its provider's host history and the operator's log). */
export const hostRemovedEvent = (provider: Pick<AuthUser, 'id' | 'handle'>, host: Pick<Host, 'id' | 'name'>, sentBack: number): NewEvent => ({
  kind: 'host.removed',
  message: `host ${host.name} removed by ${provider.handle}${sentBack ? `: ${plural(sentBack, 'machine')} sent back to registered` : ''}`,
  hostId: host.id,
  userId: provider.id,
  providerId: provider.id,
});
