#!/usr/bin/env node
/**
 * `npm run fuzz -- --count N [--seconds S] [--seed X] [--side request|reply|both] [--target NAME]`
 *
 * Mutates valid messages of a codec (default: the aes_security provider) and decodes them, per side, in a worker
 * thread watched by this one. Prints, per side: mutants decoded, seconds, executions per second, crashes (a throw
 * that is not a documented security error), hangs (one decode over --hang-ms, 1000 by default, twice) and accepted
 * forgeries (a mutant that decodes). A decode that does not return within --kill-after seconds is a hang too: the
 * worker is ended and the run goes on from the next iteration. Exit status 1 on any finding, 2 on bad usage.
 * docs/testing.md ("The fuzzer") describes the mutations, the messages and what a finding holds.
 */
import { writeFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { Command, InvalidArgumentError, Option } from 'commander';
import { mergeStats, type Finding, type FuzzStats } from './engine.js';
import { MUTATORS } from './mutators.js';
import { SIDES, type Side } from './target.js';
import { DEFAULT_TARGET, TARGETS } from './targets/index.js';
import type { WorkerJob, WorkerMessage } from './worker.js';

interface CliOptions {
  count?: number;
  seconds?: number;
  seed: string;
  side: 'request' | 'reply' | 'both';
  target: string;
  hangMs: number;
  killAfter: number;
  findings?: string;
  json: boolean;
  quiet: boolean;
}

function positive(name: string, integer: boolean) {
  return (text: string): number => {
    const value = Number(text);
    if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
      throw new InvalidArgumentError(`${name} must be a positive ${integer ? 'integer' : 'number'}`);
    }
    return value;
  };
}

function emptyStats(side: Side, startAt: number): FuzzStats {
  return {
    side, executions: 0, identical: 0, seconds: 0, crashes: 0, hangs: 0, forgeries: 0, unauthenticated: 0, refusals: {},
    mutators: Object.fromEntries(MUTATORS.map((m) => [m.name, 0])), slowestMs: 0, findings: [], nextIteration: startAt,
  };
}

/** Runs one side to completion, restarting the worker after a watchdog kill. */
async function runSide(options: CliOptions, side: Side, count: number, log: (line: string) => void): Promise<FuzzStats> {
  const total = emptyStats(side, 0);
  const started = Date.now();
  const deadline = options.seconds === undefined ? Infinity : started + options.seconds * 1000;
  let startAt = 0;
  while (total.executions < count && Date.now() < deadline) {
    const heartbeat = new SharedArrayBuffer(16);
    const beat = new Float64Array(heartbeat);
    const job: WorkerJob = {
      target: options.target, side, seed: options.seed, count: count - total.executions, startAt, hangMs: options.hangMs, heartbeat,
      ...(deadline === Infinity ? {} : { seconds: Math.max(0.001, (deadline - Date.now()) / 1000) }),
    };
    const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: job });
    let last = emptyStats(side, startAt);
    const findings: Finding[] = [];
    let lastReport = Date.now();
    const outcome = await new Promise<{ stats: FuzzStats; killedAt?: number }>((resolve, reject) => {
      const watchdog = setInterval(() => {
        const since = beat[0]!;
        if (since > 0 && Date.now() - since > options.killAfter * 1000) {
          const iteration = beat[1]!;
          clearInterval(watchdog);
          void worker.terminate();
          resolve({ stats: last, killedAt: iteration });
        }
      }, 250);
      worker.on('message', (message: WorkerMessage) => {
        if (message.type === 'finding') {
          findings.push(message.finding);
          log(`fuzz: ${message.finding.kind} at ${side} iteration ${message.finding.iteration} (${message.finding.mutators.join('+')} on "${message.finding.base}"): ${message.finding.detail.split('\n')[0]}`);
        } else if (message.type === 'progress') {
          last = message.stats;
          if (Date.now() - lastReport >= 30_000) {
            lastReport = Date.now();
            const done = total.executions + last.executions;
            log(`fuzz: ${side}: ${done} of ${count} (${Math.round(last.executions / Math.max(last.seconds, 0.001))}/s), crashes ${total.crashes + last.crashes}, hangs ${total.hangs + last.hangs}, forgeries ${total.forgeries + last.forgeries}`);
          }
        } else if (message.type === 'done') {
          clearInterval(watchdog);
          resolve({ stats: message.stats });
        }
      });
      worker.on('error', (error) => {
        clearInterval(watchdog);
        reject(error);
      });
      worker.on('exit', (code) => {
        clearInterval(watchdog);
        if (code !== 0) reject(new Error(`fuzz worker exited with code ${code}`));
      });
    });
    outcome.stats.findings = findings;
    mergeStats(total, outcome.stats, Infinity);
    if (outcome.killedAt === undefined) break;
    // The decode that never returned: a hang; the run goes on after it.
    const killed = outcome.killedAt;
    total.hangs++;
    total.executions++;
    total.findings.push({
      kind: 'hang', side, seed: options.seed, iteration: killed, mutators: [], base: '(see the iteration)', inputHex: '', inputBytes: 0,
      detail: `decode did not return within ${options.killAfter} s; the worker was ended (counts of its last second are approximate)`,
    });
    log(`fuzz: hang at ${side} iteration ${killed}: no return within ${options.killAfter} s, worker ended, continuing`);
    startAt = killed + 1;
  }
  // total.seconds sums the workers' fuzzing loops (the rate's denominator); set-up time (keys) is not in it.
  return total;
}

function report(target: string, stats: FuzzStats, seed: string): string {
  const rate = Math.round(stats.executions / Math.max(stats.seconds, 0.001));
  const refusals = Object.entries(stats.refusals).sort((a, b) => b[1] - a[1]).map(([code, n]) => `${code} ${n}`).join(', ');
  const mutators = Object.entries(stats.mutators).map(([name, n]) => `${name} ${n}`).join(', ');
  return [
    `${target}, ${stats.side} side, seed ${JSON.stringify(seed)}: ${stats.executions} mutants decoded in ${stats.seconds.toFixed(1)} s (${rate}/s)` +
      (stats.identical > 0 ? `; ${stats.identical} identical to a valid message skipped` : ''),
    `  crashes ${stats.crashes}, hangs ${stats.hangs}, accepted forgeries ${stats.forgeries} (slowest decode ${stats.slowestMs.toFixed(1)} ms)` +
      (stats.unauthenticated > 0 ? `; ${stats.unauthenticated} decoded on a side the protocol does not authenticate (not findings)` : ''),
    `  refusals: ${refusals || 'none'}`,
    `  mutations applied: ${mutators}`,
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const program = new Command('fuzz')
    .description('Mutates valid messages and decodes them; reports crashes, hangs and accepted forgeries.')
    .option('-n, --count <n>', 'mutants to decode per side (default 100000 unless --seconds is given)', positive('--count', true))
    .option('-s, --seconds <s>', 'stop each side after this many seconds', positive('--seconds', false))
    .option('--seed <x>', 'seed of every mutation decision', 'tscollective')
    .addOption(new Option('--side <side>', 'which side to fuzz').choices(['request', 'reply', 'both']).default('both'))
    .addOption(new Option('--target <name>', 'codec to fuzz').choices(Object.keys(TARGETS)).default(DEFAULT_TARGET))
    .option('--hang-ms <ms>', 'a decode longer than this (twice) is a hang', positive('--hang-ms', true), 1000)
    .option('--kill-after <s>', 'end a decode that has not returned after this many seconds', positive('--kill-after', false), 30)
    .option('--findings <file>', 'write every finding (with its input, hex) to this JSON file')
    .option('--json', 'print the counts as JSON', false)
    .option('-q, --quiet', 'no progress lines on standard error', false)
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });
  try {
    program.parse(argv, { from: 'user' });
  } catch (error) {
    const code = (error as { exitCode?: number }).exitCode;
    return code === 0 ? 0 : 2;
  }
  const options = program.opts<CliOptions>();
  const count = options.count ?? (options.seconds === undefined ? 100_000 : Number.MAX_SAFE_INTEGER);
  const sides: Side[] = options.side === 'both' ? [...SIDES] : [options.side];
  const log = (line: string): void => { if (!options.quiet) process.stderr.write(`${line}\n`); };
  const results: FuzzStats[] = [];
  for (const side of sides) results.push(await runSide(options, side, count, log));

  const findings = results.flatMap((stats) => stats.findings);
  if (options.findings) writeFileSync(options.findings, `${JSON.stringify(findings, null, 2)}\n`);
  if (options.json) {
    const summary = results.map(({ findings: list, ...counts }) => ({
      target: options.target, seed: options.seed, ...counts, execsPerSecond: Math.round(counts.executions / Math.max(counts.seconds, 0.001)), findings: list.length,
    }));
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  } else {
    for (const stats of results) process.stdout.write(`${report(options.target, stats, options.seed)}\n`);
    for (const finding of findings.slice(0, 10)) {
      process.stdout.write(`${finding.kind}: ${finding.side} iteration ${finding.iteration}, ${finding.mutators.join('+')} on "${finding.base}" (${finding.inputBytes} bytes): ${finding.detail.split('\n')[0]}\n`);
    }
  }
  return findings.length > 0 || results.some((s) => s.crashes + s.hangs + s.forgeries > 0) ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (error: Error) => {
    process.stderr.write(`fuzz: ${error.stack ?? error.message}\n`);
    process.exitCode = 2;
  },
);
