import { LedgerEntry } from './accounts/ledger-entry.entity';
import { Agent } from './agents/agent.entity';
import { AgentNonce } from './agents/agent-nonce.entity';
import { JoinToken } from './agents/join-token.entity';
import { User } from './accounts/user.entity';
import { ApiToken } from './auth/api-token.entity';
import { Session } from './auth/session.entity';
import { SigninFailure } from './auth/signin-failure.entity';
import { BILLING_ENTITIES } from './billing/billing.module';
import { Configuration } from './catalog/configuration.entity';
import { CONSOLE_ENTITIES } from './console/console.entities';
import { IdempotencyKey } from './common/idempotency-key.entity';
import { EventRow } from './events/event.entity';
import { Machine } from './machines/machine.entity';
import { Media } from './media/media.entity';
import { MediaGrant } from './media/media-grant.entity';
import { NETWORK_ENTITIES } from './network/network.entities';
import { Migration } from './migrations/migration.entity';
import { PricePoint, ResourcePricePoint } from './market/price-point.entity';
import { Notification } from './notifications/notification.entity';
import { Host } from './providers/host.entity';

/** Every table, listed explicitly (no globbing): the same classes map to SQLite and PostgreSQL. */
export const ENTITIES = [
  User,
  LedgerEntry,
  Session,
  ApiToken,
  SigninFailure,
  Configuration,
  Host,
  Machine,
  Migration,
  Agent,
  AgentNonce,
  JoinToken,
  Media,
  MediaGrant,
  ...BILLING_ENTITIES,
  Notification,
  PricePoint,
  ResourcePricePoint,
  IdempotencyKey,
  ...NETWORK_ENTITIES,
  ...CONSOLE_ENTITIES,
  EventRow,
];
