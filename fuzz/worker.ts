/**
 * A fuzzing job in a worker thread, so that the main thread's watchdog can end a decode that never returns.
 * Receives a WorkerJob as workerData; posts `progress` (counts so far), `finding` (each at once) and `done`.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { fuzz, type Finding, type FuzzStats } from './engine.js';
import { SIDES, type Side } from './target.js';
import { TARGETS } from './targets/index.js';

/** What a worker is asked to do. */
export interface WorkerJob {
  target: string;
  side: Side;
  seed: string;
  count: number;
  startAt: number;
  seconds?: number;
  hangMs: number;
  /** [0] = epoch ms when the current decode started (0 when idle), [1] = its iteration. */
  heartbeat: SharedArrayBuffer;
}

/** Messages a worker posts. */
export type WorkerMessage =
  | { type: 'ready'; seeds: number }
  | { type: 'progress'; stats: FuzzStats }
  | { type: 'finding'; finding: Finding }
  | { type: 'done'; stats: FuzzStats };

async function main(job: WorkerJob): Promise<void> {
  const post = (message: WorkerMessage): void => parentPort!.postMessage(message);
  const target = await TARGETS[job.target]!(mkdtempSync(join(tmpdir(), 'tsc-fuzz-')));
  try {
    const side = target.sides[job.side];
    if (!side) throw new Error(`target ${target.name} has no ${job.side} side`);
    const donors = SIDES.flatMap((name) => target.sides[name]?.seeds.map((seed) => seed.wire) ?? []);
    post({ type: 'ready', seeds: side.seeds.length });
    const stats = fuzz({
      side: job.side, target: side, donors, seed: job.seed, count: job.count, startAt: job.startAt, hangMs: job.hangMs,
      ...(job.seconds === undefined ? {} : { seconds: job.seconds }),
      heartbeat: new Float64Array(job.heartbeat),
      maxFindings: 0,
      onProgress: (progress) => post({ type: 'progress', stats: progress }),
      onFinding: (finding) => post({ type: 'finding', finding }),
    });
    post({ type: 'done', stats });
  } finally {
    target.close();
  }
}

if (parentPort) void main(workerData as WorkerJob);
