import { Param, ParseUUIDPipe } from '@nestjs/common';
import { badRequest } from './errors';

/**
 * A path id (machines, hosts, media, join tokens, API tokens, sessions, notifications, catalog
 * entries): every one is a UUID, so anything else is a 400 naming the parameter before a handler
 * runs. A well-formed id of nothing, or of another user's resource, still gets the handler's 404.
 */
export const IdParam = (name = 'id'): ParameterDecorator =>
  Param(name, new ParseUUIDPipe({ exceptionFactory: () => badRequest(name, `${name} must be a UUID`) }));
