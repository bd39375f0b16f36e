import { Inject, Injectable, Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CreateHostDto, Role } from '@virtuoso/contracts';
import { AccountsService } from '../accounts/accounts.service';
import { User } from '../accounts/user.entity';
import { AgentsService, agentCommand } from '../agents/agents.service';
import { AuthService } from '../auth/auth.service';
import { AuthUser } from '../common/auth.decorators';
import { Database } from '../common/database.service';
import { APP_CONFIG, AppConfig } from '../config';
import { HostsService } from '../providers/hosts.service';

export const DEMO_LOGINS: ReadonlyArray<{ handle: string; password: string; role: Role }> = [
  { handle: 'demo-provider', password: 'demo-provider-pw', role: 'provider' },
  { handle: 'demo-buyer', password: 'demo-buyer-pw', role: 'buyer' },
];

/** Where `npm start` runs the agents of the demo hosts (ports; the console port is another range). */
export const DEMO_AGENTS: ReadonlyArray<{ host: string; port: number; consolePort: number; dir: string }> = [
  { host: 'demo-host-1', port: 7101, consolePort: 7201, dir: 'h1' },
  { host: 'demo-host-2', port: 7102, consolePort: 7202, dir: 'h2' },
];
export const DEMO_AGENTS_FILE = 'demo-agents.json';
/** Unix socket paths under an agent's data dir must stay below 108 bytes. */
const MAX_AGENT_DATA_DIR = 49;

/** Report fig. 27-like prices; the second host sells a little cheaper. */
const demoHost = (name: string, agentPort: number, cheaper: boolean): CreateHostDto => ({
  name,
  processor: 'QEMU',
  speed: 10000,
  speedUnit: 1000,
  speedUnitPrice: cheaper ? '0.000008' : '0.00001',
  memory: 2048,
  memoryUnit: 4,
  memoryUnitPrice: cheaper ? '0.000008' : '0.00001',
  runningUnitAmount: 3600,
  storage: 100000,
  storageUnit: 100,
  storageUnitPrice: cheaper ? '0.008' : '0.01',
  storageAmount: 30,
  connectionSpeed: '1Gbps',
  agentHost: '127.0.0.1',
  agentPort,
});

/** A demo provider with two hosts and a demo buyer with a balance, on a first start only. */
@Injectable()
export class DemoSeedService {
  private readonly logger = new Logger('DemoSeed');

  constructor(
    private readonly db: Database,
    private readonly accounts: AccountsService,
    private readonly auth: AuthService,
    private readonly hosts: HostsService,
    private readonly agents: AgentsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Seeds when there are no users at all; returns whether it did. */
  async seedIfEmpty(): Promise<boolean> {
    if ((await this.accounts.count()) > 0) return false;
    const [provider, buyer] = await Promise.all(DEMO_LOGINS.map(async (login) => ({ ...login, hash: await this.auth.hashPassword(login.password) })));
    const created = await this.db.transaction(async (em) => {
      if ((await em.count(User)) > 0) return null;
      const providerUser = await this.accounts.create(
        em,
        { handle: provider.handle, email: 'provider@demo.invalid', passwordHash: provider.hash, role: 'provider' },
        '0',
      );
      await this.accounts.create(em, { handle: buyer.handle, email: 'buyer@demo.invalid', passwordHash: buyer.hash, role: 'buyer' }, '1000');
      return providerUser;
    });
    if (!created) return false;
    const owner: AuthUser = { id: created.id, handle: created.handle, role: created.role, sessionId: null, tokenId: null };
    await this.hosts.create(owner, demoHost('demo-host-1', 7101, false));
    await this.hosts.create(owner, demoHost('demo-host-2', 7102, true));
    this.logger.log('seeded the demo provider (2 hosts) and the demo buyer');
    return true;
  }

  /**
   * Writes <data>/demo-agents.json for `npm start`: for each demo host, the agent's data dir and
   * ports, and — while it has no agent — a fresh one-time join token bound to the host (so the
   * agent that joins with it becomes that host's agent) and the command that starts it.
   */
  async writeAgentTokens(): Promise<string | null> {
    const provider = await this.accounts.findByHandle(DEMO_LOGINS[0].handle);
    if (!provider) return null;
    const owner: AuthUser = { id: provider.id, handle: provider.handle, role: provider.role, sessionId: null, tokenId: null };
    const hosts = await this.hosts.listMine(owner);
    const frontend = this.agents.publicUrl();
    const entries = [];
    for (const demo of DEMO_AGENTS) {
      const host = hosts.find((h) => h.name === demo.host);
      if (!host) continue;
      const dataDir = agentDataDir(this.config.dataDir, demo.dir);
      const joined = host.agentId !== null;
      const token = joined
        ? null
        : await this.agents.createJoinToken(owner, { hostId: host.id }, frontend, { port: demo.port, consolePort: demo.consolePort, dataDir });
      entries.push({
        host: demo.host,
        hostId: host.id,
        joined,
        port: demo.port,
        consolePort: demo.consolePort,
        dataDir,
        token: token?.token ?? null,
        expiresAt: token?.expiresAt ?? null,
        command: agentCommand({ frontendUrl: frontend, token: token?.token ?? null, dataDir, port: demo.port, consolePort: demo.consolePort }),
      });
    }
    const file = join(this.config.dataDir, DEMO_AGENTS_FILE);
    mkdirSync(this.config.dataDir, { recursive: true });
    writeFileSync(file, JSON.stringify({ frontend, agents: entries }, null, 2) + '\n', { mode: 0o600 });
    const waiting = entries.filter((entry) => !entry.joined).map((entry) => entry.host);
    if (waiting.length) this.logger.log(`join tokens for ${waiting.join(', ')} in ${file}`);
    return file;
  }
}

/** <data>/agents/<dir> when short enough for the agent's unix sockets, else a per-data-dir folder under the temp dir. */
export function agentDataDir(dataDir: string, dir: string): string {
  const inside = join(dataDir, 'agents', dir);
  if (Buffer.byteLength(inside) <= MAX_AGENT_DATA_DIR) return inside;
  return join(tmpdir(), `virtuoso-${createHash('sha256').update(dataDir).digest('hex').slice(0, 8)}`, dir);
}
