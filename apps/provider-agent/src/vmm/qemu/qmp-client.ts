import { EventEmitter } from 'node:events';
import * as net from 'node:net';

/** An asynchronous QMP event, e.g. SHUTDOWN, STOP, RESUME, DEVICE_TRAY_MOVED. */
export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

/** QEMU answered a command with `{"error": {...}}`. */
export class QmpError extends Error {
  constructor(
    readonly command: string,
    readonly errorClass: string,
    readonly desc: string,
  ) {
    super(`QMP ${command} failed: ${errorClass}: ${desc}`);
    this.name = 'QmpError';
  }
}

/** The monitor connection ended (QEMU exited or the socket broke) before an answer came. */
export class QmpClosedError extends Error {
  constructor(readonly command?: string) {
    super(command ? `QMP connection closed before ${command} answered` : 'QMP connection is closed');
    this.name = 'QmpClosedError';
  }
}

export interface QmpConnectOptions {
  /** Give up connecting (socket missing / refused / no greeting) after this long. Default 10 s. */
  timeoutMs?: number;
  /** Stop retrying early when this returns false (e.g. the QEMU process already exited). */
  keepTrying?: () => boolean;
}

/** The QMP surface the driver's modules use (QmpClient has it; tests fake QEMU with it). */
export interface QmpExecutor {
  execute<T = unknown>(command: string, args?: Record<string, unknown>, opts?: { timeoutMs?: number }): Promise<T>;
}

interface Pending {
  command: string;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer?: NodeJS.Timeout;
}

/**
 * Minimal QMP client over a unix socket: greeting, qmp_capabilities, commands with ids, events.
 *
 * Events: 'event' (QmpEvent), 'close' (). After 'close' every pending and future command rejects
 * with QmpClosedError; the client is never reused (connect again instead).
 */
export class QmpClient extends EventEmitter {
  private buf = '';
  private nextId = 1;
  private readonly pending = new Map<string, Pending>();
  private _closed = false;
  greeting: Record<string, unknown> | undefined;

  private constructor(private readonly sock: net.Socket) {
    super();
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => this.onData(chunk));
    sock.on('error', () => {
      /* 'close' follows */
    });
    sock.on('close', () => this.onClose());
  }

  get closed(): boolean {
    return this._closed;
  }

  /** Connect (retrying while the socket does not exist yet), read the greeting, negotiate. */
  static async connect(path: string, opts: QmpConnectOptions = {}): Promise<QmpClient> {
    const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
    let lastErr: unknown;
    while (Date.now() < deadline) {
      if (opts.keepTrying && !opts.keepTrying()) break;
      try {
        return await QmpClient.connectOnce(path, Math.max(100, deadline - Date.now()));
      } catch (e) {
        lastErr = e;
        await sleep(50);
      }
    }
    const why = lastErr instanceof Error ? lastErr.message : String(lastErr ?? 'gave up');
    throw new Error(`cannot connect to QMP at ${path}: ${why}`);
  }

  private static connectOnce(path: string, timeoutMs: number): Promise<QmpClient> {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ path });
      let settled = false;
      const fail = (e: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        sock.destroy();
        reject(e);
      };
      const timer = setTimeout(() => fail(new Error('timed out waiting for the QMP greeting')), timeoutMs);
      sock.once('error', fail);
      sock.once('connect', () => {
        sock.removeListener('error', fail);
        const client = new QmpClient(sock);
        client.once('greeting', async () => {
          try {
            await client.execute('qmp_capabilities', undefined, { timeoutMs });
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            resolve(client);
          } catch (e) {
            fail(e as Error);
          }
        });
        client.once('close', () => fail(new Error('QMP socket closed during handshake')));
      });
    });
  }

  /** Run a QMP command; resolves with its `return` value. */
  execute<T = unknown>(command: string, args?: Record<string, unknown>, opts: { timeoutMs?: number } = {}): Promise<T> {
    if (this._closed) return Promise.reject(new QmpClosedError(command));
    const id = `v${this.nextId++}`;
    const msg: Record<string, unknown> = { execute: command, id };
    if (args !== undefined) msg['arguments'] = args;
    return new Promise<T>((resolve, reject) => {
      const p: Pending = { command, resolve: resolve as (v: unknown) => void, reject };
      const timeoutMs = opts.timeoutMs ?? 30_000;
      p.timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`QMP ${command} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, p);
      this.sock.write(JSON.stringify(msg) + '\n');
    });
  }

  /** Resolve with the next event named `name` that satisfies `pred`, or reject on timeout/close. */
  waitForEvent(name: string, timeoutMs: number, pred: (e: QmpEvent) => boolean = () => true): Promise<QmpEvent> {
    return new Promise((resolve, reject) => {
      const onEvent = (e: QmpEvent) => {
        if (e.event === name && pred(e)) {
          cleanup();
          resolve(e);
        }
      };
      const onClose = () => {
        cleanup();
        reject(new QmpClosedError());
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no ${name} event within ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.removeListener('event', onEvent);
        this.removeListener('close', onClose);
      };
      this.on('event', onEvent);
      this.once('close', onClose);
    });
  }

  close(): void {
    this.sock.destroy();
  }

  private onData(chunk: string): void {
    this.buf += chunk;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl).trim();
      this.buf = this.buf.slice(nl + 1);
      if (!line) continue;
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue; // not JSON: ignore rather than kill the connection
      }
      this.dispatch(msg);
    }
  }

  private dispatch(msg: Record<string, unknown>): void {
    if ('QMP' in msg) {
      this.greeting = msg['QMP'] as Record<string, unknown>;
      this.emit('greeting', this.greeting);
      return;
    }
    if (typeof msg['event'] === 'string') {
      this.emit('event', msg as unknown as QmpEvent);
      return;
    }
    const id = msg['id'];
    if (typeof id !== 'string') return;
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    if (p.timer) clearTimeout(p.timer);
    if ('error' in msg) {
      const err = (msg['error'] ?? {}) as { class?: string; desc?: string };
      p.reject(new QmpError(p.command, err.class ?? 'GenericError', err.desc ?? 'unknown error'));
    } else {
      p.resolve(msg['return']);
    }
  }

  private onClose(): void {
    if (this._closed) return;
    this._closed = true;
    for (const [, p] of this.pending) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(new QmpClosedError(p.command));
    }
    this.pending.clear();
    this.emit('close');
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
