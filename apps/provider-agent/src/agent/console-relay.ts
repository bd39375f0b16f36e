import * as net from 'node:net';
import { Logger } from '@nestjs/common';

export interface ConsoleTarget {
  /** Is the machine's VMM process up (running or paused)? */
  isRunning(id: string): Promise<{ running: boolean; state: string }>;
  /** QEMU's VNC unix socket of the machine. */
  vncSocketPath(id: string): string;
}

interface Ticket {
  machineId: string;
  expiresAt: number;
}

interface Session {
  viewer: net.Socket;
  vnc: net.Socket;
  peer: string;
}

/** Longest ticket line accepted (ticket + '\n'). */
const MAX_TICKET_LINE = 520;

/**
 * The console relay (docs/ARCHITECTURE.md §5, report §6.2.4): a plain TCP port where the front-end presents
 * a one-time ticket (`<ticket>\n`, within handshakeMs) registered just before by `console.open`;
 * from then on bytes are RFB, piped to and from QEMU's VNC unix socket (never a TCP port).
 * Unknown, expired and reused tickets, and machines that are not running, get the connection
 * closed with no byte written. A new viewer of a machine replaces the previous one.
 */
export class ConsoleRelay {
  private readonly log = new Logger('ConsoleRelay');
  private readonly tickets = new Map<string, Ticket>();
  /** Tickets already presented (kept until they would have expired, to log reuse as such). */
  private readonly used = new Map<string, number>();
  private readonly sessions = new Map<string, Session>();
  private readonly pending = new Set<net.Socket>();
  private server?: net.Server;

  constructor(
    private readonly target: ConsoleTarget,
    private readonly handshakeMs = 5_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Register a one-time ticket (console.open). */
  open(machineId: string, ticket: string, expiresAt: number): void {
    this.prune();
    if (this.tickets.has(ticket) || this.used.has(ticket)) throw new Error('ticket already registered');
    this.tickets.set(ticket, { machineId, expiresAt });
  }

  listen(host: string, port: number): Promise<net.AddressInfo> {
    const server = net.createServer((s) => this.onConnection(s));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        server.on('error', (e) => this.log.error(`console server: ${e.message}`));
        resolve(server.address() as net.AddressInfo);
      });
    });
  }

  /** Drop a machine's viewer (machine deleted). */
  closeMachine(machineId: string, why: string): void {
    const s = this.sessions.get(machineId);
    if (!s) return;
    this.sessions.delete(machineId);
    this.log.log(`console of ${machineId}: viewer ${s.peer} closed (${why})`);
    s.viewer.destroy();
    s.vnc.destroy();
  }

  async close(): Promise<void> {
    for (const id of [...this.sessions.keys()]) this.closeMachine(id, 'agent shutting down');
    for (const s of this.pending) s.destroy();
    this.tickets.clear();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }

  private prune(): void {
    const now = this.now();
    for (const [t, v] of this.tickets) if (v.expiresAt < now - 60_000) this.tickets.delete(t);
    for (const [t, exp] of this.used) if (exp < now - 60_000) this.used.delete(t);
  }

  private onConnection(viewer: net.Socket): void {
    const peer = `${viewer.remoteAddress}:${viewer.remotePort}`;
    this.pending.add(viewer);
    viewer.setNoDelay(true);
    viewer.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    let settled = false;
    const reject = (reason: string) => {
      if (settled) return;
      settled = true;
      cleanup();
      this.pending.delete(viewer);
      this.log.warn(`console connection from ${peer} closed: ${reason}`);
      viewer.end();
      setTimeout(() => viewer.destroy(), 1_000).unref();
    };
    const timer = setTimeout(() => reject(`no ticket within ${this.handshakeMs} ms`), this.handshakeMs);
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const nl = buf.indexOf(0x0a);
      if (nl < 0) {
        if (buf.length > MAX_TICKET_LINE) reject('ticket line too long');
        return;
      }
      settled = true;
      cleanup();
      const ticket = buf.subarray(0, nl).toString('latin1').replace(/\r$/, '');
      const rest = buf.subarray(nl + 1);
      viewer.pause();
      void this.admit(viewer, peer, ticket, rest).catch((e) => {
        this.pending.delete(viewer);
        this.log.error(`console connection from ${peer}: ${(e as Error).message}`);
        viewer.destroy();
      });
    };
    const onEnd = () => reject('closed before sending a ticket');
    const cleanup = () => {
      clearTimeout(timer);
      viewer.off('data', onData);
      viewer.off('end', onEnd);
    };
    viewer.on('data', onData);
    viewer.on('end', onEnd);
  }

  private async admit(viewer: net.Socket, peer: string, ticket: string, rest: Buffer): Promise<void> {
    const refuse = (reason: string) => {
      this.pending.delete(viewer);
      this.log.warn(`console connection from ${peer} closed: ${reason}`);
      viewer.end();
      setTimeout(() => viewer.destroy(), 1_000).unref();
    };
    const short = ticket.length > 8 ? `${ticket.slice(0, 6)}…` : '…';
    const t = this.tickets.get(ticket);
    if (!t) return refuse(this.used.has(ticket) ? `ticket ${short} reused` : `unknown ticket ${short}`);
    this.tickets.delete(ticket); // one use, whatever happens next
    this.used.set(ticket, t.expiresAt);
    if (t.expiresAt < this.now()) return refuse(`ticket ${short} for ${t.machineId} expired ${this.now() - t.expiresAt} ms ago`);
    const st = await this.target.isRunning(t.machineId);
    if (!st.running) return refuse(`machine ${t.machineId} is ${st.state}, not running`);

    const vnc = net.connect({ path: this.target.vncSocketPath(t.machineId) });
    vnc.on('error', () => undefined);
    try {
      await new Promise<void>((resolve, reject) => {
        vnc.once('connect', resolve);
        vnc.once('error', reject);
      });
    } catch (e) {
      vnc.destroy();
      return refuse(`machine ${t.machineId}: VNC socket unreachable (${(e as Error).message})`);
    }
    if (viewer.destroyed) {
      vnc.destroy();
      this.pending.delete(viewer);
      return;
    }
    this.pending.delete(viewer);
    const previous = this.sessions.get(t.machineId);
    if (previous) this.closeMachine(t.machineId, `replaced by ${peer}`);
    const session: Session = { viewer, vnc, peer };
    this.sessions.set(t.machineId, session);
    this.log.log(`console of ${t.machineId}: viewer ${peer} connected`);

    const end = (why: string) => {
      if (this.sessions.get(t.machineId) === session) {
        this.sessions.delete(t.machineId);
        this.log.log(`console of ${t.machineId}: viewer ${peer} disconnected (${why})`);
      }
      viewer.destroy();
      vnc.destroy();
    };
    viewer.once('close', () => end('viewer closed'));
    vnc.once('close', () => end('VNC closed'));
    if (rest.length) vnc.write(rest);
    viewer.pipe(vnc);
    vnc.pipe(viewer);
    viewer.resume();
  }
}
