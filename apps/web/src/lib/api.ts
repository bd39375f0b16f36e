// The one place the SPA talks to the API: the typed client generated from openapi.yaml, plus a
// helper that turns an openapi-fetch result into data or a thrown ApiRequestError (for react-query).
import { createApiClient, type ApiError, type Schemas } from '@virtuoso/api-client';

/**
 * `cache: 'no-store'`: react-query is the SPA's cache. The browser's HTTP cache must not answer for
 * the API: a machine's ETag is its (disk) version, which a start or stop does not change, so a
 * revalidated GET would come back 304 and the browser would show the machine's old state.
 */
export const api = createApiClient({ cache: 'no-store' });

export type User = Schemas['UserDto'];
export type Role = User['role'];
export type Configuration = Schemas['ConfigurationDto'];
export type Host = Schemas['HostDto'];
export type CreateHost = Schemas['CreateHostDto'];
export type UpdateHost = Schemas['UpdateHostDto'];
export type MarketHost = Schemas['MarketHostDto'];
export type NoOfferExplanation = Schemas['NoOfferExplanationDto'];
export type Session = Schemas['SessionDto'];
export type Machine = Schemas['MachineDto'];
export type MachineSpec = Schemas['MachineSpecDto'];
export type RegisterMachine = Schemas['RegisterMachineDto'];
export type UpdateMachine = Schemas['UpdateMachineDto'];
export type Offer = Schemas['OfferDto'];
export type ApiToken = Schemas['ApiTokenDto'];
export type CreatedApiToken = Schemas['CreatedApiTokenDto'];
/** A join token as polled (GET /api/agents/join-tokens/{id}); `CreatedJoinToken` carries the token and command once. */
export type JoinToken = Schemas['JoinTokenStatusDto'];
export type CreatedJoinToken = Schemas['JoinTokenDto'];
export type Media = Schemas['MediaDto'];
export type BuyerAccount = Schemas['BuyerAccountDto'];
export type BuyerMachineCost = Schemas['BuyerMachineCostDto'];
export type Debit = Schemas['DebitDto'];
export type ProviderAccount = Schemas['ProviderAccountDto'];
export type ProviderHostAccount = Schemas['ProviderHostAccountDto'];
export type ProviderMachine = Schemas['ProviderMachineDto'];
export type StatementEntry = Schemas['StatementEntryDto'];
export type StatementPage = Schemas['StatementPageDto'];
export type Notification = Schemas['NotificationDto'];
export type NotificationList = Schemas['NotificationListDto'];
export type PriceHistory = Schemas['PriceHistoryDto'];
export type ResourcePriceHistory = Schemas['ResourcePriceHistoryDto'];
export type MigrationOffer = Schemas['MigrationOfferDto'];
export type Migration = Schemas['MigrationDto'];
export type MigrationLogLine = Schemas['MigrationLogLineDto'];
export type StartMigration = Schemas['StartMigrationDto'];
export type SshKey = Schemas['SshKeyDto'];
export type MachineNetwork = Schemas['MachineNetworkDto'];
export type PrivateNetwork = Schemas['NetworkDto'];
export type NetworkMember = Schemas['NetworkMemberDto'];
/** A host's network facts as its agent reports them (port range, outbound policy...). */
export type HostNetwork = NonNullable<Host['network']>;

/** A 4xx/5xx answer of the API, carrying its ErrorDto body. */
export class ApiRequestError extends Error {
  readonly status: number;
  readonly body: ApiError;

  constructor(status: number, body: ApiError) {
    super(body.message);
    this.name = 'ApiRequestError';
    this.status = status;
    this.body = body;
  }

  /** Validation messages for one form field, if the server named it. */
  field(name: string): string[] | undefined {
    return this.body.fields?.[name];
  }
}

/** Builds an ErrorDto from whatever the server sent (a proxy's HTML page, an empty body...). */
export function toErrorDto(status: number, statusText: string, raw: unknown): ApiError {
  if (raw && typeof raw === 'object' && typeof (raw as { message?: unknown }).message === 'string') {
    const body = raw as ApiError;
    return { ...body, statusCode: body.statusCode ?? status, error: body.error ?? statusText };
  }
  if (raw && typeof raw === 'object' && Array.isArray((raw as { message?: unknown }).message)) {
    // Nest's default validation shape: { message: string[] }.
    const messages = (raw as { message: string[] }).message;
    return { statusCode: status, error: statusText, message: messages.join('; ') };
  }
  const text = typeof raw === 'string' && raw.trim() && raw.length < 300 ? raw.trim() : '';
  return {
    statusCode: status,
    error: statusText || 'Error',
    message: text || (status >= 500 ? 'The server failed to answer. Please try again.' : `Request failed (${status}).`),
  };
}

type Result<T> = { data?: T; error?: unknown; response: Response };

/** Awaits an openapi-fetch call; returns its data or throws an ApiRequestError. */
export async function call<T>(request: Promise<Result<T>>): Promise<T> {
  const { data, error, response } = await request;
  if (!response.ok) {
    throw new ApiRequestError(response.status, toErrorDto(response.status, response.statusText, error));
  }
  return data as T;
}

/**
 * The If-Match header that makes a machine command or edit apply only to the machine as the user
 * saw it: its `etag` (lifecycle version and edit revision). An answer without `etag` (an API
 * older than the field) falls back to the bare version, which the API compares alone.
 */
export function ifMatch(machine: Pick<Machine, 'etag' | 'version'>): { 'If-Match': string } {
  return { 'If-Match': machine.etag || `"${machine.version}"` };
}

/** A message for people from any thrown value. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiRequestError) return error.body.message;
  if (error instanceof TypeError) return 'Cannot reach the Virtuoso server. Check your connection and try again.';
  if (error instanceof Error) return error.message;
  return String(error);
}
export type LogEvent = Schemas['EventDto'];
export type MachineEvent = Schemas['MachineEventDto'];
export type EventList = Schemas['EventListDto'];
export type OperatorEvent = Schemas['OperatorEventDto'];
export type OperatorEventList = Schemas['OperatorEventListDto'];
