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
