import { Inject, Injectable, Logger, StreamableFile } from '@nestjs/common';
import { Clock, WALL_CLOCK } from '../common/clock';
import { InjectRepository } from '@nestjs/typeorm';
import { hasControlCharacter, noControlCharactersMessage, type MediaDto, type UploadMediaDto } from '@virtuoso/contracts';
import type { MachineState } from '@virtuoso/domain';
import { randomUUID } from 'node:crypto';
import { createReadStream, mkdirSync, openSync, readSync, closeSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { In, LessThan, MoreThanOrEqual, Not, Repository } from 'typeorm';
import { AgentAuth } from '../agents/agent-auth.service';
import { hashFile } from '../agents/image-store.service';
import { AuthUser } from '../common/auth.decorators';
import { Database } from '../common/database.service';
import { ApiError, badRequest, conflict, notFound } from '../common/errors';
import { assertMediaUnderQuota } from '../common/quotas';
import { nowIso } from '../common/time';
import { APP_CONFIG, AppConfig } from '../config';
import { Machine } from '../machines/machine.entity';
import { Host } from '../providers/host.entity';
import type { UploadedFile } from './iso-upload.interceptor';
import { Media } from './media.entity';
import { MediaGrant } from './media-grant.entity';

/** ISO 9660: the primary volume descriptor at sector 16 (0x8000) starts with type 1 and "CD001". */
const ISO_MAGIC_OFFSET = 0x8001;
const ISO_MAGIC = 'CD001';
/** Longest an attach's grant counts: well past the agent command timeout (a grant a dead replica left behind ends). */
const MEDIA_GRANT_TTL_MS = 10 * 60_000;

/**
 * A buyer's library of install media (the report's future work, §5.1.4: a buyer installs an OS
 * on a blank machine). Files live at <data>/media/<id>.iso with their sha256; agents download the
 * ones attached to machines on their host (GET /api/agents/media/:id, signed).
 */
@Injectable()
export class MediaService {
  private readonly logger = new Logger('Media');
  constructor(
    private readonly db: Database,
    private readonly auth: AgentAuth,
    @InjectRepository(Media) private readonly media: Repository<Media>,
    @InjectRepository(MediaGrant) private readonly grants: Repository<MediaGrant>,
    @InjectRepository(Machine) private readonly machines: Repository<Machine>,
    @InjectRepository(Host) private readonly hosts: Repository<Host>,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(WALL_CLOCK) private readonly wallClock: Clock,
  ) {}

  private get dir(): string {
    return join(this.config.dataDir, 'media');
  }

  pathOf(id: string): string {
    return join(this.dir, `${id}.iso`);
  }

  async list(user: AuthUser): Promise<MediaDto[]> {
    const rows = await this.media.find({ where: { ownerId: user.id }, order: { createdAt: 'ASC', id: 'ASC' } });
    return this.toDtos(rows);
  }

  async upload(user: AuthUser, file: UploadedFile | undefined, dto: UploadMediaDto): Promise<MediaDto> {
    if (!file) throw new ApiError(400, 'file is required: send the ISO image in the multipart field "file"', { fields: { file: ['file is required'] } });
    try {
      if (!hasIsoMagic(file.path)) {
        throw new ApiError(400, 'not an ISO image (no ISO 9660 volume descriptor "CD001" at offset 0x8001)', { fields: { file: ['not an ISO image'] } });
      }
      const name = (dto.name ?? basename(file.originalname || 'install.iso')).slice(0, 120) || 'install.iso';
      // The file's own name stands in for a name left out, so it obeys the same rule (DTO checked the rest).
      if (hasControlCharacter(name)) throw badRequest('name', noControlCharactersMessage("name (the file's name when left out)"));
      const row: Media = {
        id: randomUUID(),
        ownerId: user.id,
        name,
        size: statSync(file.path).size,
        sha256: await hashFile(file.path),
        createdAt: nowIso(this.wallClock),
      };
      mkdirSync(this.dir, { recursive: true });
      renameSync(file.path, this.pathOf(row.id));
      try {
        await this.db.transaction(async (em) => {
          const used = await em.sum(Media, 'size', { ownerId: user.id });
          assertMediaUnderQuota(Number(used ?? 0), row.size, this.config.quotas.mediaBytes);
          await em.insert(Media, row);
        });
      } catch (error) {
        rmSync(this.pathOf(row.id), { force: true });
        throw error;
      }
      this.logger.log(`${user.handle} uploaded ${name} (${row.size} bytes, sha256 ${row.sha256.slice(0, 12)}…) as ${row.id}`);
      return (await this.toDtos([row]))[0];
    } finally {
      rmSync(file.path, { force: true });
    }
  }

  /** Deletes an ISO of the library; refused (409) while a machine has it in its drive. */
  async remove(user: AuthUser, id: string): Promise<void> {
    const row = await this.own(user, id);
    await this.db.transaction(async (em) => {
      const using = await em.find(Machine, { where: { mediaId: row.id, state: Not<MachineState>('deleted') }, order: { name: 'ASC' } });
      if (using.length) throw conflict(`${row.name} is in the CD-ROM drive of ${using.map((m) => m.name).join(', ')}; eject it first`);
      await em.delete(Media, { id: row.id });
    });
    rmSync(this.pathOf(row.id), { force: true });
  }

  async own(user: AuthUser, id: string): Promise<Media> {
    const row = await this.media.findOneBy({ id, ownerId: user.id });
    if (!row) throw notFound('media');
    return row;
  }

  async namesOf(ids: string[]): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    return new Map((await this.media.findBy({ id: In(ids) })).map((row) => [row.id, row.name]));
  }

  /**
   * While an attach runs, the agent may download the medium before the machine row names it (on any
   * replica: the grant is a row). Returns what ends the grant.
   */
  async grant(agentId: string, mediaId: string): Promise<() => Promise<void>> {
    const now = this.wallClock.now();
    await this.grants.delete({ grantedAt: LessThan(now - MEDIA_GRANT_TTL_MS) });
    const id = randomUUID();
    await this.grants.insert({ id, agentId, mediaId, grantedAt: now });
    return async () => {
      await this.grants.delete({ id });
    };
  }

  /** Whether an attach in progress (on any replica) lets the agent download the medium. */
  async granted(agentId: string, mediaId: string): Promise<boolean> {
    return this.grants.existsBy({ agentId, mediaId, grantedAt: MoreThanOrEqual(this.wallClock.now() - MEDIA_GRANT_TTL_MS) });
  }

  /** GET /api/agents/media/:id: a signed agent, and only media attached to a machine on its host. */
  async download(id: string, header: string | undefined, from?: string): Promise<StreamableFile> {
    const agent = await this.auth.verifyHeader(`/api/agents/media/${id}`, header, from);
    const row = await this.media.findOneBy({ id });
    let allowed = !!row && (await this.granted(agent.id, id));
    if (row && !allowed) {
      const host = await this.hosts.findOneBy({ agentId: agent.id });
      allowed = !!host && (await this.machines.existsBy({ mediaId: id, hostId: host.id, state: Not<MachineState>('deleted') }));
    }
    if (!row || !allowed) {
      this.logger.warn(`agent ${agent.id} asked for media ${id}, which no machine of its host has attached`);
      throw notFound('media');
    }
    return new StreamableFile(createReadStream(this.pathOf(row.id)), { type: 'application/octet-stream', length: row.size });
  }

  private async toDtos(rows: Media[]): Promise<MediaDto[]> {
    const ids = rows.map((row) => row.id);
    const using = ids.length ? await this.machines.find({ where: { mediaId: In(ids), state: Not<MachineState>('deleted') }, order: { name: 'ASC' } }) : [];
    return rows.map((row) => ({
      id: row.id,
      name: row.name,
      size: row.size,
      sha256: row.sha256,
      attachedTo: using.filter((machine) => machine.mediaId === row.id).map((machine) => ({ id: machine.id, name: machine.name })),
      createdAt: row.createdAt,
    }));
  }
}

function hasIsoMagic(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(ISO_MAGIC.length);
    return readSync(fd, buffer, 0, buffer.length, ISO_MAGIC_OFFSET) === buffer.length && buffer.toString('latin1') === ISO_MAGIC;
  } finally {
    closeSync(fd);
  }
}
