import { Inject, Injectable, Logger } from '@nestjs/common';
import { Clock, WALL_CLOCK } from '../common/clock';
import { InjectRepository } from '@nestjs/typeorm';
import type { ApiTokenDto, CreatedApiTokenDto, SessionDto, SignInDto, SignUpDto, UserDto } from '@virtuoso/contracts';
import { passwordProblem } from '@virtuoso/domain';
import { dictionary } from '@zxcvbn-ts/language-common';
import * as bcrypt from 'bcryptjs';
import type { Request, Response } from 'express';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Repository } from 'typeorm';
import { AccountsService, emailKey, handleKey } from '../accounts/accounts.service';
import { User } from '../accounts/user.entity';
import { AuthUser } from '../common/auth.decorators';
import { Database } from '../common/database.service';
import { ApiError, badRequest, notFound } from '../common/errors';
import { assertUnderQuota } from '../common/quotas';
import { isoAfter, nowIso } from '../common/time';
import { APP_CONFIG, AppConfig } from '../config';
import { EventLog } from '../events/event-log.service';
import { ApiToken } from './api-token.entity';
import { Session } from './session.entity';
import { SigninLimiter } from './signin-limiter';

export const SESSION_COOKIE = 'virtuoso_session';
export const TOKEN_PREFIX = 'vt_';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** The ~49,000 most used passwords (zxcvbn-ts's list, lower-case), refused at sign-up. */
let commonPasswords: Set<string> | undefined;
const isCommonPassword = (lowerCased: string) => (commonPasswords ??= new Set(dictionary['passwords-common'])).has(lowerCased);

@Injectable()
export class AuthService {
  private readonly logger = new Logger('Auth');
  /** Compared against when the handle does not exist, so a wrong handle costs as long as a wrong password. */
  private readonly decoyHash: string;

  constructor(
    private readonly db: Database,
    private readonly accounts: AccountsService,
    private readonly limiter: SigninLimiter,
    @InjectRepository(Session) private readonly sessions: Repository<Session>,
    @InjectRepository(ApiToken) private readonly tokens: Repository<ApiToken>,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(WALL_CLOCK) private readonly wallClock: Clock,
    private readonly eventLog: EventLog,
  ) {
    this.decoyHash = bcrypt.hashSync('not a password of anyone', config.bcryptCost);
  }

  hashPassword(password: string): Promise<string> {
    return bcrypt.hash(password, this.config.bcryptCost);
  }

  async signUp(dto: SignUpDto, req: Request, res: Response): Promise<UserDto> {
    const weak = passwordProblem(dto.password, dto, isCommonPassword);
    if (weak) throw badRequest('password', weak);
    const passwordHash = await this.hashPassword(dto.password);
    const user = await this.db.transaction(async (em) => {
      if (await em.existsBy(User, { handleKey: handleKey(dto.handle) })) {
        throw new ApiError(409, `the handle ${dto.handle} is taken`, { fields: { handle: [`the handle ${dto.handle} is taken`] } });
      }
      if (await em.existsBy(User, { emailKey: emailKey(dto.email) })) {
        const message = 'an account with this email address exists already; sign in to it instead';
        throw new ApiError(409, message, { fields: { email: [message] } });
      }
      return this.accounts.create(em, { handle: dto.handle, email: dto.email, passwordHash, role: dto.role });
    });
    await this.startSession(user, req, res);
    return this.accounts.toDto(user);
  }

  async signIn(dto: SignInDto, req: Request, res: Response): Promise<UserDto> {
    const address = (req.ip ?? 'unknown').slice(0, 64);
    const key = handleKey(dto.handle);
    const refused = await this.limiter.retryAfter(address, key);
    if (refused) {
      const wait = refused.seconds;
      const message = {
        pair: `too many failed sign-ins for ${dto.handle}; try again in ${wait} s`,
        handle: `too many failed sign-ins for ${dto.handle} (from several addresses); try again in ${wait} s`,
        address: `too many failed sign-ins from your address; try again in ${wait} s`,
      }[refused.limit];
      throw new ApiError(429, message, {}, { 'Retry-After': String(wait) });
    }
    const user = await this.accounts.findByHandle(dto.handle);
    const matches = await bcrypt.compare(dto.password, user?.passwordHash ?? this.decoyHash);
    if (!user || !matches) {
      await this.limiter.fail(address, key);
      // The same words whether the handle exists or not: the answer and the account's own history
      // (where it goes when it does) tell nobody else which handles exist.
      const message = `failed sign-in as ${JSON.stringify(dto.handle.slice(0, 100))} from ${address}`;
      this.logger.warn(message);
      this.eventLog.note({ kind: 'account.sign-in-failed', message, userId: user?.id ?? null, data: { address } });
      throw new ApiError(401, 'handle or password is wrong');
    }
    await this.limiter.succeed(address, key);
    await this.startSession(user, req, res);
    this.eventLog.note({ kind: 'account.signed-in', message: `${user.handle} signed in from ${address}`, userId: user.id, data: { address } });
    return this.accounts.toDto(user);
  }

  async signOut(req: Request, res: Response): Promise<void> {
    await this.endSession(req);
    res.clearCookie(SESSION_COOKIE, this.cookieOptions());
  }

  async me(user: AuthUser): Promise<UserDto> {
    const row = await this.accounts.findById(user.id);
    if (!row) throw new ApiError(401, 'not signed in');
    return this.accounts.toDto(row);
  }

  /** Who sent the request: a session cookie, else a bearer token; null when neither is valid. */
  async authenticate(req: Request): Promise<AuthUser | null> {
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.header('authorization') ?? '')?.[1];
    if (bearer) return this.byToken(bearer);
    const cookie = (req.cookies as Record<string, string> | undefined)?.[SESSION_COOKIE];
    if (cookie) return this.bySession(cookie);
    return null;
  }

  async listTokens(user: AuthUser): Promise<ApiTokenDto[]> {
    const rows = await this.tokens.find({ where: { userId: user.id }, order: { createdAt: 'ASC', id: 'ASC' } });
    return rows.map((row) => this.tokenDto(row));
  }

  async createToken(user: AuthUser, name: string): Promise<CreatedApiTokenDto> {
    // A leaked token that could mint others would outlive its own revocation.
    if (user.tokenId) throw new ApiError(403, 'API tokens cannot create tokens: sign in with your password to make one');
    const token = TOKEN_PREFIX + randomBytes(24).toString('hex');
    const row: ApiToken = {
      id: randomUUID(),
      userId: user.id,
      name,
      prefix: token.slice(0, 7),
      tokenHash: sha256(token),
      createdAt: nowIso(this.wallClock),
      lastUsedAt: null,
    };
    await this.db.transaction(async (em) => {
      assertUnderQuota('apiTokens', await em.countBy(ApiToken, { userId: user.id }), this.config.quotas.apiTokens);
      await em.insert(ApiToken, row);
    });
    return { ...this.tokenDto(row), token };
  }

  async revokeToken(user: AuthUser, id: string): Promise<void> {
    const result = await this.db.transaction((em) => em.delete(ApiToken, { id, userId: user.id }));
    if (result.affected !== 1) throw notFound('token');
  }

  /** The user's unexpired browser sessions, oldest first; `current` marks the caller's own. */
  async listSessions(user: AuthUser): Promise<SessionDto[]> {
    const rows = await this.sessions.find({ where: { userId: user.id }, order: { createdAt: 'ASC', id: 'ASC' } });
    const now = nowIso(this.wallClock);
    return rows
      .filter((row) => row.expiresAt > now)
      .map((row) => ({
        id: row.id,
        createdAt: row.createdAt,
        lastUsedAt: row.lastUsedAt ?? row.createdAt,
        userAgent: row.userAgent,
        current: row.id === user.sessionId,
      }));
  }

  /** Ends one of the user's sessions at once (its cookie stops working); the caller's own is allowed too. */
  async revokeSession(user: AuthUser, id: string): Promise<void> {
    const result = await this.db.transaction((em) => em.delete(Session, { id, userId: user.id }));
    if (result.affected !== 1) throw notFound('session');
  }

  private async byToken(token: string): Promise<AuthUser | null> {
    if (!token.startsWith(TOKEN_PREFIX)) return null;
    const row = await this.tokens.findOneBy({ tokenHash: sha256(token) });
    if (!row) return null;
    const user = await this.accounts.findById(row.userId);
    if (!user) return null;
    // Recorded at most once a minute, so a busy script does not write on every call.
    const now = nowIso(this.wallClock);
    if (!row.lastUsedAt || Date.parse(now) - Date.parse(row.lastUsedAt) > 60_000) {
      await this.db.transaction((em) => em.update(ApiToken, { id: row.id }, { lastUsedAt: now }));
    }
    return { id: user.id, handle: user.handle, role: user.role, sessionId: null, tokenId: row.id };
  }

  private async bySession(token: string): Promise<AuthUser | null> {
    const session = await this.sessions.findOneBy({ tokenHash: sha256(token) });
    if (!session || session.expiresAt <= nowIso(this.wallClock)) return null;
    const user = await this.accounts.findById(session.userId);
    if (!user) return null;
    const now = nowIso(this.wallClock);
    if (Date.parse(now) - Date.parse(session.lastUsedAt ?? session.createdAt) > 60_000) {
      await this.db.transaction((em) => em.update(Session, { id: session.id }, { lastUsedAt: now }));
    }
    return { id: user.id, handle: user.handle, role: user.role, sessionId: session.id, tokenId: null };
  }

  /** Signing in or up replaces the browser's previous session (switch user, report §6.1.1). */
  private async startSession(user: User, req: Request, res: Response): Promise<void> {
    const token = randomBytes(32).toString('base64url');
    const now = this.wallClock.now();
    await this.endSession(req);
    await this.db.transaction(async (em) => {
      // Expired sessions of this user go with the new one.
      await em
        .createQueryBuilder()
        .delete()
        .from(Session)
        .where('userId = :userId AND expiresAt <= :now', { userId: user.id, now: nowIso(this.wallClock) })
        .execute();
      await em.insert(Session, {
        id: randomUUID(),
        tokenHash: sha256(token),
        userId: user.id,
        createdAt: new Date(now).toISOString(),
        expiresAt: isoAfter(this.config.sessionTtlHours * 3600, now),
        lastUsedAt: null,
        userAgent: req.header('user-agent')?.slice(0, 200) ?? null,
      });
    });
    res.cookie(SESSION_COOKIE, token, { ...this.cookieOptions(), maxAge: this.config.sessionTtlHours * 3600 * 1000 });
  }

  private async endSession(req: Request): Promise<void> {
    const cookie = (req.cookies as Record<string, string> | undefined)?.[SESSION_COOKIE];
    if (cookie) await this.db.transaction((em) => em.delete(Session, { tokenHash: sha256(cookie) }));
  }

  private cookieOptions() {
    return { httpOnly: true, sameSite: 'lax' as const, secure: this.config.cookieSecure, path: '/' };
  }

  private tokenDto(row: ApiToken): ApiTokenDto {
    return { id: row.id, name: row.name, prefix: row.prefix, createdAt: row.createdAt, lastUsedAt: row.lastUsedAt };
  }
}
