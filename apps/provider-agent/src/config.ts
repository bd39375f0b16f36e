import { existsSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { HEARTBEAT_INTERVAL_MS } from '@virtuoso/contracts';
import type { AccelMode } from './vmm/accel-probe';

/**
 * The provider agent's configuration: environment variables, overridden by command-line flags
 * (the "add host" page shows a copy-paste command with --data, --port, --frontend and --join).
 * Everything is validated at boot; a bad value stops the agent with a message naming the variable.
 */
export interface AgentConfig {
  /** Machines, image and media caches, agent.json, the event queue. */
  dataDir: string;
  /** Address the command and console ports listen on. */
  listenHost: string;
  /** Command port (NestJS microservice, TCP). */
  port: number;
  /** Console relay port (plain TCP; tickets, then RFB). */
  consolePort: number;
  /** What the front-end dials to reach this agent. */
  advertiseHost: string;
  /** The front-end's base URL (http(s)://host:port[/prefix]); from agent.json when not given. */
  frontendUrl?: string;
  /** One-time join token; needed only when the data dir holds no agent.json yet. */
  joinToken?: string;
  accel: AccelMode;
  /** Directory of the tiny guest image (accelerator probe); tests point it elsewhere. */
  imageDir?: string;
  heartbeatMs: number;
  /** How this agent serves machines that migrate away (report §7.3; docs/ARCHITECTURE.md §7).
   *  Absent: no transfer sshd, no transfer endpoint reported; the agent can only be a destination. */
  transfer?: TransferConfig;
  /** Most bytes the caches of machines that migrated away may take; the oldest go first. Absent: no limit. */
  cacheLimitBytes?: number;
  /** Cap on each incoming transfer (migration destination) in KiB/s, so migrations leave room for the provider's other traffic. Absent: no cap. */
  transferLimitKBps?: number;
  /** Guest networking (docs/ARCHITECTURE.md §11): forwarded ports, outbound policy, public host. */
  network: NetworkConfig;
}

export interface NetworkConfig {
  /** Host ports the agent forwards to guests from (inclusive). */
  portRange: { first: number; last: number };
  /** Guests' outbound traffic through the uplink: NAT'ed ('allow') or none. */
  outbound: 'allow' | 'none';
  /** What buyers connect to for forwarded ports (the ssh command names it). */
  publicHost: string;
}

/** Default forwarded port range: clear of the demo's ports (8080, 71xx, 73xx) and of Linux's
 *  ephemeral range (32768-60999). */
export const DEFAULT_PORT_RANGE = { first: 20000, last: 20999 } as const;

export interface TransferConfig {
  /** Port of the transfer sshd (--ssh-port): ours, or the system's with `system`. */
  sshPort: number;
  /** Use the system's sshd instead of a private one: the agent writes its forced-command lines into
   *  `authorizedKeysFile` (which the operator's sshd_config names) and reports `hostKeyFile`. */
  system?: { authorizedKeysFile: string; hostKeyFile: string };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid provider agent configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** Longest socket path inside a machine directory: <data>/machines/<uuid>/serial.sock. */
const MACHINE_SOCKET_SUFFIX = `/machines/${'0'.repeat(36)}/serial.sock`;
const MAX_SOCKET_PATH = 107;

/** Flag → environment variable. */
const FLAGS: Record<string, string> = {
  '--data': 'VIRTUOSO_AGENT_DATA_DIR',
  '--listen': 'VIRTUOSO_AGENT_LISTEN',
  '--port': 'VIRTUOSO_AGENT_PORT',
  '--console-port': 'VIRTUOSO_AGENT_CONSOLE_PORT',
  '--advertise': 'VIRTUOSO_AGENT_ADVERTISE_HOST',
  '--frontend': 'VIRTUOSO_FRONTEND_URL',
  '--join': 'VIRTUOSO_JOIN_TOKEN',
  '--accel': 'VIRTUOSO_ACCEL',
  '--image-dir': 'VIRTUOSO_IMAGE_DIR',
  '--ssh-port': 'VIRTUOSO_AGENT_SSH_PORT',
  '--ssh-authorized-keys': 'VIRTUOSO_AGENT_SSH_AUTHORIZED_KEYS',
  '--ssh-host-key': 'VIRTUOSO_AGENT_SSH_HOST_KEY',
  '--cache-limit-mb': 'VIRTUOSO_AGENT_CACHE_LIMIT_MB',
  '--transfer-limit-kbps': 'VIRTUOSO_AGENT_TRANSFER_LIMIT_KBPS',
  '--port-range': 'VIRTUOSO_AGENT_PORT_RANGE',
  '--outbound': 'VIRTUOSO_AGENT_OUTBOUND',
  '--public-host': 'VIRTUOSO_AGENT_PUBLIC_HOST',
};

export const USAGE = `usage: node apps/provider-agent/dist/main.js --data DIR --port PORT --frontend URL [--join TOKEN]
  [--console-port PORT] [--listen ADDR] [--advertise HOST] [--accel tcg|kvm|probe] [--image-dir DIR]
  [--ssh-port PORT [--ssh-authorized-keys FILE --ssh-host-key FILE.pub]] [--cache-limit-mb MB] [--transfer-limit-kbps KIB_PER_S]
  [--port-range FIRST-LAST] [--outbound allow|none] [--public-host HOST]
Each flag has an environment variable: ${Object.entries(FLAGS)
  .map(([f, v]) => `${f}=${v}`)
  .join(', ')}.`;

/** Saved by the join (agent.json); supplies defaults on later starts. */
export interface SavedEndpoint {
  frontendUrl?: string;
  agentHost?: string;
  agentPort?: number;
  consolePort?: number;
}

function readSaved(dataDir: string): SavedEndpoint {
  const file = path.join(dataDir, 'agent.json');
  if (!existsSync(file)) return {};
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as SavedEndpoint;
  } catch {
    return {};
  }
}

/** Merge flags over the environment. Unknown flags are errors. */
export function mergeArgs(argv: string[], env: NodeJS.ProcessEnv): { values: Record<string, string | undefined>; problems: string[] } {
  const values: Record<string, string | undefined> = {};
  for (const v of [...Object.values(FLAGS), 'VIRTUOSO_AGENT_HEARTBEAT_MS']) values[v] = env[v] === '' ? undefined : env[v];
  const problems: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const name = FLAGS[flag];
    if (!name) {
      problems.push(`${arg}: unknown argument`);
      continue;
    }
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || (eq < 0 && value.startsWith('--'))) {
      problems.push(`${flag}: a value is required`);
      if (value?.startsWith('--')) i--;
      continue;
    }
    values[name] = value;
  }
  return { values, problems };
}

export function loadConfig(argv: string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const { values: v, problems } = mergeArgs(argv, env);
  const bad = (name: string, msg: string) => problems.push(`${name}${flagOf(name)}: ${msg}`);

  // data dir
  let dataDir = '';
  const rawData = v['VIRTUOSO_AGENT_DATA_DIR'];
  if (!rawData) bad('VIRTUOSO_AGENT_DATA_DIR', 'required (where machines and agent.json live)');
  else {
    dataDir = path.resolve(rawData);
    if (existsSync(dataDir) && !statSync(dataDir).isDirectory()) bad('VIRTUOSO_AGENT_DATA_DIR', `${dataDir} is not a directory`);
    const longest = Buffer.byteLength(dataDir + MACHINE_SOCKET_SUFFIX);
    if (longest > MAX_SOCKET_PATH) {
      bad(
        'VIRTUOSO_AGENT_DATA_DIR',
        `${dataDir} is too deep: machine sockets under it would exceed the ${MAX_SOCKET_PATH}-byte unix socket path limit (use a path of at most ${MAX_SOCKET_PATH - MACHINE_SOCKET_SUFFIX.length} bytes)`,
      );
    }
  }
  const saved = dataDir ? readSaved(dataDir) : {};

  const listenHost = v['VIRTUOSO_AGENT_LISTEN'] ?? '127.0.0.1';
  if (!/^[A-Za-z0-9.:-]{1,255}$/.test(listenHost)) bad('VIRTUOSO_AGENT_LISTEN', `not a host name or address: ${JSON.stringify(listenHost)}`);

  const port = parsePort(v['VIRTUOSO_AGENT_PORT'] ?? (saved.agentPort !== undefined ? String(saved.agentPort) : undefined), 'VIRTUOSO_AGENT_PORT', bad, true);
  const consoleDefault =
    v['VIRTUOSO_AGENT_CONSOLE_PORT'] ?? (v['VIRTUOSO_AGENT_PORT'] === undefined && saved.consolePort !== undefined ? String(saved.consolePort) : undefined);
  let consolePort = consoleDefault === undefined ? (port ? port + 1 : 0) : parsePort(consoleDefault, 'VIRTUOSO_AGENT_CONSOLE_PORT', bad, true);
  if (port && consolePort > 65535) {
    bad('VIRTUOSO_AGENT_CONSOLE_PORT', `defaults to VIRTUOSO_AGENT_PORT + 1 = ${consolePort}, which is not a port: set it`);
    consolePort = 0;
  }
  if (port && consolePort && port === consolePort) bad('VIRTUOSO_AGENT_CONSOLE_PORT', `must differ from VIRTUOSO_AGENT_PORT (${port})`);

  const unspecified = listenHost === '0.0.0.0' || listenHost === '::';
  const advertiseHost = v['VIRTUOSO_AGENT_ADVERTISE_HOST'] ?? (unspecified && saved.agentHost ? saved.agentHost : listenHost);
  if (!/^[A-Za-z0-9.:-]{1,255}$/.test(advertiseHost)) bad('VIRTUOSO_AGENT_ADVERTISE_HOST', `not a host name or address: ${JSON.stringify(advertiseHost)}`);
  else if (advertiseHost === '0.0.0.0' || advertiseHost === '::') {
    bad('VIRTUOSO_AGENT_ADVERTISE_HOST', `the front-end cannot dial ${advertiseHost}: set the address it should use`);
  }

  let frontendUrl = v['VIRTUOSO_FRONTEND_URL'] ?? saved.frontendUrl;
  if (frontendUrl !== undefined) {
    try {
      const u = new URL(frontendUrl);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('http(s) expected');
      if (u.search || u.hash) throw new Error('no query or fragment expected');
      frontendUrl = u.toString().replace(/\/+$/, '');
    } catch (e) {
      bad('VIRTUOSO_FRONTEND_URL', `not an http(s) URL: ${JSON.stringify(frontendUrl)} (${(e as Error).message})`);
    }
  }

  const joinToken = v['VIRTUOSO_JOIN_TOKEN'];
  const joined = !!dataDir && existsSync(path.join(dataDir, 'agent.json'));
  if (!joined) {
    if (!frontendUrl) bad('VIRTUOSO_FRONTEND_URL', 'required on the first start (the front-end to join)');
    if (!joinToken)
      bad('VIRTUOSO_JOIN_TOKEN', `required on the first start (no agent.json in ${dataDir || 'the data directory'}): copy it from the "add host" page`);
  }

  const accel = (v['VIRTUOSO_ACCEL'] ?? 'probe').toLowerCase();
  if (accel !== 'tcg' && accel !== 'kvm' && accel !== 'probe') bad('VIRTUOSO_ACCEL', `must be tcg, kvm or probe (got ${JSON.stringify(accel)})`);

  const imageDir = v['VIRTUOSO_IMAGE_DIR'] ? path.resolve(v['VIRTUOSO_IMAGE_DIR']) : undefined;
  if (imageDir && !(existsSync(imageDir) && statSync(imageDir).isDirectory())) bad('VIRTUOSO_IMAGE_DIR', `${imageDir} is not a directory`);

  let heartbeatMs = HEARTBEAT_INTERVAL_MS;
  const hb = v['VIRTUOSO_AGENT_HEARTBEAT_MS'];
  if (hb !== undefined) {
    heartbeatMs = Number(hb);
    if (!/^\d+$/.test(hb) || heartbeatMs < 100 || heartbeatMs > 600_000)
      bad('VIRTUOSO_AGENT_HEARTBEAT_MS', `must be milliseconds between 100 and 600000 (got ${JSON.stringify(hb)})`);
  }

  const transfer = parseTransfer(v, bad, [port, consolePort]);

  let cacheLimitBytes: number | undefined;
  const cacheLimit = v['VIRTUOSO_AGENT_CACHE_LIMIT_MB'];
  if (cacheLimit !== undefined) {
    if (!/^\d{1,9}$/.test(cacheLimit)) bad('VIRTUOSO_AGENT_CACHE_LIMIT_MB', `must be a whole number of MB (got ${JSON.stringify(cacheLimit)})`);
    else cacheLimitBytes = Number(cacheLimit) * 1024 * 1024;
  }
  let transferLimitKBps: number | undefined;
  const transferLimit = v['VIRTUOSO_AGENT_TRANSFER_LIMIT_KBPS'];
  if (transferLimit !== undefined) {
    transferLimitKBps = Number(transferLimit);
    if (!/^\d{1,9}$/.test(transferLimit) || transferLimitKBps < 1) {
      bad('VIRTUOSO_AGENT_TRANSFER_LIMIT_KBPS', `must be a whole number of KiB per second, at least 1 (got ${JSON.stringify(transferLimit)})`);
      transferLimitKBps = undefined;
    }
  }

  const network = parseNetwork(v, bad, advertiseHost, [port, consolePort, transfer?.sshPort ?? 0]);

  if (problems.length) throw new ConfigError(problems);
  return {
    network,
    dataDir,
    listenHost,
    port,
    consolePort,
    advertiseHost,
    frontendUrl,
    joinToken,
    accel: accel as AccelMode,
    imageDir,
    heartbeatMs,
    transfer,
    cacheLimitBytes,
    transferLimitKBps,
  };
}

/**
 * --ssh-port alone: a private transfer sshd on that port. With --ssh-authorized-keys and
 * --ssh-host-key: the system's sshd listens on that port, reads that authorized_keys file and
 * holds that host key (README: what the operator adds to sshd_config).
 */
function parseTransfer(v: Record<string, string | undefined>, bad: (n: string, m: string) => void, agentPorts: number[]): TransferConfig | undefined {
  const rawPort = v['VIRTUOSO_AGENT_SSH_PORT'];
  const keysRaw = v['VIRTUOSO_AGENT_SSH_AUTHORIZED_KEYS'];
  const hostKeyRaw = v['VIRTUOSO_AGENT_SSH_HOST_KEY'];
  if (rawPort === undefined) {
    if (keysRaw !== undefined || hostKeyRaw !== undefined)
      bad('VIRTUOSO_AGENT_SSH_PORT', "required with --ssh-authorized-keys and --ssh-host-key (the system sshd's port)");
    return undefined;
  }
  const sshPort = parsePort(rawPort, 'VIRTUOSO_AGENT_SSH_PORT', bad, true);
  if (keysRaw === undefined && hostKeyRaw === undefined) {
    if (sshPort && agentPorts.includes(sshPort)) bad('VIRTUOSO_AGENT_SSH_PORT', `must differ from the command and console ports (${agentPorts.join(', ')})`);
    return { sshPort };
  }
  if (keysRaw === undefined) bad('VIRTUOSO_AGENT_SSH_AUTHORIZED_KEYS', 'required with --ssh-host-key (the system sshd reads our keys from it)');
  if (hostKeyRaw === undefined)
    bad('VIRTUOSO_AGENT_SSH_HOST_KEY', "required with --ssh-authorized-keys (the system sshd's public host key, e.g. /etc/ssh/ssh_host_ed25519_key.pub)");
  if (keysRaw === undefined || hostKeyRaw === undefined) return undefined;
  const authorizedKeysFile = path.resolve(keysRaw);
  const hostKeyFile = path.resolve(hostKeyRaw);
  if (!(existsSync(path.dirname(authorizedKeysFile)) && statSync(path.dirname(authorizedKeysFile)).isDirectory()))
    bad('VIRTUOSO_AGENT_SSH_AUTHORIZED_KEYS', `${path.dirname(authorizedKeysFile)} is not a directory`);
  else if (existsSync(authorizedKeysFile) && !statSync(authorizedKeysFile).isFile())
    bad('VIRTUOSO_AGENT_SSH_AUTHORIZED_KEYS', `${authorizedKeysFile} is not a file`);
  let hostKey = '';
  try {
    hostKey = readFileSync(hostKeyFile, 'utf8');
  } catch (e) {
    bad('VIRTUOSO_AGENT_SSH_HOST_KEY', `cannot read ${hostKeyFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (hostKey && !/^(ssh-|ecdsa-)\S+ [A-Za-z0-9+/]+=*(\s|$)/.test(hostKey.trim()))
    bad('VIRTUOSO_AGENT_SSH_HOST_KEY', `${hostKeyFile} is not a public key (give the .pub file)`);
  return { sshPort, system: { authorizedKeysFile, hostKeyFile } };
}

/** --port-range, --outbound, --public-host (docs/ARCHITECTURE.md §11). */
function parseNetwork(v: Record<string, string | undefined>, bad: (n: string, m: string) => void, advertiseHost: string, agentPorts: number[]): NetworkConfig {
  let portRange: NetworkConfig['portRange'] = { ...DEFAULT_PORT_RANGE };
  const rawRange = v['VIRTUOSO_AGENT_PORT_RANGE'];
  if (rawRange !== undefined) {
    const m = /^(\d{1,5})-(\d{1,5})$/.exec(rawRange.trim());
    const first = Number(m?.[1]);
    const last = Number(m?.[2]);
    if (!m || first < 1024 || last > 65535 || first > last) {
      bad('VIRTUOSO_AGENT_PORT_RANGE', `must be FIRST-LAST, two TCP ports from 1024 to 65535, FIRST <= LAST (got ${JSON.stringify(rawRange)})`);
    } else {
      portRange = { first, last };
      const inside = agentPorts.filter((p) => p >= first && p <= last);
      if (inside.length) bad('VIRTUOSO_AGENT_PORT_RANGE', `${first}-${last} holds the agent's own port(s) ${inside.join(', ')}: choose a range without them`);
    }
  } else {
    const inside = agentPorts.filter((p) => p >= portRange.first && p <= portRange.last);
    if (inside.length)
      bad(
        'VIRTUOSO_AGENT_PORT_RANGE',
        `the default ${portRange.first}-${portRange.last} holds the agent's own port(s) ${inside.join(', ')}: set a range without them`,
      );
  }
  const outbound = (v['VIRTUOSO_AGENT_OUTBOUND'] ?? 'allow').toLowerCase();
  if (outbound !== 'allow' && outbound !== 'none') bad('VIRTUOSO_AGENT_OUTBOUND', `must be allow or none (got ${JSON.stringify(outbound)})`);
  const publicHost = v['VIRTUOSO_AGENT_PUBLIC_HOST'] ?? advertiseHost;
  if (!/^[A-Za-z0-9.:-]{1,255}$/.test(publicHost)) bad('VIRTUOSO_AGENT_PUBLIC_HOST', `not a host name or address: ${JSON.stringify(publicHost)}`);
  else if (publicHost === '0.0.0.0' || publicHost === '::')
    bad('VIRTUOSO_AGENT_PUBLIC_HOST', `buyers cannot connect to ${publicHost}: set the address they should use`);
  return { portRange, outbound: outbound as NetworkConfig['outbound'], publicHost };
}

function flagOf(name: string): string {
  const f = Object.entries(FLAGS).find(([, v]) => v === name)?.[0];
  return f ? ` (${f})` : '';
}

function parsePort(raw: string | undefined, name: string, bad: (n: string, m: string) => void, required: boolean): number {
  if (raw === undefined) {
    if (required) bad(name, 'required (a TCP port number, 1-65535)');
    return 0;
  }
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > 65535) {
    bad(name, `must be a TCP port number, 1-65535 (got ${JSON.stringify(raw)})`);
    return 0;
  }
  return n;
}
