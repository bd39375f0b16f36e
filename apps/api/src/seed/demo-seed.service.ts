import { Injectable, Logger } from '@nestjs/common';
import type { CreateHostDto, Role } from '@virtuoso/contracts';
import { AccountsService } from '../accounts/accounts.service';
import { User } from '../accounts/user.entity';
import { AuthService } from '../auth/auth.service';
import { AuthUser } from '../common/auth.decorators';
import { Database } from '../common/database.service';
import { HostsService } from '../providers/hosts.service';

export const DEMO_LOGINS: ReadonlyArray<{ handle: string; password: string; role: Role }> = [
  { handle: 'demo-provider', password: 'demo-provider-pw', role: 'provider' },
  { handle: 'demo-buyer', password: 'demo-buyer-pw', role: 'buyer' },
];

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
  ) {}

  /** Seeds when there are no users at all; returns whether it did. */
  async seedIfEmpty(): Promise<boolean> {
    if ((await this.accounts.count()) > 0) return false;
    const [provider, buyer] = await Promise.all(DEMO_LOGINS.map(async (login) => ({ ...login, hash: await this.auth.hashPassword(login.password) })));
    const created = await this.db.transaction(async (em) => {
      if ((await em.count(User)) > 0) return null;
      const providerUser = await this.accounts.create(em, { handle: provider.handle, email: 'provider@demo.invalid', passwordHash: provider.hash, role: 'provider' }, '0');
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
}
