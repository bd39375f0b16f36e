import { readFileSync, statfsSync } from 'node:fs';
import * as os from 'node:os';
import type { HostFacts, TransferEndpoint } from '@virtuoso/contracts';
import { AGENT_VERSION } from '../version';

/** Sum of the "bogomips" lines of /proc/cpuinfo, rounded down (report §6.2.1 virt_machine_info.pm). */
export function parseBogomips(cpuinfo: string): number {
  let sum = 0;
  for (const m of cpuinfo.matchAll(/^bogomips\s*:\s*([\d.]+)/gim)) sum += Number(m[1]);
  return Math.floor(sum);
}

export function parseCpuCount(cpuinfo: string): number {
  return (cpuinfo.match(/^processor\s*:/gm) ?? []).length;
}

/** MemTotal of /proc/meminfo in MB (MiB), rounded down. */
export function parseMemTotalMb(meminfo: string): number {
  const m = /^MemTotal:\s*(\d+)\s*kB/m.exec(meminfo);
  return m ? Math.floor(Number(m[1]) / 1024) : 0;
}

/** Free disk (available to this user) where the agent keeps machines, in MB (MiB), rounded down. */
export function freeDiskMb(dir: string): number {
  const s = statfsSync(dir);
  return Math.floor((Number(s.bavail) * Number(s.bsize)) / (1024 * 1024));
}

/** `transfer`: the agent's transfer sshd when it serves migrations (docs/ARCHITECTURE.md §7). */
export function measureHostFacts(dataDir: string, accelerator: string, transfer?: TransferEndpoint): HostFacts {
  let cpuinfo = '';
  let meminfo = '';
  try {
    cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    /* not Linux */
  }
  try {
    meminfo = readFileSync('/proc/meminfo', 'utf8');
  } catch {
    /* not Linux */
  }
  return {
    bogomips: parseBogomips(cpuinfo),
    cpus: parseCpuCount(cpuinfo) || os.cpus().length,
    memoryMb: parseMemTotalMb(meminfo) || Math.floor(os.totalmem() / (1024 * 1024)),
    freeDiskMb: freeDiskMb(dataDir),
    accelerator,
    agentVersion: AGENT_VERSION,
    hostname: os.hostname(),
    ...(transfer ? { transfer } : {}),
  };
}
