/** What vcpusFor needs of a host's measured facts. */
export interface HostCpuFacts {
  /** The host's total bogomips (all CPUs). */
  bogomips: number;
  cpus: number;
}

/**
 * vCPUs for a machine of `speed` bogomips: as many of the host's CPUs as the speed needs (bogomips
 * per CPU = facts.bogomips / facts.cpus), at least 1 and at most the host's CPU count. Unknown facts: 1.
 */
export function vcpusFor(speed: number, facts: HostCpuFacts | null): number {
  if (!facts || facts.cpus < 1 || facts.bogomips < 1) return 1;
  const perCpu = facts.bogomips / facts.cpus;
  return Math.max(1, Math.min(facts.cpus, Math.ceil(speed / perCpu)));
}
