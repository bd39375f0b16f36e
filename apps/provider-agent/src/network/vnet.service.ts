import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Logger } from '@nestjs/common';
import type { VnetDesired, VnetHeld, VnetSyncCommand, VnetSyncResult } from '@virtuoso/contracts';
import type { AuthorizedKeys, VnetAdmissionLine } from '../migration/authorized-keys';
import { knownHostsLine, Uplink, uplinkArgv, VDE_PLUG } from './uplink';
import { startSwitch, stopSwitch, switchPid, VDE_SWITCH, vnetPaths } from './vnet-switch';

const run = promisify(execFile);

export interface VnetServiceOptions {
  dataDir: string;
  /** The transfer sshd's authorized_keys (the hub role); absent: this agent cannot be a hub. */
  keys?: AuthorizedKeys;
  /** Running local machines per network (network id → count). */
  segmentUse: () => Map<string, number>;
}

/**
 * VNET on this host (docs/ARCHITECTURE.md §11): per network a local VDE switch; on a spoke an
 * uplink into the hub's switch; on the hub the admitted keys. `vnet.sync` gives the full desired
 * state; the service converges on it (one convergence at a time), keeps it in <data>/vnet/
 * desired.json and converges on it again at agent start.
 */
export class VnetService {
  private readonly log = new Logger('Vnet');
  private readonly uplinks = new Map<string, Uplink>();
  private desired: VnetDesired[] = [];
  private queue: Promise<unknown> = Promise.resolve();
  private readonly file: string;
  private installed?: boolean;

  constructor(private readonly opts: VnetServiceOptions) {
    this.file = path.join(opts.dataDir, 'vnet', 'desired.json');
  }

  /** VDE's switch and plug are installed and there is a transfer sshd (the hub role needs it). */
  available(): boolean {
    this.installed ??= onPath(VDE_SWITCH) && onPath(VDE_PLUG);
    return !!this.opts.keys && this.installed;
  }

  /** Agent start: converge on the last sync (switches found again, uplinks re-made). */
  async recover(): Promise<void> {
    try {
      this.desired = (JSON.parse(readFileSync(this.file, 'utf8')) as VnetSyncCommand).networks;
    } catch {
      this.desired = [];
    }
    await this.serial(() => this.converge());
  }

  /** vnet.sync */
  sync(cmd: VnetSyncCommand): Promise<VnetSyncResult> {
    return this.serial(async () => {
      if (!this.opts.keys && cmd.networks.some((n) => n.admit.length)) {
        throw new Error('this agent has no transfer sshd (--ssh-port): it cannot admit keys as a hub');
      }
      this.desired = cmd.networks;
      mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
      writeFileSync(`${this.file}.tmp`, JSON.stringify(cmd, null, 2) + '\n', { mode: 0o600 });
      renameSync(`${this.file}.tmp`, this.file);
      await this.converge();
      return { networks: this.desired.map((n) => this.held(n)) };
    });
  }

  /** A machine of this network is about to start or resume here (segmentUse counts it already,
   *  so no convergence stops the switch meanwhile): its switch, up. */
  switchFor(networkId: string): Promise<string> {
    return this.serial(async () => {
      const p = vnetPaths(this.opts.dataDir, networkId);
      await startSwitch(p);
      return p.switchDir;
    });
  }

  /** Running machines changed: a switch no one needs any more may stop. */
  segmentsChanged(): void {
    void this.serial(() => this.stopUnneeded()).catch((e) => this.log.error(`stopping unneeded switches: ${(e as Error).message}`));
  }

  /** The agent stops: uplinks end (they would with the agent anyway); switches stay. */
  close(): void {
    for (const u of this.uplinks.values()) u.stop();
    this.uplinks.clear();
  }

  /** State of one network (for the sync's reply and tests). */
  held(n: VnetDesired): VnetHeld {
    const p = vnetPaths(this.opts.dataDir, n.networkId);
    const uplink = this.uplinks.get(n.networkId.toLowerCase());
    let uplinkPublicKey: string | undefined;
    if (n.uplink && existsSync(`${p.key}.pub`)) {
      const [type, blob] = readFileSync(`${p.key}.pub`, 'utf8').trim().split(/\s+/);
      uplinkPublicKey = `${type} ${blob}`;
    }
    return {
      networkId: n.networkId,
      switchUp: !!switchPid(p),
      ...(uplinkPublicKey ? { uplinkPublicKey } : {}),
      uplink: n.uplink ? (uplink?.state ?? 'connecting') : 'none',
      machines: this.opts.segmentUse().get(n.networkId.toLowerCase()) ?? 0,
    };
  }

  // ---------------------------------------------------------------------------------------------

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async converge(): Promise<void> {
    const desired = new Map(this.desired.map((n) => [n.networkId.toLowerCase(), n]));
    const admissions: VnetAdmissionLine[] = [];
    for (const [id, n] of desired) {
      const p = vnetPaths(this.opts.dataDir, id);
      await startSwitch(p);
      for (const a of n.admit) admissions.push({ networkId: id, switchDir: p.switchDir, publicKey: a.publicKey, label: a.label });
      if (!n.uplink) {
        this.stopUplink(id);
        continue;
      }
      if (!existsSync(p.key)) {
        rmSync(`${p.key}.pub`, { force: true });
        await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `virtuoso-vnet-${id}@${os.hostname()}`, '-f', p.key]);
      }
      writeFileSync(p.knownHosts, knownHostsLine(n.uplink), { mode: 0o600 });
      const argv = uplinkArgv(p.switchDir, p.key, p.knownHosts, n.uplink);
      const current = this.uplinks.get(id);
      if (current && current.argv.join('\0') === argv.join('\0')) continue;
      current?.stop();
      const uplink = new Uplink(id, argv);
      this.uplinks.set(id, uplink);
      uplink.start();
      this.log.log(`network ${id}: uplink to ${n.uplink.host}:${n.uplink.sshPort} (hub agent ${n.uplink.agentId})`);
    }
    for (const id of [...this.uplinks.keys()]) if (!desired.has(id)) this.stopUplink(id);
    // The hub's admissions: exactly the keys of this sync, nothing else.
    this.opts.keys?.setVnetAdmissions(admissions);
    await this.stopUnneeded();
  }

  private stopUplink(id: string): void {
    const u = this.uplinks.get(id);
    if (!u) return;
    u.stop();
    this.uplinks.delete(id);
    this.log.log(`network ${id}: uplink stopped`);
  }

  /** Switches of networks neither desired nor used by a running machine here: stopped. */
  private async stopUnneeded(): Promise<void> {
    const root = path.join(this.opts.dataDir, 'vnet');
    if (!existsSync(root)) return;
    const desired = new Set(this.desired.map((n) => n.networkId.toLowerCase()));
    const use = this.opts.segmentUse();
    for (const name of readdirSync(root)) {
      if (!/^[0-9a-f-]{36}$/.test(name) || desired.has(name) || (use.get(name) ?? 0) > 0) continue;
      const p = vnetPaths(this.opts.dataDir, name);
      if (!switchPid(p)) continue;
      await stopSwitch(p);
      this.log.log(`network ${name}: switch stopped (not held here any more, no machine on it)`);
    }
  }
}

function onPath(bin: string): boolean {
  if (bin.includes('/')) return existsSync(bin);
  try {
    execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
