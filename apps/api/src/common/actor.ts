import type { AuthUser } from './auth.decorators';

/**
 * The system itself acting on a machine (billing suspends a held buyer's running machine): no
 * user, no session, no role. It may act on any machine, through the same lifecycle as a buyer;
 * `reason` says why, for the logs.
 */
export interface SystemActor {
  readonly kind: 'system';
  readonly reason: string;
}

/** Who asks for a machine action: a signed-in user (only on their own machines) or the system. */
export type Actor = AuthUser | SystemActor;

export const systemActor = (reason: string): SystemActor => ({ kind: 'system', reason });

export const isSystemActor = (actor: Actor | Pick<AuthUser, 'id'>): actor is SystemActor => 'kind' in actor && actor.kind === 'system';
