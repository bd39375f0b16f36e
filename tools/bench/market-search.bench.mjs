// Market search over 10,000 hosts through the API: p50 and p95 of POST /api/market/search (goal p95 < 50 ms).
import { percentile, signUpWithToken, startApi } from './api-server.mjs';

export const name = 'market-search';

const HOSTS = Number(process.env.BENCH_HOSTS ?? 10_000);
const SEARCHES = Number(process.env.BENCH_SEARCHES ?? 200);

export async function run() {
  // One provider holds every host: lift the per-user host quota (100 by default) to the bench's size.
  const api = await startApi({ env: { VIRTUOSO_QUOTA_HOSTS: String(HOSTS) } });
  try {
    const provider = await signUpWithToken(api.base, 'bench-provider', 'provider');
    const buyer = await signUpWithToken(api.base, 'bench-buyer', 'buyer');
    const t0 = performance.now();
    let next = 0;
    // Varied hosts: sizes and prices spread so that the search filters some out on each criterion.
    const addHost = async (i) => {
      const res = await fetch(`${api.base}/api/hosts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${provider}` },
        body: JSON.stringify({
          name: `bench-${i}`, processor: 'Pentium3', speed: 2000 + (i % 50) * 1000, speedUnit: 1000,
          speedUnitPrice: `0.0000${1 + (i % 9)}`, memory: 64 + (i % 32) * 64, memoryUnit: 4, memoryUnitPrice: `0.00000${1 + (i % 7)}`,
          runningUnitAmount: 3600, storage: 1000 + (i % 100) * 1000, storageUnit: 100, storageUnitPrice: `0.0${1 + (i % 5)}`,
          storageAmount: 30, connectionSpeed: '1Gbps', agentHost: '127.0.0.1', agentPort: 7000 + (i % 1000),
        }),
      });
      if (res.status !== 201) throw new Error(`add host ${i}: ${res.status} ${await res.text()}`);
    };
    await Promise.all(Array.from({ length: 8 }, async () => { while (next < HOSTS) await addHost(next++); }));
    console.log(`added ${HOSTS} hosts in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const spec = { speed: 4000, memory: 256, disk: 1000, askedStoragePerMonth: '10', askedRunningPerHour: '5' };
    const times = [];
    let offers = 0;
    for (let i = 0; i < SEARCHES + 20; i++) {
      const s = performance.now();
      const res = await fetch(`${api.base}/api/market/search`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${buyer}` },
        body: JSON.stringify(spec),
      });
      const body = await res.json();
      const ms = performance.now() - s;
      if (res.status !== 200 && res.status !== 201) throw new Error(`search: ${res.status} ${JSON.stringify(body)}`);
      offers = body.length;
      if (i >= 20) times.push(ms); // the first 20 warm the JIT and the page cache
    }
    times.sort((a, b) => a - b);
    console.log(`market search over ${HOSTS} hosts (${offers} offers returned), ${SEARCHES} searches:`);
    console.log(`  p50 ${percentile(times, 50).toFixed(1)} ms   p95 ${percentile(times, 95).toFixed(1)} ms   max ${times.at(-1).toFixed(1)} ms   (goal p95 < 50 ms)`);
  } finally {
    await api.stop();
  }
}
