// Loaded into a benchmarked API process with `node --import` (tools/bench/agents.bench.mjs,
// BENCH_AGENTS_PROFILE): a V8 CPU profile from start-up, written to BENCH_CPU_PROFILE_FILE when the
// process receives SIGUSR2 (node's --cpu-prof writes only on a normal exit, and the API re-raises
// SIGTERM after its shutdown hooks). Open the file in Chrome's DevTools.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

const file = process.env.BENCH_CPU_PROFILE_FILE;
if (file) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable', () => session.post('Profiler.start'));
  process.on('SIGUSR2', () => {
    session.post('Profiler.stop', (error, result) => {
      if (!error) writeFileSync(file, JSON.stringify(result.profile));
      session.disconnect();
    });
  });
}
