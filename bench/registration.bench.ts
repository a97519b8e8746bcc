/**
 * `npm run bench [-- --json] [-- --nodes N]`: the registration stores at fleet size. For sqlite and postgresql:
 * - `registration/write/<backend>`: ms per registration of a node with 60 facts, wall time divided by the count:
 *   a node's first registration, and a known node's (the steady state, every interval: its volatile facts
 *   changed), each measured two ways. `..._one_at_a_time`: the next registration arrives when the last one is
 *   committed (a quiet fleet: a lone registration's latency, no group commit possible). `..._burst` (the figures
 *   the 0.5 ms target applies to): 2,000 registrations arriving together, as after a broker outage (every node
 *   registers again on reconnecting) or when a collector starts; group commit writes those arriving together in
 *   one transaction and acknowledges each after its commit, so this is the collector's capacity. `cpu_ms_...`
 *   is this process's CPU time per registration (sqlite works in-process), which a loaded machine inflates less
 *   than wall time;
 * - `registration/query-10k/<backend>`: p50 and p95 ms of a fact filter, a class filter, a compound filter and one
 *   identity over N nodes (10,000 by default) with 60 facts each, scoped to active nodes as discovery asks.
 * Targets: write <= 0.5 ms; every query p50 <= 20 ms. PostgreSQL is the one at TSCO_BENCH_POSTGRES_URL, else
 * postgresql://postgres@127.0.0.1:5432/test, in a schema of its own dropped afterwards; after the bulk load the
 * bench runs VACUUM ANALYZE, as autovacuum would within a minute, then refreshes 4,000 nodes before querying.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import type { RegistrationQuery, RegistrationStore } from '../src/inter/registration.js';
import { openRegistrationStore, type RegistrationStoreSettings } from '../src/registration/stores/index.js';
import { registration } from './registration-fleet.js';

const args = process.argv.slice(2);
const json = args.includes('--json');
const nodesIndex = args.indexOf('--nodes');
const NODES = nodesIndex >= 0 ? Number(args[nodesIndex + 1]) : 10_000;
const POSTGRES_URL = process.env['TSCO_BENCH_POSTGRES_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/test';
const WRITES = 2000;
/** Registrations in flight at once in a burst (all of them arrive before the first is written). */
const BURST = 2000;
const QUERY_RUNS = 40;

const SEEN_SINCE = Date.now() - 3 * 300 * 1000;
const QUERIES: Record<string, RegistrationQuery> = {
  fact: { seenSince: SEEN_SINCE, filter: { fact: [{ fact: 'country', operator: '==', value: 'uk' }] } },
  class: { seenSince: SEEN_SINCE, filter: { cf_class: ['role::web'] } },
  compound: { seenSince: SEEN_SINCE, filter: { compound: ['(country=uk or country=de) and not environment=dev and uptime_seconds>86400 and os=~/^deb/'] } },
  identity: { seenSince: SEEN_SINCE, filter: { identity: ['node04711.example.com'] } },
};

/** Runs `work` for every index in [from, to) with `parallel` in flight; resolves to ms per item. */
async function timed(from: number, to: number, parallel: number, work: (index: number) => Promise<unknown>): Promise<number> {
  let next = from;
  const started = performance.now();
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < to) await work(next++);
  }));
  return (performance.now() - started) / (to - from);
}

const round = (value: number): number => Number(value.toFixed(3));
const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))]!;

/** What autovacuum does within a minute of a bulk load: statistics for the planner, the visibility map. */
async function vacuumAnalyze(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    for (const table of ['nodes', 'facts', 'agents', 'classes', 'collectives']) await client.query(`VACUUM ANALYZE "${schema}".${table}`);
  } finally {
    await client.end();
  }
}

async function benchBackend(settings: RegistrationStoreSettings): Promise<Record<string, Record<string, unknown>>> {
  const store: RegistrationStore = await openRegistrationStore(settings);
  try {
    const write: Record<string, number> = {};
    const measure = async (name: string, from: number, to: number, parallel: number, generation: number): Promise<void> => {
      // Built before the clock starts: the bench times the store, not the fleet generator.
      const updates = Array.from({ length: to - from }, (_, i) => registration(from + i, generation));
      const cpu = process.cpuUsage();
      write[`ms_per_registration_${name}`] = round(await timed(0, updates.length, parallel, (i) => store.record(updates[i]!)));
      const used = process.cpuUsage(cpu);
      write[`cpu_ms_per_registration_${name}`] = round((used.user + used.system) / 1000 / (to - from));
    };
    // New nodes: one at a time, then a burst; then the rest of the fleet arrives in bursts.
    await measure('new_node_one_at_a_time', 0, WRITES, 1, 0);
    await measure('new_node_burst', WRITES, 2 * WRITES, BURST, 0);
    await timed(2 * WRITES, NODES, BURST, (i) => store.record(registration(i)));
    if (settings.backend === 'postgresql') await vacuumAnalyze(settings.schema);
    // A known node re-registering (every interval) with its volatile facts changed: the steady state.
    await measure('known_node_one_at_a_time', 0, WRITES, 1, 1);
    await measure('known_node_burst', WRITES, 2 * WRITES, BURST, 1);
    const queries: Record<string, unknown> = {};
    for (const [name, query] of Object.entries(QUERIES)) {
      await store.query(query);
      const times: number[] = [];
      let selected = 0;
      for (let run = 0; run < QUERY_RUNS; run++) {
        const started = performance.now();
        selected = (await store.query(query)).length;
        times.push(performance.now() - started);
      }
      times.sort((a, b) => a - b);
      queries[name] = { p50_ms: round(percentile(times, 0.5)), p95_ms: round(percentile(times, 0.95)), nodes_selected: selected };
    }
    return {
      [`registration/write/${settings.backend}`]: { ...write, target_ms: 0.5 },
      [`registration/query-10k/${settings.backend}`]: { nodes: NODES, facts_per_node: 60, ...queries, target_p50_ms: 20 },
    };
  } finally {
    await store.close();
  }
}

async function postgresProblem(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return undefined;
  } catch (error) {
    return `PostgreSQL not reachable at ${POSTGRES_URL}: ${(error as Error).message}`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

const results: Record<string, unknown> = {};
const dir = mkdtempSync(join(tmpdir(), 'tsco-bench-registration-'));
try {
  Object.assign(results, await benchBackend({ backend: 'sqlite', path: join(dir, 'registration.sqlite') }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const problem = await postgresProblem();
if (problem) {
  results['registration/write/postgresql'] = { skipped: problem };
  results['registration/query-10k/postgresql'] = { skipped: problem };
} else {
  const schema = `tsco_bench_${process.pid}`;
  try {
    Object.assign(results, await benchBackend({ backend: 'postgresql', url: POSTGRES_URL, schema }));
  } finally {
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
  }
}

if (json) {
  console.log(JSON.stringify(results));
} else {
  console.log(`registration stores: ${NODES} nodes, 60 facts each; write target <= 0.5 ms, query p50 target <= 20 ms\n`);
  for (const [name, figures] of Object.entries(results)) console.log(`${name.padEnd(36)}${JSON.stringify(figures)}`);
}
