import { applyDecorators } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiHeader, ApiParam, ApiResponse } from '@nestjs/swagger';
import { ErrorDto } from '@virtuoso/contracts';

export const SESSION_SECURITY = 'session';
export const TOKEN_SECURITY = 'token';

const DESCRIPTIONS: Record<number, string> = {
  400: 'Bad input: `message` is the first problem, `fields` names each field at fault. Nothing was changed.',
  401: 'Not signed in: send the session cookie or `Authorization: Bearer <token>`.',
  402: 'The balance does not cover the charge. Nothing was changed.',
  403: "The signed-in user's role may not do this.",
  404: 'No such resource among yours.',
  409: 'Conflicts with the current state; for a machine, `allowedActions` lists what its state allows.',
  412: 'If-Match names a version the machine is no longer at.',
  429: 'Too many attempts; retry after the number of seconds in the Retry-After header.',
  502: 'The provider host failed to carry out the action; the machine is back in its previous state.',
};

/** Documents the ErrorDto answers an operation can give; `[status, description]` overrides the usual wording. */
export function ApiErrors(...statuses: Array<number | [number, string]>) {
  return applyDecorators(
    ...statuses.map((entry) => {
      const [status, description] = typeof entry === 'number' ? [entry, DESCRIPTIONS[entry] ?? 'Error.'] : entry;
      return ApiResponse({ status, description, type: ErrorDto });
    }),
  );
}

/** The `:id` path parameter of one resource (read with IdParam: not a UUID → 400 naming it). */
export function ApiIdParam(what: string) {
  return ApiParam({ name: 'id', description: `The ${what} id.`, format: 'uuid', example: '2f1e0d9c-8b7a-4c65-9d4e-3f2a1b0c9d8e' });
}

/** A route that needs a signed-in user (cookie or bearer token). */
export function ApiSignedIn() {
  return applyDecorators(ApiCookieAuth(SESSION_SECURITY), ApiBearerAuth(TOKEN_SECURITY));
}

export function ApiIfMatch() {
  return ApiHeader({
    name: 'If-Match',
    required: false,
    description:
      'The machine\'s ETag you last saw (its `etag`, e.g. `"3.7"`: fails with 412 if it was edited or moved on since), or a bare version (`"3"`: compares the version only).',
    example: '"1.4"',
  });
}
