import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { SESSION_SECURITY, TOKEN_SECURITY } from './common/api-docs';

const TAGS: Array<[string, string]> = [
  ['auth', 'Accounts, sessions and personal API tokens'],
  ['catalog', 'Standard configurations and preconfigured machines'],
  ['hosts', "A provider's physical machines"],
  ['market', 'The provider marketplace and searching it'],
  ['machines', "A buyer's virtual machines and their lifecycle"],
  ['console', 'Browser consoles of running machines (noVNC over a websocket) and keys'],
  ['media', "A buyer's install media (ISO images) for CD-ROM drives"],
  ['agents', 'Provider agents: join tokens, joins, heartbeats and downloads (the last three are called by agents, signed)'],
  ['account', 'Balances, what machines cost, top-ups and the ledger statement'],
  ['notifications', 'In-app notices (also sent by email)'],
  ['health', 'Liveness'],
];

const sortKeys = <T extends object>(record: T | undefined): T | undefined =>
  record && (Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) as T);

/**
 * The OpenAPI document of the running app's decorators. Deterministic: no timestamps, paths and
 * schemas in sorted order, operation ids are the controller method names.
 */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const builder = new DocumentBuilder()
    .setTitle('Virtuoso API')
    .setDescription(
      'A marketplace where providers sell raw virtual machines and buyers rent them. ' +
        'Sign in for a session cookie, or send a personal API token as `Authorization: Bearer vt_...`. ' +
        'Every error body is an ErrorDto.',
    )
    .setVersion('0.1.0')
    .addCookieAuth(
      'virtuoso_session',
      { type: 'apiKey', in: 'cookie', name: 'virtuoso_session', description: 'Session cookie set by sign-in.' },
      SESSION_SECURITY,
    )
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'Personal API token (vt_...), from POST /api/auth/tokens.' }, TOKEN_SECURITY);
  for (const [name, description] of TAGS) builder.addTag(name, description);
  const document = SwaggerModule.createDocument(app, builder.build(), { operationIdFactory: (_controller, method) => method });
  const { openapi, info, tags, servers, paths, components, ...rest } = document;
  return {
    openapi,
    info,
    tags,
    servers,
    paths: sortKeys(paths)!,
    components: components && { ...components, schemas: sortKeys(components.schemas), securitySchemes: sortKeys(components.securitySchemes) },
    ...rest,
  };
}
