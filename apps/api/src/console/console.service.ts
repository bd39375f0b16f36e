import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Clock, WALL_CLOCK } from '../common/clock';
import { HttpAdapterHost } from '@nestjs/core';
import { CONSOLE_CLOSE, ConsoleSessionDto } from '@virtuoso/contracts';
import type { Request } from 'express';
import type { IncomingMessage, Server } from 'node:http';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import { InjectRepository } from '@nestjs/typeorm';
import { IsNull, LessThan, Repository } from 'typeorm';
import { WebSocket, WebSocketServer, createWebSocketStream } from 'ws';
import { AuthService } from '../auth/auth.service';
import { AuthUser } from '../common/auth.decorators';
import { ApiError } from '../common/errors';
import { Leadership } from '../common/leadership';
import { isOwnOrigin } from '../common/request-origin';
import { APP_CONFIG, AppConfig } from '../config';
import { MachinesService } from '../machines/machines.service';
import { AgentTarget, HOST_AGENT_GATEWAY, HostAgentGateway, unreachable } from '../machines/host-agent.gateway';
import { ConsoleTicket, ConsoleViewer } from './console.entities';

export const CONSOLE_WS_PATH = '/api/console/ws';

/**
 * Consoles in the browser (report §6.1.8 and fig. 15–18, without the VNC password): the SPA asks
 * for a one-time token bound to user and machine (30 s), opens a websocket to the API with it, and
 * the API relays RFB to the agent's console port — which relays to QEMU's VNC unix socket. The
 * token is checked with the session cookie (or bearer token) of the upgrade request; an unknown,
 * expired, reused or foreign token, or a machine that is not running, gets the websocket closed
 * with a reason and no RFB byte. A new viewer of a machine replaces the old one.
 *
 * Several replicas (docs/ARCHITECTURE.md §12): tickets live in the database (console_tickets), so
 * any replica admits a ticket another issued; the current viewer of each machine is recorded in
 * console_viewers before the agent is given the ticket. The agent drops its previous viewer's
 * connection when a new one arrives, so the replica relaying the old viewer learns of it at once
 * (its agent socket closes) and, finding another viewer recorded, closes it with "replaced".
 */
@Injectable()
export class ConsoleService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Console');
  private readonly viewers = new Map<string, WebSocket>();
  private readonly wss = new WebSocketServer({
    noServer: true,
    // noVNC asks for 'binary'; a client that asks for nothing gets no subprotocol.
    handleProtocols: (protocols) => (protocols.has('binary') ? 'binary' : false),
    maxPayload: 16 * 1024 * 1024,
  });
  private server?: Server;
  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head);

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly auth: AuthService,
    private readonly machines: MachinesService,
    @Inject(HOST_AGENT_GATEWAY) private readonly gateway: HostAgentGateway,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(WALL_CLOCK) private readonly wallClock: Clock,
    private readonly leadership: Leadership,
    @InjectRepository(ConsoleTicket) private readonly tickets: Repository<ConsoleTicket>,
    @InjectRepository(ConsoleViewer) private readonly viewerRows: Repository<ConsoleViewer>,
  ) {}

  onApplicationBootstrap(): void {
    this.server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    this.server?.on('upgrade', this.onUpgrade);
  }

  onApplicationShutdown(): void {
    this.server?.off('upgrade', this.onUpgrade);
    for (const ws of this.viewers.values()) ws.terminate();
    this.viewers.clear();
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
  }

  /** POST /api/machines/:id/console: a one-time token for the buyer's running machine. */
  async createSession(user: AuthUser, machineId: string): Promise<ConsoleSessionDto> {
    const { machine } = await this.machines.consoleTarget(user, machineId);
    const now = this.wallClock.now();
    // Tickets a minute past their expiry go (a late presentation still reads "expired", not "unknown").
    await this.tickets.delete({ expiresAt: LessThan(now - 60_000) });
    const token = randomBytes(32).toString('base64url');
    const expiresAt = now + this.config.consoleTokenTtlMs;
    await this.tickets.insert({ tokenHash: hashOf(token), userId: user.id, machineId: machine.id, expiresAt, usedAt: null });
    return { token, path: `${CONSOLE_WS_PATH}?token=${token}`, expiresAt: new Date(expiresAt).toISOString() };
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== CONSOLE_WS_PATH) {
      // Other /api paths have no websocket; anything else is left to other listeners (e.g. a dev server).
      if (url.pathname.startsWith('/api/')) socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    socket.on('error', () => undefined);
    // Browsers send Origin on every websocket; another site's page must not ride the user's cookie (refused before any byte).
    const origin = req.headers.origin;
    if (origin !== undefined && !isOwnOrigin(origin, req.headers, this.config.publicUrl)) {
      this.logger.warn(`console websocket from ${req.socket.remoteAddress ?? '?'} refused: origin ${origin}`);
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const token = url.searchParams.get('token') ?? '';
    void this.userOf(req)
      .catch(() => null)
      .then((user) => this.wss.handleUpgrade(req, socket, head, (ws) => void this.admit(ws, user, token, req.socket.remoteAddress)));
  }

  /** The session cookie or bearer token of the upgrade request, as the HTTP guard reads them. */
  private async userOf(req: IncomingMessage): Promise<AuthUser | null> {
    const cookies: Record<string, string> = {};
    for (const part of (req.headers.cookie ?? '').split(';')) {
      const eq = part.indexOf('=');
      if (eq > 0) {
        try {
          cookies[part.slice(0, eq).trim()] = decodeURIComponent(part.slice(eq + 1).trim());
        } catch {
          /* a malformed cookie is no cookie */
        }
      }
    }
    const shim = { cookies, header: (name: string) => req.headers[name.toLowerCase()] as string | undefined } as unknown as Request;
    return this.auth.authenticate(shim);
  }

  private async admit(ws: WebSocket, user: AuthUser | null, token: string, peer?: string): Promise<void> {
    const close = (code: number, reason: string) => {
      this.logger.warn(`console websocket from ${peer ?? '?'} closed: ${reason}`);
      ws.close(code, reason);
    };
    if (!user) return close(CONSOLE_CLOSE.notSignedIn, 'sign in first: no valid session cookie or API token');
    const tokenHash = hashOf(token);
    const entry = await this.tickets.findOneBy({ tokenHash });
    if (!entry) return close(CONSOLE_CLOSE.unknownToken, 'unknown console token');
    // Another user's presentation does not use the token up: it stays its owner's.
    if (entry.userId !== user.id) return close(CONSOLE_CLOSE.foreignToken, 'this console token belongs to another user');
    // One presentation by its owner, whatever happens next: compare-and-set, so two replicas given the same token admit it once.
    const used = await this.tickets.update({ tokenHash, usedAt: IsNull() }, { usedAt: this.wallClock.now() });
    if (used.affected !== 1) return close(CONSOLE_CLOSE.reusedToken, 'console token already used; ask for a new one');
    if (entry.expiresAt < this.wallClock.now()) return close(CONSOLE_CLOSE.expiredToken, 'console token expired; ask for a new one');

    let target: AgentTarget;
    let machineName: string;
    try {
      const found = await this.machines.consoleTarget(user, entry.machineId);
      target = found.target;
      machineName = found.machine.name;
    } catch (error) {
      const message = error instanceof ApiError ? (error.getResponse() as { message: string }).message : String(error);
      return close(CONSOLE_CLOSE.notRunning, clip(`no console: ${message}`));
    }
    if (ws.readyState !== WebSocket.OPEN) return;

    const ticket = randomBytes(32).toString('base64url');
    let agentSocket: net.Socket;
    try {
      const endpoint = await this.gateway.openConsole(target, { machineId: entry.machineId, ticket, expiresAt: this.wallClock.now() + 30_000 });
      try {
        agentSocket = await connect(endpoint.host, endpoint.port, this.config.agentConnectTimeoutMs);
      } catch (error) {
        // The address and the cause are logged, never shown (see AgentGateway.connect).
        this.logger.warn(`console of ${machineName} (${entry.machineId}): ${(error as Error).message}`);
        throw new Error(unreachable(target.hostName));
      }
    } catch (error) {
      return close(CONSOLE_CLOSE.agentUnavailable, clip(`no console: ${(error as Error).message}`));
    }
    if (ws.readyState !== WebSocket.OPEN) {
      agentSocket.destroy();
      return;
    }
    agentSocket.setNoDelay(true);
    // Recorded before the agent sees the ticket (and drops the previous viewer's connection), so the
    // replica of the previous viewer finds this one when its agent socket closes.
    const viewerId = randomUUID();
    try {
      await this.viewerRows.upsert({ machineId: entry.machineId, viewerId, replicaId: this.leadership.replicaId, openedAt: this.wallClock.now() }, [
        'machineId',
      ]);
    } catch (error) {
      agentSocket.destroy();
      return close(CONSOLE_CLOSE.agentUnavailable, clip(`no console: ${(error as Error).message}`));
    }
    if (ws.readyState !== WebSocket.OPEN) {
      agentSocket.destroy();
      return;
    }
    agentSocket.write(`${ticket}\n`);

    const previous = this.viewers.get(entry.machineId);
    this.viewers.set(entry.machineId, ws);
    if (previous && previous !== ws) previous.close(CONSOLE_CLOSE.replaced, 'replaced by a new viewer');
    this.logger.log(`console of ${machineName} (${entry.machineId}) opened by ${user.handle} from ${peer ?? '?'}`);

    let ended = false;
    const end = (why: string, code = 1000) => {
      if (ended) return;
      ended = true;
      if (this.viewers.get(entry.machineId) === ws) this.viewers.delete(entry.machineId);
      void this.viewerRows.delete({ machineId: entry.machineId, viewerId }).catch(() => undefined);
      // The agent's side ended: the browser gets what was relayed, then a close with the reason.
      // The viewer left: the agent's connection goes at once.
      if (ws.readyState === WebSocket.OPEN) ws.close(code, clip(why));
      else agentSocket.destroy();
      this.logger.log(`console of ${machineName} (${entry.machineId}) closed: ${why}`);
    };
    agentSocket.on('close', () => {
      // Another viewer recorded for the machine: one admitted by another replica took over.
      void this.viewerRows
        .findOneBy({ machineId: entry.machineId })
        .catch(() => null)
        .then((current) =>
          current && current.viewerId !== viewerId
            ? end('replaced by a new viewer', CONSOLE_CLOSE.replaced)
            : end('the console closed (the machine stopped or another viewer took over)'),
        );
    });
    agentSocket.on('error', () => undefined);
    ws.on('close', () => end('the viewer left'));
    ws.on('error', () => undefined);
    // RFB both ways over the websocket as a byte stream (ws's stream API): pipe moves each side
    // only as fast as the other takes it (backpressure: the agent's socket is read as the browser
    // drains, the websocket paused while the agent is slow). The agent's end does not end the
    // browser's stream: `end` closes the websocket with a reason instead. Not stream.pipeline: it
    // would destroy the websocket (1006, no reason) as soon as the agent's side closes, before `end`
    // has looked up whether another replica's viewer replaced this one.
    const browser = createWebSocketStream(ws);
    browser.on('error', () => undefined);
    agentSocket.pipe(browser, { end: false });
    browser.pipe(agentSocket);
  }
}

function hashOf(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Close reasons are at most 123 bytes. */
function clip(reason: string): string {
  if (Buffer.byteLength(reason) <= 123) return reason;
  let text = reason;
  while (Buffer.byteLength(`${text}…`) > 123) text = text.slice(0, -1);
  return `${text}…`;
}

function connect(host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the console port ${host}:${port} did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`the console port ${host}:${port} is not reachable (${(error as NodeJS.ErrnoException).code ?? error.message})`));
    });
  });
}
