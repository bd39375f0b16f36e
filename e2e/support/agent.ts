import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';

// A real provider agent for the browser tests: `node apps/provider-agent/dist/main.js` joined to the
// API under test with a join token, on free loopback ports, with its data in a short temp dir.
const repo = resolve(__dirname, '../..');

export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

export interface TestAgent {
  /** The agent's data dir: short, since QEMU's unix sockets live under it (≤ 107 bytes). */
  dir: string;
  process: ChildProcess;
  /** stdout + stderr so far, for failure messages. */
  log(): string;
  /** A machine's serial log as the guest wrote it (latin1), or '' before it exists. */
  serialLog(machineId: string): string;
  /** SIGTERM the agent, kill what QEMU it left running (it keeps VMs on SIGTERM by design), remove its dir. */
  stop(): Promise<void>;
}

/** The token out of the command the "add host" page shows (`... --join <token> ...`). */
export function tokenOfCommand(command: string): string {
  const match = /--join[ =](\S+)/.exec(command);
  if (!match) throw new Error(`no --join token in the command: ${command}`);
  return match[1].replace(/^['"]|['"]$/g, '');
}

/** `sshPort`: run the agent's transfer sshd there, so machines can migrate away from it. */
export interface AgentOptions {
  sshPort?: number;
}

export async function startAgent(frontendUrl: string, joinToken: string, options: AgentOptions = {}): Promise<TestAgent> {
  const dir = mkdtempSync('/tmp/vae-');
  const [port, consolePort] = [await freePort(), await freePort()];
  let output = '';
  const child = spawn(
    process.execPath,
    [
      'apps/provider-agent/dist/main.js',
      '--data',
      dir,
      '--port',
      String(port),
      '--console-port',
      String(consolePort),
      '--listen',
      '127.0.0.1',
      '--advertise',
      '127.0.0.1',
      '--frontend',
      frontendUrl,
      '--join',
      joinToken,
      // The measured default on this kind of machine (KVM here cannot boot Linux guests); no probe delay.
      '--accel',
      process.env.E2E_ACCEL ?? 'tcg',
      ...(options.sshPort ? ['--ssh-port', String(options.sshPort)] : []),
    ],
    { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  return {
    dir,
    process: child,
    log: () => output,
    serialLog: (machineId) => {
      const file = resolve(dir, 'machines', machineId, 'serial.log');
      return existsSync(file) ? readFileSync(file, 'latin1') : '';
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((done) => child.once('exit', done));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((done) => setTimeout(done, 10_000))]);
      }
      // QEMU processes of this agent (their working directory is a machine dir under `dir`) and its
      // VDE switches (which outlive an agent by design; their command lines name `dir`).
      for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
        try {
          const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
          if (cmdline.startsWith('vde_switch') && cmdline.includes(`${dir}/`)) process.kill(Number(pid), 'SIGKILL');
          if (!cmdline.startsWith('qemu-system')) continue;
          if (readlinkSync(`/proc/${pid}/cwd`).startsWith(`${dir}/`)) process.kill(Number(pid), 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
