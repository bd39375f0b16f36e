// The typed client for the Virtuoso API. `schema.ts` is generated from openapi.yaml by
// `npm run openapi:generate` (never edit it by hand); the drift check fails when it is stale.
import createClient, { type Client, type ClientOptions } from 'openapi-fetch';
import type { components, paths } from './schema';

export type { components, paths } from './schema';
export type Schemas = components['schemas'];
export type ApiClient = Client<paths>;

/** A client that sends the session cookie (browser) or a bearer token (third parties, tests). */
export function createApiClient(options: ClientOptions & { token?: string } = {}): ApiClient {
  const { token, headers, ...rest } = options;
  return createClient<paths>({
    credentials: 'include',
    ...rest,
    headers: { ...(headers as Record<string, string> | undefined), ...(token ? { Authorization: `Bearer ${token}` } : {}) },
  });
}

/** The error body of every 4xx/5xx (ErrorDto). */
export type ApiError = Schemas['ErrorDto'];
