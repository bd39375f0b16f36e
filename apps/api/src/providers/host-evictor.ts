import type { AuthUser } from '../common/auth.decorators';
import type { Host } from './host.entity';

/**
 * Removing a host that still stores machines (report §6.1.1, deletemachineprovider.pl, done
 * better): the machines module does it — it moves machines, bills and notifies — and the
 * providers module, which it imports, finds it under HOST_EVICTOR when a provider forces it.
 */
export interface HostEvictor {
  /** Sends every machine on `host` back to `registered` (billing stops, owners told), deletes the host; returns how many machines it moved. */
  evict(provider: AuthUser, host: Host): Promise<number>;
}

export const HOST_EVICTOR = 'VirtuosoHostEvictor';
