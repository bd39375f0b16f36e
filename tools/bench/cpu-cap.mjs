// Caps a process at a share of one core with the kernel's CPU controller (CFS bandwidth: a quota of
// run time per period), for the agents bench's BENCH_AGENTS_REPLICA_CPU: on a machine of few cores,
// each API replica then stands for a machine of its own of that size, and what two replicas hold
// against one measures the replicas, not the cores the simulator and PostgreSQL share with them.
// cgroup v1 (a `cpu` hierarchy) or v2 (the `cpu` controller at the root); needs root. The group is
// removed on release (after the process has left it: it exited, or is moved back to the root).
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Of a 10-ms period: a throttled process waits at most the rest of it (a 100-ms period would add tens of ms to latency). */
const PERIOD_US = 10_000;

/** Puts `pid` (all its threads) in a new group allowed `cores` of a core; returns a function that removes the group. */
export function capCpu(pid, label, cores) {
  if (!(cores > 0)) throw new Error(`BENCH_AGENTS_REPLICA_CPU must be a share of a core above 0, got ${cores}`);
  const quota = Math.max(1000, Math.round(PERIOD_US * cores));
  const v1 = '/sys/fs/cgroup/cpu';
  const v2 = '/sys/fs/cgroup';
  let dir;
  let root;
  if (existsSync(join(v1, 'cpu.cfs_quota_us'))) {
    root = v1;
    dir = join(v1, `virtuoso-bench-${label}-${pid}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'cpu.cfs_period_us'), String(PERIOD_US));
    writeFileSync(join(dir, 'cpu.cfs_quota_us'), String(quota));
  } else if (existsSync(join(v2, 'cgroup.controllers')) && readFileSync(join(v2, 'cgroup.controllers'), 'utf8').split(/\s+/).includes('cpu')) {
    root = v2;
    writeFileSync(join(v2, 'cgroup.subtree_control'), '+cpu');
    dir = join(v2, `virtuoso-bench-${label}-${pid}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'cpu.max'), `${quota} ${PERIOD_US}`);
  } else {
    throw new Error('BENCH_AGENTS_REPLICA_CPU needs the kernel CPU controller (cgroup v1 /sys/fs/cgroup/cpu or v2 with cpu) and root');
  }
  writeFileSync(join(dir, 'cgroup.procs'), String(pid));
  return () => {
    try {
      // A process still in it goes back to the root group first (a group with members cannot be removed).
      for (const member of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
        writeFileSync(join(root, 'cgroup.procs'), member);
      }
      rmdirSync(dir);
    } catch {}
  };
}
