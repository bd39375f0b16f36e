/**
 * Something that changes what agents should hold of a buyer's private network happened (a machine
 * started, stopped, moved or went; a key was added or removed; an agent came online): the network
 * sync (NetworkSync) runs soon. Announced by contexts that must not depend on the network module.
 */
export class NetworkChanged {
  static readonly event = 'network.changed';
  constructor(
    /** The buyer whose network changed; null: anything may have (an agent came online). */
    readonly userId: string | null,
    readonly why: string,
  ) {}
}
