/**
 * Aggregate summaries over the successful replies of a call, as an action's description declares them:
 * `summary` (how many replies gave each value), `boolean_summary` (true/false counts under labels), `count`
 * (replies that gave the output at all), `average`, `sum`, `min` and `max` (over numeric values).
 */
import { displayName, type ActionDdl, type AggregateFunction } from '../../agent/ddl.js';
import { StatusCode } from '../../inter/message.js';
import type { RpcReply } from '../stats.js';

/** One computed aggregate. */
export interface AggregateResult {
  function: AggregateFunction;
  output: string;
  /** The output's label. */
  display_as: string;
  /** How many successful replies had a value the function could use. */
  replies: number;
  /** summary and boolean_summary: each value (as text) and how many replies gave it, most frequent first. */
  counts?: Array<{ value: string; count: number }>;
  /** count, average, sum, min and max: the result (absent when no reply had a usable value). */
  value?: number;
}

/** A value as a summary key: strings as they are, anything else as JSON. */
function keyOf(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
}

function counted(values: readonly string[]): Array<{ value: string; count: number }> {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return [...counts].map(([value, count]) => ({ value, count })).sort((a, b) => b.count - a.count || a.value.localeCompare(b.value));
}

/** The aggregates `action` declares, computed over the successful replies among `replies`. */
export function computeAggregates(action: ActionDdl, replies: readonly RpcReply[]): AggregateResult[] {
  const ok = replies.filter((reply) => reply.statuscode === StatusCode.OK);
  return (action.aggregate ?? []).map((aggregate) => {
    const output = action.output?.[aggregate.output];
    const present = ok.map((reply) => reply.data[aggregate.output] ?? output?.default).filter((value) => value !== undefined && value !== null);
    const base = { function: aggregate.function, output: aggregate.output, display_as: displayName(aggregate.output, output) };
    switch (aggregate.function) {
      case 'summary':
        return { ...base, replies: present.length, counts: counted(present.map(keyOf)) };
      case 'boolean_summary': {
        const labels = aggregate.labels ?? { true: 'true', false: 'false' };
        const booleans = present.filter((value): value is boolean => typeof value === 'boolean');
        return { ...base, replies: booleans.length, counts: counted(booleans.map((value) => (value ? labels.true : labels.false))) };
      }
      case 'count':
        return { ...base, replies: present.length, value: present.length };
      default: {
        const numbers = present.filter((value): value is number => typeof value === 'number' && Number.isFinite(value));
        const result = { ...base, replies: numbers.length };
        if (numbers.length === 0) return result;
        const sum = numbers.reduce((total, n) => total + n, 0);
        const value = aggregate.function === 'sum' ? sum
          : aggregate.function === 'average' ? sum / numbers.length
          : aggregate.function === 'min' ? numbers.reduce((a, b) => Math.min(a, b))
          : numbers.reduce((a, b) => Math.max(a, b));
        return { ...result, value };
      }
    }
  });
}
