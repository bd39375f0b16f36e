import { Inject, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { CreateSshKeyDto, SshKeyDto } from '@virtuoso/contracts';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { randomUUID } from 'node:crypto';
import { Repository } from 'typeorm';
import { AuthUser } from '../common/auth.decorators';
import { Clock, WALL_CLOCK } from '../common/clock';
import { Database } from '../common/database.service';
import { ApiError, badRequest, notFound } from '../common/errors';
import { nowIso } from '../common/time';
import { APP_CONFIG, AppConfig } from '../config';
import { NetworkChanged } from './network.events';
import { parseSshPublicKey } from './ssh-key-format';
import { SshKey } from './ssh-key.entity';

const toDto = (key: SshKey): SshKeyDto => ({
  id: key.id,
  name: key.name,
  publicKey: key.publicKey,
  type: key.type,
  fingerprint: key.fingerprint,
  createdAt: key.createdAt,
});

/**
 * The buyer's public ssh keys (account page): put in their machines at every start and resume,
 * and admitted by their private network's hub for their own computers. A change re-syncs the hub.
 */
@Injectable()
export class SshKeysService {
  constructor(
    private readonly db: Database,
    @InjectRepository(SshKey) private readonly keys: Repository<SshKey>,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(WALL_CLOCK) private readonly wallClock: Clock,
    private readonly events: EventEmitter2,
  ) {}

  async list(user: Pick<AuthUser, 'id'>): Promise<SshKeyDto[]> {
    return (await this.keys.find({ where: { userId: user.id }, order: { createdAt: 'ASC', id: 'ASC' } })).map(toDto);
  }

  /** The public key lines of a user's keys, oldest first (what guests and the hub get). */
  async publicKeysOf(userId: string): Promise<Array<{ id: string; publicKey: string }>> {
    return this.keys.find({ select: { id: true, publicKey: true }, where: { userId }, order: { createdAt: 'ASC', id: 'ASC' } });
  }

  async add(user: AuthUser, dto: CreateSshKeyDto): Promise<SshKeyDto> {
    const parsed = parseSshPublicKey(dto.publicKey);
    if ('problem' in parsed) throw badRequest('publicKey', parsed.problem);
    const row: SshKey = {
      id: randomUUID(),
      userId: user.id,
      name: dto.name,
      publicKey: dto.publicKey,
      type: parsed.type,
      fingerprint: parsed.fingerprint,
      createdAt: nowIso(this.wallClock),
    };
    await this.db.transaction(async (em) => {
      const mine = await em.findBy(SshKey, { userId: user.id });
      const same = mine.find((key) => key.fingerprint === parsed.fingerprint);
      if (same)
        throw new ApiError(409, `this key is already on your account as "${same.name}" (${parsed.fingerprint})`, {
          fields: { publicKey: ['publicKey is already on your account'] },
        });
      if (mine.length >= this.config.sshKeysPerUser) {
        throw new ApiError(409, `quota sshKeys reached: a user may have at most ${this.config.sshKeysPerUser} ssh keys; remove one first`);
      }
      await em.insert(SshKey, row);
    });
    this.events.emit(NetworkChanged.event, new NetworkChanged(user.id, 'ssh key added'));
    return toDto(row);
  }

  async remove(user: AuthUser, id: string): Promise<void> {
    const removed = await this.db.transaction((em) => em.delete(SshKey, { id, userId: user.id }));
    if (!removed.affected) throw notFound('ssh key');
    this.events.emit(NetworkChanged.event, new NetworkChanged(user.id, 'ssh key removed'));
  }
}
