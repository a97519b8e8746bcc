/** `--limit-nodes N|N%`: parsing, and choosing that many of the discovered nodes at random. */
import { randomInt } from 'node:crypto';
import { InvalidArgumentError } from '../errors.js';

/** A node limit: an absolute count or a percentage of the discovered nodes. */
export type NodeLimit = { count: number } | { percent: number };

/** Parses `N` (N >= 1) or `N%` (0 < N <= 100); throws InvalidArgumentError naming `argument` otherwise. */
export function parseNodeLimit(text: string, argument = '--limit-nodes'): NodeLimit {
  const match = /^(\d+)(%?)$/.exec(String(text).trim());
  const value = match ? Number(match[1]) : NaN;
  if (!match || !Number.isSafeInteger(value) || value < 1 || (match[2] === '%' && value > 100)) {
    throw new InvalidArgumentError(`${argument}: ${JSON.stringify(text)} is not a node count (N >= 1) or a percentage (1% to 100%)`);
  }
  return match[2] === '%' ? { percent: value } : { count: value };
}

/** How many of `total` nodes the limit allows (a percentage rounds up, as MCollective does). */
export function limitCount(limit: NodeLimit, total: number): number {
  return 'count' in limit ? Math.min(limit.count, total) : Math.min(total, Math.ceil((total * limit.percent) / 100));
}

/** A uniformly random subset of `nodes` of the allowed size, in the original order. */
export function applyNodeLimit(nodes: readonly string[], limit: NodeLimit | undefined, pick: (max: number) => number = randomInt): string[] {
  if (!limit) return [...nodes];
  const keep = limitCount(limit, nodes.length);
  const indexes = nodes.map((_, i) => i);
  // Partial Fisher-Yates: the first `keep` slots become a uniform sample.
  for (let i = 0; i < keep; i++) {
    const j = i + pick(indexes.length - i);
    [indexes[i], indexes[j]] = [indexes[j]!, indexes[i]!];
  }
  const chosen = new Set(indexes.slice(0, keep));
  return nodes.filter((_, i) => chosen.has(i));
}
