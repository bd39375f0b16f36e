/** Facts about machines the machines context announces (through @nestjs/event-emitter) for the contexts above it. */

/** A stored machine was deleted on its host. Former hosts may still hold a cache of it (migration, docs/ARCHITECTURE.md §7). */
export class MachineDeleted {
  static readonly event = 'machines.machine-deleted';
  constructor(
    readonly machineId: string,
    /** The host it was deleted on (its agent got vm.delete already). */
    readonly hostId: string | null,
    readonly version: number,
  ) {}
}
