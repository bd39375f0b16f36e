import { type ChildProcess, spawn } from 'node:child_process';
import request from 'supertest';
import { REPO, eventually, freePorts } from './agent-process';

/** The built API (`node apps/api/dist/main.js`) as a child process: a replica, or an API to crash. */
export interface ApiProcess {
  child: ChildProcess;
  port: number;
  url: string;
  /** Everything it printed so far. */
  output(): string;
  /** Sends the signal and resolves once the process has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts the built API with `env` (the VIRTUOSO_* variables; a port is picked unless given) and
 * resolves once it answers /api/health. Build it first (`npx tsc -b apps/api`).
 */
export async function startApiProcess(env: Record<string, string>, options: { port?: number } = {}): Promise<ApiProcess> {
  const port = options.port ?? (await freePorts(1))[0];
  const child = spawn(process.execPath, ['apps/api/dist/main.js'], {
    cwd: REPO,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      VIRTUOSO_PORT: String(port),
      VIRTUOSO_SEED_DEMO: 'false',
      VIRTUOSO_BCRYPT_COST: '4',
      VIRTUOSO_MARKET_INTERVAL_SECONDS: '3600',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (data: Buffer) => (output += data.toString()));
  child.stderr!.on('data', (data: Buffer) => (output += data.toString()));
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const url = `http://127.0.0.1:${port}`;
  try {
    await eventually(async () => {
      if (child.exitCode !== null) throw new Error(`the API exited with ${child.exitCode}`);
      return (await request(url).get('/api/health')).status === 200;
    }, 'the API to listen');
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}; its output: ${output.slice(-1500)}`);
  }
  return {
    child,
    port,
    url,
    output: () => output,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
