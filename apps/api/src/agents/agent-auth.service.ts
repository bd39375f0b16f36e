import { Inject, Injectable, Logger } from '@nestjs/common';
import { Clock, WALL_CLOCK } from '../common/clock';
import { AGENT_HEADER, MAX_SKEW_MS, verify } from '@virtuoso/contracts';
import { EntityManager, LessThanOrEqual } from 'typeorm';
import { Database } from '../common/database.service';
import { ApiError } from '../common/errors';
import { Sql, exec, select } from '../common/sql';
import { Agent } from './agent.entity';
import { AgentNonce } from './agent-nonce.entity';
import { PruneSchedule } from '../common/housekeeping';
import { NonceGroup, NonceRow, nonceKey } from './nonce-group';

/** A signed message whose agent, signature and time were checked (AgentAuth.check), its nonce not yet recorded. */
export interface CheckedMessage {
  agent: Agent;
  body: unknown;
  channel: string;
  nonce: string;
  /** When it was received (ms since the epoch, wall clock). */
  now: number;
  from?: string;
}

/** Nonces longer than this are not what agents send (32 hex digits): refused as malformed. */
const MAX_NONCE_LENGTH = 64;

/**
 * Verifies what agents send: a SignedEnvelope on the exact channel (the path), signed with the
 * agent's own secret, fresh, never seen before. Anything else is refused with 401, logged, and
 * changes nothing. Seen nonces are kept in the database (agent_nonces) for twice the signing skew:
 * a message older than that fails the timestamp check anyway.
 */
@Injectable()
export class AgentAuth {
  private readonly logger = new Logger('AgentAuth');
  constructor(
    private readonly db: Database,
    @Inject(WALL_CLOCK) private readonly wallClock: Clock,
  ) {}

  /** An envelope sent as the request body (migration reports; downloads through verifyHeader), its nonce recorded at once. */
  async verifyBody(channel: string, envelope: unknown, from?: string): Promise<{ agent: Agent; body: unknown }> {
    const checked = await this.check(channel, envelope, from);
    await this.record(checked);
    return { agent: checked.agent, body: checked.body };
  }

  /**
   * An envelope's agent, signature and time, checked; its nonce is not recorded yet: `once` records
   * it in the transaction of what the message changes (a heartbeat is then one transaction, not two).
   */
  async check(channel: string, envelope: unknown, from?: string): Promise<CheckedMessage> {
    const agentId = (envelope as { agentId?: unknown } | null)?.agentId;
    const agent = typeof agentId === 'string' && agentId.length <= 64 ? await this.agentById(agentId) : null;
    if (!agent)
      throw this.refuse(channel, envelope && typeof envelope === 'object' && typeof agentId === 'string' ? 'unknown agent' : 'not a signed envelope', from);
    // verify() checks signature and time first; the nonce it hands over is recorded by once(), in the database.
    let nonce = '';
    const now = this.wallClock.now();
    const result = verify(agent.secret, channel, envelope, { remember: (seen) => ((nonce = seen), true) }, now);
    if (!result.ok) throw this.refuse(channel, result.reason, from, agent.id);
    if (nonce.length === 0 || nonce.length > MAX_NONCE_LENGTH) throw this.refuse(channel, 'malformed', from, agent.id);
    return { agent, body: result.body, channel, nonce, now, from };
  }

  /** `SELECT <every column of agents> … WHERE id = ?`, made once from the entity's metadata. */
  private agentQuery: string | null = null;

  /**
   * The agent row by a hand-written read: every signed message (a heartbeat every few seconds per
   * agent) reads it, and TypeORM's query building and entity hydration cost more CPU than the read
   * itself (docs/ARCHITECTURE.md §12). Its columns are text and integers: the raw row is the entity.
   */
  private async agentById(id: string): Promise<Agent | null> {
    const q = new Sql(this.db.manager);
    if (!this.agentQuery) {
      const columns = this.db.dataSource.getMetadata(Agent).columns.map((column) => `"${column.databaseName}" AS "${column.propertyName}"`);
      this.agentQuery = `SELECT ${columns.join(', ')} FROM "agents" WHERE "id" = `;
    }
    // Not kept prepared (select's `reuse`): heartbeats arriving together would queue behind each other.
    const [row] = await select<Agent>(this.db.manager, this.agentQuery + q.p(id), q.params);
    return row ?? null;
  }

  /** Nonces older than the window can never match a message that passes the time check. */
  private readonly pruneNonces = new PruneSchedule(MAX_SKEW_MS);

  /**
   * Runs `work` in one transaction with recording the message's nonce (pruning what left the
   * window now and then). A nonce this agent already sent inside the window fails the insert (the
   * primary key is (agentId, nonce)): the transaction rolls back, `work` changes nothing, and the
   * message is refused as replayed (401).
   */
  async once<T>(message: CheckedMessage, work: (em: EntityManager) => Promise<T>): Promise<T> {
    const { now } = message;
    try {
      return await this.db.transaction(async (em) => {
        if (this.pruneNonces.due(now)) await em.delete(AgentNonce, { at: LessThanOrEqual(now - 2 * MAX_SKEW_MS) });
        await this.insertNonce(em, message);
        return work(em);
      });
    } catch (error) {
      throw await this.replayedOr(message, error);
    }
  }

  /**
   * Records the message's nonce when nothing else goes with it (a steady heartbeat, a migration
   * report): the nonces that arrive together share one statement (NonceGroup), without BEGIN and
   * COMMIT around it. On SQLite, whose one connection takes transactions one at a time, that queue
   * is what capped a replica; on PostgreSQL it is a statement (a server process's work) per group
   * instead of per heartbeat.
   */
  async record(message: CheckedMessage): Promise<void> {
    const recorded = await this.nonceGroup.add({ agentId: message.agent.id, nonce: message.nonce, at: message.now });
    if (!recorded) throw this.refuse(message.channel, 'replayed', message.from, message.agent.id);
  }

  private readonly nonceGroup = new NonceGroup((rows) => this.insertNonces(rows));

  /**
   * A group's nonces as one INSERT, atomic by itself, without BEGIN and COMMIT (Database.alone: in
   * SQLite's queue): those already seen (by this replica or another) are skipped, the new ones
   * returned.
   */
  private async insertNonces(rows: NonceRow[]): Promise<ReadonlySet<string>> {
    const newest = Math.max(...rows.map((row) => row.at));
    if (this.pruneNonces.due(newest)) await this.db.alone((manager) => manager.delete(AgentNonce, { at: LessThanOrEqual(newest - 2 * MAX_SKEW_MS) }));
    const inserted = await this.db.alone((manager) => {
      const q = new Sql(manager);
      // WITH first: TypeORM's SQLite runner hands back rows only for statements not starting with INSERT.
      return select<{ agentId: string; nonce: string }>(
        manager,
        `WITH n AS ${q.values(
          rows.map((row) => [row.agentId, row.nonce, row.at]),
          3,
        )} INSERT INTO "agent_nonces" ("agentId", "nonce", "at") SELECT column1, column2, CAST(column3 AS bigint) FROM n WHERE true ` +
          'ON CONFLICT DO NOTHING RETURNING "agentId", "nonce"',
        q.params,
        true,
      );
    });
    return new Set(inserted.map(nonceKey));
  }

  /** Hand-written (see agentById): the nonce of a message whose changes go in the same transaction (once). */
  private async insertNonce(em: EntityManager, { agent, nonce, now }: CheckedMessage): Promise<void> {
    const q = new Sql(em);
    await exec(em, `INSERT INTO "agent_nonces" ("agentId", "nonce", "at") VALUES (${q.p(agent.id)}, ${q.p(nonce)}, ${q.p(now)})`, q.params);
  }

  /** Seen before (or inserted by another process at the same moment, PostgreSQL): a replay, refused; else the error itself. */
  private async replayedOr(message: CheckedMessage, error: unknown): Promise<unknown> {
    const { agent, nonce } = message;
    if (await this.db.manager.existsBy(AgentNonce, { agentId: agent.id, nonce })) return this.refuse(message.channel, 'replayed', message.from, agent.id);
    return error;
  }

  /** An envelope of `{ path }` in the AGENT_HEADER header (downloads); the path must be the channel. */
  async verifyHeader(channel: string, header: string | undefined, from?: string): Promise<Agent> {
    let envelope: unknown = null;
    try {
      envelope = header ? JSON.parse(Buffer.from(header, 'base64').toString('utf8')) : null;
    } catch {
      envelope = null;
    }
    if (!envelope) throw this.refuse(channel, `no signed ${AGENT_HEADER} header`, from);
    const { agent, body } = await this.verifyBody(channel, envelope, from);
    if ((body as { path?: unknown } | null)?.path !== channel) throw this.refuse(channel, 'signed for another path', from, agent.id);
    return agent;
  }

  private refuse(channel: string, reason: string, from?: string, agentId?: string): ApiError {
    this.logger.warn(`refused ${channel}${from ? ` from ${from}` : ''}${agentId ? ` (agent ${agentId})` : ''}: ${reason}`);
    return new ApiError(401, `agent message refused: ${reason}`);
  }
}
