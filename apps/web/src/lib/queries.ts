// Every read of the API as a react-query hook; pages run mutations with useMutation and
// invalidate these keys on success.
import { QueryCache, QueryClient, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, ApiRequestError, call, type MachineSpec, type User } from './api';
import { statementQuery, type StatementFilters } from './billing';
import { rangeQuery, type RangeId } from './chart';
import { isTransient } from './machines';
import { isActiveMigration, MIGRATION_POLL_MS } from './migration';

export const keys = {
  me: ['me'] as const,
  catalog: ['catalog'] as const,
  machines: ['machines'] as const,
  machine: (id: string) => ['machines', id] as const,
  offers: (id: string) => ['machines', id, 'offers'] as const,
  migrationOffers: (id: string) => ['machines', id, 'migration-offers'] as const,
  migration: (id: string) => ['machines', id, 'migration'] as const,
  migrations: (id: string) => ['machines', id, 'migrations'] as const,
  search: (spec: MachineSpec) => ['market', 'search', spec] as const,
  offersExplanation: (id: string) => ['machines', id, 'offers', 'explain'] as const,
  searchExplanation: (spec: MachineSpec) => ['market', 'search', spec, 'explain'] as const,
  sessions: ['sessions'] as const,
  hosts: ['hosts'] as const,
  host: (id: string) => ['hosts', id] as const,
  marketHosts: ['market', 'hosts'] as const,
  tokens: ['tokens'] as const,
  media: ['media'] as const,
  joinToken: (id: string) => ['joinTokens', id] as const,
  buyerAccount: ['account', 'buyer'] as const,
  providerAccount: ['account', 'provider'] as const,
  statement: (filters: StatementFilters, offset: number, limit: number) => ['account', 'statement', filters, offset, limit] as const,
  notifications: ['notifications'] as const,
  priceHistory: (id: string, range: RangeId) => ['priceHistory', id, range] as const,
  marketHistory: (range: RangeId) => ['priceHistory', 'market', range] as const,
  sshKeys: ['account', 'ssh-keys'] as const,
  machineNetwork: (id: string) => ['machines', id, 'network'] as const,
  network: ['network'] as const,
  operatorOverview: ['operator', 'overview'] as const,
};

/** How often the account pages re-fetch their figures; the countdowns tick every second in between. */
export const ACCOUNT_POLL_MS = 3000;

export function createQueryClient(): QueryClient {
  const client: QueryClient = new QueryClient({
    queryCache: new QueryCache({
      onError: (error, query) => {
        // The session ended (expired, or signed out in another tab): forget who we were.
        if (error instanceof ApiRequestError && error.status === 401 && query.queryKey[0] !== 'me') {
          client.setQueryData(keys.me, null);
        }
      },
    }),
    defaultOptions: {
      queries: {
        staleTime: 10_000,
        retry: (failures, error) => !(error instanceof ApiRequestError && error.status < 500) && failures < 2,
      },
      mutations: { retry: false },
    },
  });
  return client;
}

/**
 * Another user signed in (or nobody): drop every cached answer of the previous user but keep the
 * `me` query object itself, so the components observing it see the new user at once.
 */
export async function resetSession(client: QueryClient, user: User | null): Promise<void> {
  await client.cancelQueries();
  client.removeQueries({ predicate: (query) => query.queryKey[0] !== keys.me[0] });
  client.setQueryData(keys.me, user);
}

/**
 * Sign out: ends this session on the server and forgets the user here, whatever the answer (a
 * session that already ended answers 401, and nobody is signed in either way).
 */
export function useSignOut() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => call(api.POST('/api/auth/signout')),
    onSettled: () => resetSession(client, null),
  });
}

/** The signed-in user, or null when nobody is signed in. */
export function useMe() {
  return useQuery({
    queryKey: keys.me,
    queryFn: async (): Promise<User | null> => {
      try {
        return await call(api.GET('/api/auth/me'));
      } catch (error) {
        if (error instanceof ApiRequestError && error.status === 401) return null;
        throw error;
      }
    },
    staleTime: 60_000,
  });
}

export function useCatalog() {
  return useQuery({ queryKey: keys.catalog, queryFn: () => call(api.GET('/api/catalog')) });
}

/** The buyer's machines; polls every 2 s while any is in a transient state. */
export function useMachines(enabled = true) {
  return useQuery({
    queryKey: keys.machines,
    queryFn: () => call(api.GET('/api/machines')),
    enabled,
    refetchInterval: (query) => (query.state.data?.some((m) => isTransient(m.state)) ? 2000 : false),
  });
}

/**
 * One machine; polls every 2 s while it is in a transient state, and every `pollMs` otherwise
 * when given (the console page watches for a guest that powers itself off).
 */
export function useMachine(id: string, pollMs?: number) {
  return useQuery({
    queryKey: keys.machine(id),
    queryFn: () => call(api.GET('/api/machines/{id}', { params: { path: { id } } })),
    refetchInterval: (query) => (query.state.data && isTransient(query.state.data.state) ? 2000 : (pollMs ?? false)),
    // A page that watches the machine starts from its current state, not a cached one.
    staleTime: pollMs ? 0 : undefined,
  });
}

export function useOffers(id: string, enabled: boolean) {
  return useQuery({
    queryKey: keys.offers(id),
    queryFn: () => call(api.GET('/api/machines/{id}/offers', { params: { path: { id } } })),
    enabled,
    staleTime: 0,
  });
}

/** Hosts the machine could move to (fig. 20), each QUERYed by the API for its methods (about 2 s). */
export function useMigrationOffers(id: string, enabled: boolean) {
  return useQuery({
    queryKey: keys.migrationOffers(id),
    queryFn: () => call(api.GET('/api/machines/{id}/migration-offers', { params: { path: { id } } })),
    enabled,
    staleTime: 0,
  });
}

/**
 * The machine's current or last migration, null when it was never migrated (404). Polled every
 * second while one is under way, and while `watch` (the machine is `migrating`: its migration may
 * not have been fetched yet).
 */
export function useMigration(id: string, enabled: boolean, watch = false) {
  return useQuery({
    queryKey: keys.migration(id),
    queryFn: async () => {
      try {
        return await call(api.GET('/api/machines/{id}/migration', { params: { path: { id } } }));
      } catch (error) {
        if (error instanceof ApiRequestError && error.status === 404) return null;
        throw error;
      }
    },
    enabled,
    staleTime: 0,
    refetchInterval: (query) => (watch || isActiveMigration(query.state.data?.phase) ? MIGRATION_POLL_MS : false),
  });
}

/** The machine's migrations, newest first. */
export function useMigrations(id: string, enabled: boolean) {
  return useQuery({
    queryKey: keys.migrations(id),
    queryFn: () => call(api.GET('/api/machines/{id}/migrations', { params: { path: { id } } })),
    enabled,
    staleTime: 0,
  });
}

export function useSearch(spec: MachineSpec, enabled: boolean) {
  return useQuery({
    queryKey: keys.search(spec),
    queryFn: () => call(api.POST('/api/market/search', { body: spec })),
    enabled,
    staleTime: 5_000,
  });
}

/** Why a registered machine has no offer (size, price, offline hosts); asked only when its search found none. */
export function useOffersExplanation(id: string, enabled: boolean) {
  return useQuery({
    queryKey: keys.offersExplanation(id),
    queryFn: () => call(api.GET('/api/machines/{id}/offers/explain', { params: { path: { id } } })),
    enabled,
    staleTime: 0,
  });
}

/** Why a configuration has no offer; asked only when its search found none. */
export function useSearchExplanation(spec: MachineSpec, enabled: boolean) {
  return useQuery({
    queryKey: keys.searchExplanation(spec),
    queryFn: () => call(api.POST('/api/market/search/explain', { body: spec })),
    enabled,
    staleTime: 5_000,
  });
}

/** My signed-in sessions (browsers), to revoke one left signed in elsewhere. */
export function useSessions() {
  return useQuery({ queryKey: keys.sessions, queryFn: () => call(api.GET('/api/auth/sessions')) });
}

/** The provider's hosts; refreshed every 10 s so Online / Offline follows the heartbeats. */
export function useHosts(enabled = true) {
  return useQuery({ queryKey: keys.hosts, queryFn: () => call(api.GET('/api/hosts')), enabled, refetchInterval: 10_000 });
}

export function useHost(id: string | null) {
  return useQuery({
    queryKey: keys.host(id ?? ''),
    queryFn: () => call(api.GET('/api/hosts/{id}', { params: { path: { id: id! } } })),
    enabled: !!id,
  });
}

export function useMarketHosts() {
  return useQuery({ queryKey: keys.marketHosts, queryFn: () => call(api.GET('/api/market/hosts')), refetchInterval: 10_000 });
}

/** The buyer's media library (ISO images). */
export function useMedia(enabled = true) {
  return useQuery({ queryKey: keys.media, queryFn: () => call(api.GET('/api/media')), enabled });
}

/** A join token, polled every 2 s until its agent has joined or it expired. */
export function useJoinToken(id: string | null) {
  return useQuery({
    queryKey: keys.joinToken(id ?? ''),
    queryFn: () => call(api.GET('/api/agents/join-tokens/{id}', { params: { path: { id: id! } } })),
    enabled: !!id,
    staleTime: 0,
    refetchInterval: (query) => {
      const token = query.state.data;
      if (!token) return 2000;
      if (token.joined) return false;
      return Date.parse(token.expiresAt) > Date.now() ? 2000 : false;
    },
  });
}

export function useTokens() {
  return useQuery({ queryKey: keys.tokens, queryFn: () => call(api.GET('/api/auth/tokens')) });
}

/**
 * The buyer's account page (report figs. 22, 23): balance, each machine's costs and next debits,
 * totals, low-balance standing. Polled every `pollMs` (the page) or less often (the banner).
 */
export function useBuyerAccount(enabled = true, pollMs: number = ACCOUNT_POLL_MS) {
  return useQuery({
    queryKey: keys.buyerAccount,
    queryFn: () => call(api.GET('/api/account/buyer')),
    enabled,
    refetchInterval: pollMs,
    staleTime: 0,
  });
}

/** The provider's account page (report figs. 30, 32). */
export function useProviderAccount(enabled = true) {
  return useQuery({
    queryKey: keys.providerAccount,
    queryFn: () => call(api.GET('/api/account/provider')),
    enabled,
    refetchInterval: ACCOUNT_POLL_MS,
    staleTime: 0,
  });
}

/** One page of the ledger statement, newest first. */
export function useStatement(filters: StatementFilters, offset: number, limit: number) {
  return useQuery({
    queryKey: keys.statement(filters, offset, limit),
    queryFn: () => call(api.GET('/api/account/statement', { params: { query: statementQuery(filters, { limit, offset }) } })),
    placeholderData: (previous) => previous,
    refetchInterval: 10_000,
  });
}

/** My notices and the unread count, for the header's bell (polled) and the notifications page. */
export function useNotifications(enabled = true) {
  return useQuery({
    queryKey: keys.notifications,
    queryFn: () => call(api.GET('/api/notifications', { params: { query: { limit: 100 } } })),
    enabled,
    refetchInterval: 15_000,
  });
}

/** A catalog configuration's market averages over a range ending now. */
export function usePriceHistory(id: string, range: RangeId, enabled = true) {
  return useQuery({
    queryKey: keys.priceHistory(id, range),
    queryFn: () => call(api.GET('/api/catalog/{id}/price-history', { params: { path: { id }, query: rangeQuery(range, Date.now()) } })),
    enabled,
    refetchInterval: 60_000,
    staleTime: 30_000,
  });
}

/** The whole market's mean resource prices over a range ending now. */
export function useMarketPriceHistory(range: RangeId) {
  return useQuery({
    queryKey: keys.marketHistory(range),
    queryFn: () => call(api.GET('/api/market/price-history', { params: { query: rangeQuery(range, Date.now()) } })),
    refetchInterval: 60_000,
    staleTime: 30_000,
  });
}

/** The buyer's public ssh keys (account page); they reach a machine's guest at its next start. */
export function useSshKeys(enabled = true) {
  return useQuery({ queryKey: keys.sshKeys, queryFn: () => call(api.GET('/api/account/ssh-keys')), enabled });
}

/**
 * A machine's network: private address, forwarded ports, the ssh command. Polled while the
 * machine changes state (`watch`), since the forwards come and go with its running.
 */
export function useMachineNetwork(id: string, watch = false) {
  return useQuery({
    queryKey: keys.machineNetwork(id),
    queryFn: () => call(api.GET('/api/machines/{id}/network', { params: { path: { id } } })),
    staleTime: 0,
    refetchInterval: watch ? 2000 : false,
  });
}

/** The buyer's private network (made on the first call): subnet, hub, members, device addresses. */
export function useNetwork(enabled = true) {
  return useQuery({ queryKey: keys.network, queryFn: () => call(api.GET('/api/network')), enabled, staleTime: 0 });
}
