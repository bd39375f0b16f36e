import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Role } from '@virtuoso/contracts';
import { AuthedRequest, IS_PUBLIC, ROLES } from '../common/auth.decorators';
import { ApiError } from '../common/errors';
import { AuthService } from './auth.service';

const ROLE_NAMES: Record<Role, string> = { buyer: 'buyers', provider: 'providers', operator: 'operators' };

/**
 * Global: every route needs a signed-in user unless marked @Public(); @Roles() then narrows it.
 * Runs before validation, so an anonymous caller learns nothing about a route's input.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly auth: AuthService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    const request = context.switchToHttp().getRequest<AuthedRequest>();
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets);
    if (isPublic) return true;
    const user = await this.auth.authenticate(request);
    if (!user) throw new ApiError(401, 'sign in first: no valid session cookie or API token');
    request.user = user;
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES, targets);
    if (roles && !roles.includes(user.role)) {
      throw new ApiError(403, `this action is for ${roles.map((role) => ROLE_NAMES[role]).join(' or ')}`);
    }
    return true;
  }
}
