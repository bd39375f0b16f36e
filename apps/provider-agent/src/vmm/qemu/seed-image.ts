import { execFile } from 'node:child_process';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

/**
 * The NoCloud seed a guest reads at boot (docs/ARCHITECTURE.md §11): a small read-only ISO 9660
 * volume labelled `cidata` holding meta-data, user-data and network-config (version 2), the files
 * cloud-init's NoCloud data source reads on a real OS. The tiny-linux image's init reads the same
 * files (tools/guest-image/build.sh), so what a test proves on tiny-linux is what Debian or Ubuntu
 * cloud images get.
 *
 * The files are written in a plain subset of YAML (one key per line, lists as `- item`), which any
 * YAML parser reads and a shell script can read too.
 */

/** One NIC the guest configures, matched by its MAC. */
export interface SeedNic {
  /** A name for the interface in network-config (`private`, `uplink`). */
  name: string;
  mac: string;
  /** Address with prefix, e.g. `10.64.3.10/24`. Absent: the NIC is left unconfigured. */
  address?: string;
  /** Default route through this gateway (the uplink, when outbound is allowed). */
  gateway?: string;
  nameservers?: string[];
}

export interface GuestSeed {
  /** cloud-init's instance-id: the machine id (a new id would make cloud-init run again). */
  instanceId: string;
  hostname: string;
  /** OpenSSH public key lines for root's authorized_keys. */
  sshKeys: string[];
  nics: SeedNic[];
}

/** The volume label NoCloud looks for. */
export const SEED_VOLUME_LABEL = 'cidata';

export function renderMetaData(seed: GuestSeed): string {
  return `instance-id: ${seed.instanceId}\nlocal-hostname: ${seed.hostname}\n`;
}

export function renderUserData(seed: GuestSeed): string {
  const keys = seed.sshKeys.map((key) => `  - ${JSON.stringify(key)}\n`).join('');
  // disable_root false: the buyer logs in as root, as on the machine they rented (the ssh command
  // the machine page shows).
  return `#cloud-config\nhostname: ${seed.hostname}\ndisable_root: false\nssh_authorized_keys:\n${keys || '  []\n'}`;
}

export function renderNetworkConfig(seed: GuestSeed): string {
  const lines = ['version: 2', 'ethernets:'];
  for (const nic of seed.nics) {
    lines.push(`  ${nic.name}:`, '    match:', `      macaddress: "${nic.mac.toLowerCase()}"`);
    if (!nic.address) {
      lines.push('    dhcp4: false');
      continue;
    }
    lines.push('    dhcp4: false', '    addresses:', `      - ${nic.address}`);
    if (nic.gateway) lines.push('    routes:', '      - to: 0.0.0.0/0', `        via: ${nic.gateway}`);
    if (nic.nameservers?.length) lines.push('    nameservers:', '      addresses:', ...nic.nameservers.map((ns) => `        - ${ns}`));
  }
  return lines.join('\n') + '\n';
}

/** Write the seed ISO to `file` (atomically: a temporary file renamed over it). Uses xorriso. */
export async function writeSeedImage(file: string, seed: GuestSeed, xorriso = 'xorriso'): Promise<void> {
  const work = await mkdtemp(join(dirname(file), '.seed-'));
  try {
    const root = join(work, 'root');
    await execFileP('mkdir', [root]);
    await writeFile(join(root, 'meta-data'), renderMetaData(seed));
    await writeFile(join(root, 'user-data'), renderUserData(seed));
    await writeFile(join(root, 'network-config'), renderNetworkConfig(seed));
    const out = join(work, 'seed.iso');
    await execFileP(xorriso, ['-as', 'mkisofs', '-quiet', '-o', out, '-V', SEED_VOLUME_LABEL, '-J', '-R', root]);
    await rename(out, file);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
