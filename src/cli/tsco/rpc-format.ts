/**
 * RPC output driven by the action's description: which replies are printed (the action's display policy, or
 * `--display ok|failed|all`), outputs under their display names in declared order (defaults filled in), and the
 * aggregate summaries printed after the results (text) or as the `aggregates` member of the --json document.
 */
import { displayName, displayPolicy, type ActionDdl, type DisplayPolicy } from '../../agent/ddl.js';
import type { AggregateResult } from '../../client/ddl/aggregate.js';
import type { RpcReply } from '../../client/index.js';
import { InvalidArgumentError } from '../../errors.js';
import { StatusCode } from '../../inter/message.js';
import { formatReplyWith } from './output.js';
import { palette, type Palette } from './terminal.js';

/** The values of `--display`. */
export const DISPLAY_OPTIONS = ['ok', 'failed', 'all'] as const;
/** One value of `--display`. */
export type DisplayOption = (typeof DISPLAY_OPTIONS)[number];

/** The policy in force: `--display` when given (`all` is `always`), else the action's, else `always`. */
export function effectiveDisplay(option: string | undefined, action: ActionDdl | undefined): DisplayPolicy {
  if (option === undefined) return action ? displayPolicy(action) : 'always';
  if (!(DISPLAY_OPTIONS as readonly string[]).includes(option)) throw new InvalidArgumentError(`--display: expected ${DISPLAY_OPTIONS.join(', ')}, got ${JSON.stringify(option)}`);
  return option === 'all' ? 'always' : (option as DisplayPolicy);
}

/** Whether `reply` is printed under `policy`. */
export function shouldDisplay(reply: RpcReply, policy: DisplayPolicy): boolean {
  if (policy === 'always') return true;
  return policy === 'ok' ? reply.statuscode === StatusCode.OK : reply.statuscode !== StatusCode.OK;
}

/**
 * A successful reply's data under display names, in declared order: declared outputs a reply lacks show their
 * default; undeclared fields follow under their own names. Without a description, the data as it is.
 */
export function labelledData(reply: RpcReply, action: ActionDdl | undefined): Record<string, unknown> {
  if (!action?.output) return reply.data;
  const labelled: Record<string, unknown> = {};
  const used = new Set<string>();
  const put = (label: string, key: string, value: unknown): void => {
    // Two fields under one label would hide one of them: the second keeps its field name.
    const name = used.has(label) ? key : label;
    used.add(name);
    labelled[name] = value;
  };
  for (const [key, output] of Object.entries(action.output)) {
    const value = Object.hasOwn(reply.data, key) ? reply.data[key] : output.default;
    if (value !== undefined) put(displayName(key, output), key, value);
  }
  for (const [key, value] of Object.entries(reply.data)) if (!Object.hasOwn(action.output, key)) put(key, key, value);
  return labelled;
}

/**
 * A reply as text, its outputs under their display names in declared order (labelledData). Failed replies print
 * as formatReply does (their status in red when `colors` say so).
 */
export function formatDescribedReply(reply: RpcReply, action: ActionDdl | undefined, colors: Palette = palette(false)): string {
  if (reply.statuscode !== StatusCode.OK) return formatReplyWith(colors, reply);
  return formatReplyWith(colors, { ...reply, data: labelledData(reply, action) });
}

const NUMERIC_LABELS: Record<string, string> = { count: 'Count', average: 'Average', sum: 'Sum', min: 'Minimum', max: 'Maximum' };

function formatNumber(value: number, fn: string): string {
  return fn === 'average' || !Number.isInteger(value) ? value.toFixed(2) : String(value);
}

/** The aggregate summaries as text, grouped by output: `Summary of <display name>:` then counts or values. */
export function formatAggregates(results: readonly AggregateResult[]): string {
  if (results.length === 0) return '';
  const groups = new Map<string, AggregateResult[]>();
  for (const result of results) groups.set(result.output, [...(groups.get(result.output) ?? []), result]);
  const lines: string[] = [];
  for (const group of groups.values()) {
    lines.push('', `Summary of ${group[0]!.display_as}:`, '');
    const counts = group.flatMap((result) => result.counts ?? []);
    const width = Math.max(0, ...counts.map((entry) => entry.value.length));
    for (const result of group) {
      if (result.counts) {
        if (result.counts.length === 0) lines.push('   (no values)');
        for (const entry of result.counts) lines.push(`   ${entry.value.padStart(width)} = ${entry.count}`);
      } else {
        const label = NUMERIC_LABELS[result.function]!;
        lines.push(`   ${label.padStart(7)}: ${result.value === undefined ? '(no values)' : formatNumber(result.value, result.function)}`);
      }
    }
  }
  return `${lines.join('\n')}\n`;
}
