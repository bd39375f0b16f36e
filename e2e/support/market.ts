import { expect, type Page } from '@playwright/test';
import { createApiClient, type ApiClient, type Schemas } from '@virtuoso/api-client';
import { startAgent, type AgentOptions, type TestAgent } from './agent';

// What the browser tests set up through the API before the part they drive in the browser.

export type Credentials = { handle: string; email: string; password: string };

/** A session-cookie client for a new user (signup answers with the cookie). */
export async function signUpApi(baseURL: string, user: Credentials, role: 'buyer' | 'provider'): Promise<ApiClient> {
  const anonymous = createApiClient({ baseUrl: baseURL });
  const { response } = await anonymous.POST('/api/auth/signup', { body: { ...user, role } });
  expect(response.status).toBe(201);
  const cookie = response.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .find((c) => c.startsWith('virtuoso_session='));
  expect(cookie).toBeTruthy();
  return createApiClient({ baseUrl: baseURL, headers: { cookie: cookie! } });
}

/** The body of a host added by hand (no agent: offline), as the report's form makes one. */
export const handHost = (name: string) => ({
  name,
  processor: 'Pentium3',
  speed: 10000,
  speedUnit: 1000,
  speedUnitPrice: '0.00001',
  memory: 512,
  memoryUnit: 4,
  memoryUnitPrice: '0.00001',
  runningUnitAmount: 3600,
  storage: 100000,
  storageUnit: 100,
  storageUnitPrice: '0.01',
  storageAmount: 30,
  connectionSpeed: '1Gbps',
  agentHost: '127.0.0.1',
  agentPort: 8000,
});

export interface AgentHost {
  agent: TestAgent;
  host: Schemas['HostDto'];
}

/**
 * The provider's way in: a join token, a real agent started with it (joined within a minute), and
 * a host bound to that agent, its totals within what the agent measured. `runningUnitAmount` is the
 * host's running slice in seconds. The agent is stopped again if anything here fails.
 */
export async function addAgentHost(
  baseURL: string,
  providerApi: ApiClient,
  name: string,
  runningUnitAmount: number,
  agentOptions: AgentOptions = {},
): Promise<AgentHost> {
  const { data: token } = await providerApi.POST('/api/agents/join-tokens', { body: {} });
  expect(token?.command).toContain(token!.token);
  const agent = await startAgent(baseURL, token!.token, agentOptions);
  try {
    let joined: Schemas['JoinTokenStatusDto'] | undefined;
    await expect
      .poll(
        async () => {
          expect(agent.process.exitCode, `the agent exited:\n${agent.log()}`).toBeNull();
          joined = (await providerApi.GET('/api/agents/join-tokens/{id}', { params: { path: { id: token!.id } } })).data;
          return joined?.joined;
        },
        { timeout: 60_000, intervals: [500] },
      )
      .toBe(true);
    const { agentId, facts } = joined!.agent!;
    expect(facts.bogomips).toBeGreaterThan(0);
    const { data: host, error } = await providerApi.POST('/api/hosts', {
      body: {
        agentId,
        name,
        processor: 'QEMU TCG',
        speed: facts.bogomips,
        speedUnit: 100,
        speedUnitPrice: '0.00001',
        memory: Math.min(facts.memoryMb, 2048),
        memoryUnit: 4,
        memoryUnitPrice: '0.00001',
        runningUnitAmount,
        storage: Math.min(facts.freeDiskMb, 4096),
        storageUnit: 64,
        storageUnitPrice: '0.01',
        storageAmount: 30,
        connectionSpeed: '1Gbps',
      },
    });
    expect(error, JSON.stringify(error)).toBeUndefined();
    expect(host!.agentId).toBe(agentId);
    return { agent, host: host! };
  } catch (error) {
    await agent.stop();
    throw error;
  }
}

/** Best effort after a test: stop the buyer's machine if it runs (the agent leaves VMs running on SIGTERM by design). */
export async function stopIfRunning(buyerApi: ApiClient | null, machineId: string): Promise<void> {
  if (!buyerApi || !machineId) return;
  try {
    const { data } = await buyerApi.GET('/api/machines/{id}', { params: { path: { id: machineId } } });
    if (data?.state === 'running') {
      await buyerApi.POST('/api/machines/{id}/stop', { params: { path: { id: machineId } }, headers: { 'If-Match': `"${data.version}"` } });
    }
  } catch {
    // the agent's QEMU processes are killed when it is stopped anyway
  }
}

/** A session-cookie client for the user signed in in `page`'s browser (API calls beside the pages it drives). */
export async function browserApi(page: Page, baseURL: string): Promise<ApiClient> {
  const cookie = (await page.context().cookies()).find((c) => c.name === 'virtuoso_session');
  expect(cookie, 'a signed-in browser').toBeTruthy();
  return createApiClient({ baseUrl: baseURL, headers: { cookie: `virtuoso_session=${cookie!.value}` } });
}

/** Registers the catalog's preconfigured tiny-linux as `name`, asking prices any test host meets. */
export async function registerTinyLinux(buyerApi: ApiClient, name: string): Promise<Schemas['MachineDto']> {
  const { data: catalog } = await buyerApi.GET('/api/catalog');
  const tiny = catalog!.find((entry) => entry.name === 'tiny-linux')!;
  const { data, error } = await buyerApi.POST('/api/machines', {
    body: {
      name,
      configurationId: tiny.id,
      processor: tiny.processor,
      os: tiny.os,
      speed: tiny.speed,
      memory: tiny.memory,
      disk: tiny.disk,
      askedStoragePerMonth: '1000',
      askedRunningPerHour: '1000',
    },
  });
  expect(error, JSON.stringify(error)).toBeUndefined();
  return data!;
}
