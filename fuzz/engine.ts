/**
 * The fuzzing loop for one side of one target: each iteration takes a seed message, applies one to three
 * mutations chosen by a generator derived from (seed, side, iteration), decodes the result and classifies it:
 * - refused with a documented security error (a concrete SecurityError subclass of src/errors.ts): expected;
 * - any other throw: a crash;
 * - a decode over `hangMs` that takes over `hangMs` again when repeated: a hang;
 * - decoded although it differs from every valid message: an accepted forgery.
 * Mutants identical to a valid message are skipped (they are not forgeries).
 */
import * as errors from '../src/errors.js';
import { MUTATORS, pickMutator, type MutationContext } from './mutators.js';
import { Rng } from './rng.js';
import type { Side, SideTarget } from './target.js';

/** A crash, hang or accepted forgery, with what reproduces it. */
export interface Finding {
  kind: 'crash' | 'hang' | 'forgery';
  side: Side;
  iteration: number;
  seed: string;
  mutators: string[];
  /** The label of the seed message the mutant came from. */
  base: string;
  /** The mutant, hex (the first 64 KiB). */
  inputHex: string;
  inputBytes: number;
  detail: string;
}

/** Counts of one run. */
export interface FuzzStats {
  side: Side;
  executions: number;
  /** Mutants identical to a valid message, not decoded. */
  identical: number;
  seconds: number;
  crashes: number;
  hangs: number;
  forgeries: number;
  /** Mutants that decoded on a side that authenticates nothing (SideTarget.authenticates false): not findings. */
  unauthenticated: number;
  /** Refusals by error code. */
  refusals: Record<string, number>;
  /** Applications by mutator name. */
  mutators: Record<string, number>;
  /** The slowest single decode, ms. */
  slowestMs: number;
  /** The first findings (at most `maxFindings`), in order. */
  findings: Finding[];
  /** The iteration a continuation of this run starts at. */
  nextIteration: number;
}

/** How to run. */
export interface FuzzOptions {
  side: Side;
  target: SideTarget;
  /** Valid messages of every side of the target (splice and transplant donors). */
  donors: readonly Uint8Array[];
  seed: string;
  /** Mutants to decode (mutants identical to a valid message are not counted); iterations are numbered from `startAt`. */
  count: number;
  startAt?: number;
  /** Stop after this many seconds even if `count` is not reached. */
  seconds?: number;
  /** A decode longer than this is a hang candidate; default 1000. */
  hangMs?: number;
  maxFindings?: number;
  /** Called about once a second with the counts so far. */
  onProgress?: (stats: FuzzStats) => void;
  /** Called at once for every finding. */
  onFinding?: (finding: Finding) => void;
  /** Shared heartbeat for a watchdog: [0] = epoch ms when the current decode started (0 when idle), [1] = iteration. */
  heartbeat?: Float64Array;
}

/** The concrete SecurityError subclasses of the error catalogue: the documented refusals. */
const DOCUMENTED_REFUSALS: ReadonlySet<unknown> = new Set(
  Object.values(errors).filter((value) => typeof value === 'function' && value.prototype instanceof errors.SecurityError),
);

/** Whether `error` is a documented refusal (an instance of a concrete SecurityError subclass, exactly). */
export function isDocumentedRefusal(error: unknown): error is errors.SecurityError {
  return error instanceof errors.SecurityError && DOCUMENTED_REFUSALS.has(error.constructor);
}

/** Runs the loop; returns the counts. */
export function fuzz(options: FuzzOptions): FuzzStats {
  const hangMs = options.hangMs ?? 1000;
  const maxFindings = options.maxFindings ?? 20;
  const startAt = options.startAt ?? 0;
  const stats: FuzzStats = {
    side: options.side, executions: 0, identical: 0, seconds: 0, crashes: 0, hangs: 0, forgeries: 0, unauthenticated: 0,
    refusals: {}, mutators: Object.fromEntries(MUTATORS.map((m) => [m.name, 0])), slowestMs: 0, findings: [], nextIteration: startAt,
  };
  const seeds = options.target.seeds;
  const originals = new Set(options.donors.map((wire) => Buffer.from(wire).toString('base64')));
  const started = performance.now();
  const deadline = options.seconds === undefined ? Infinity : started + options.seconds * 1000;
  let lastProgress = started;
  const heartbeat = options.heartbeat;

  const record = (finding: Omit<Finding, 'side' | 'seed'>): void => {
    const full: Finding = { side: options.side, seed: options.seed, ...finding };
    if (stats.findings.length < maxFindings) stats.findings.push(full);
    options.onFinding?.(full);
  };

  for (let iteration = startAt; stats.executions < options.count; iteration++) {
    stats.nextIteration = iteration + 1;
    if ((iteration & 0xff) === 0) {
      const now = performance.now();
      if (now >= deadline) break;
      if (now - lastProgress >= 1000) {
        lastProgress = now;
        stats.seconds = (now - started) / 1000;
        options.onProgress?.(stats);
      }
    }
    const rng = new Rng(options.seed, options.side, iteration);
    const base = seeds[rng.below(seeds.length)]!;
    const context: MutationContext = { rng, side: options.target, donors: options.donors };
    let mutant: Uint8Array = base.wire;
    const applied: string[] = [];
    for (let n = rng.chance(0.6) ? 1 : rng.between(2, 3); n > 0; n--) {
      const mutator = pickMutator(rng);
      const result = mutator.apply(mutant, context);
      if (result === null) continue;
      mutant = result;
      applied.push(mutator.name);
      stats.mutators[mutator.name]!++;
    }
    if (originals.has(Buffer.from(mutant.buffer, mutant.byteOffset, mutant.length).toString('base64'))) {
      stats.identical++;
      if (stats.identical > options.count + 10_000) throw new Error('fuzz: the mutators keep reproducing valid messages');
      continue;
    }
    stats.executions++;
    const outcome = timedDecode(base.decode, mutant, heartbeat, iteration);
    if (outcome.ms > stats.slowestMs) stats.slowestMs = outcome.ms;
    const describe = { iteration, mutators: applied, base: base.label, inputHex: Buffer.from(mutant.subarray(0, 65536)).toString('hex'), inputBytes: mutant.length };
    if (outcome.ms > hangMs) {
      const again = timedDecode(base.decode, mutant, heartbeat, iteration);
      if (again.ms > hangMs) {
        stats.hangs++;
        record({ kind: 'hang', ...describe, detail: `decode took ${outcome.ms.toFixed(0)} ms, then ${again.ms.toFixed(0)} ms` });
        continue;
      }
    }
    if (outcome.error === undefined && options.target.authenticates === false) {
      stats.unauthenticated++;
    } else if (outcome.error === undefined) {
      stats.forgeries++;
      record({ kind: 'forgery', ...describe, detail: 'a mutated message was accepted' });
    } else if (isDocumentedRefusal(outcome.error)) {
      stats.refusals[outcome.error.code] = (stats.refusals[outcome.error.code] ?? 0) + 1;
    } else {
      stats.crashes++;
      const error = outcome.error as Error;
      record({ kind: 'crash', ...describe, detail: `${error?.constructor?.name ?? typeof error}: ${error?.message ?? String(error)}\n${error?.stack ?? ''}` });
    }
  }
  stats.seconds = (performance.now() - started) / 1000;
  return stats;
}

function timedDecode(decode: (wire: Uint8Array) => unknown, wire: Uint8Array, heartbeat: Float64Array | undefined, iteration: number): { ms: number; error?: unknown } {
  if (heartbeat) {
    heartbeat[1] = iteration;
    heartbeat[0] = Date.now();
  }
  const start = performance.now();
  try {
    decode(wire);
    return { ms: performance.now() - start };
  } catch (error) {
    return { ms: performance.now() - start, error: error ?? new Error('threw undefined') };
  } finally {
    if (heartbeat) heartbeat[0] = 0;
  }
}

/** Adds `more` into `total` (for runs split across workers or restarts). */
export function mergeStats(total: FuzzStats, more: FuzzStats, maxFindings = 20): FuzzStats {
  total.executions += more.executions;
  total.identical += more.identical;
  total.seconds += more.seconds;
  total.crashes += more.crashes;
  total.hangs += more.hangs;
  total.forgeries += more.forgeries;
  total.unauthenticated += more.unauthenticated;
  total.slowestMs = Math.max(total.slowestMs, more.slowestMs);
  total.nextIteration = Math.max(total.nextIteration, more.nextIteration);
  for (const [code, n] of Object.entries(more.refusals)) total.refusals[code] = (total.refusals[code] ?? 0) + n;
  for (const [name, n] of Object.entries(more.mutators)) total.mutators[name] = (total.mutators[name] ?? 0) + n;
  total.findings.push(...more.findings.slice(0, Math.max(0, maxFindings - total.findings.length)));
  return total;
}
