import { SetMetadata, createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { Role } from '@virtuoso/contracts';
import type { Request } from 'express';

export const IS_PUBLIC = 'virtuoso:public';
export const ROLES = 'virtuoso:roles';

/** The signed-in user, attached to the request by the auth guard. */
export interface AuthUser {
  id: string;
  handle: string;
  role: Role;
  /** The session the request came with (cookie), or null for a bearer token. */
  sessionId: string | null;
  /** The API token the request came with, or null for a session. */
  tokenId: string | null;
}

export type AuthedRequest = Request & { user?: AuthUser };

/** Reachable without signing in. */
export const Public = () => SetMetadata(IS_PUBLIC, true);

/** Only users of these roles; others get 403 "this action is for buyers". */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES, roles);

export const CurrentUser = createParamDecorator((_data: unknown, context: ExecutionContext): AuthUser => {
  const user = context.switchToHttp().getRequest<AuthedRequest>().user;
  if (!user) throw new Error('CurrentUser used on a public route');
  return user;
});
