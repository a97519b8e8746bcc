/**
 * How tsco prints: per-node results, the summary and statistics in MCollective's layout, one JSON document
 * with --json, and a "n / total" progress line on standard error when it is a terminal.
 */
import { senderAuthenticated, type RpcReply, type RpcStats } from '../../client/index.js';
import { StatusCode, type SenderProof } from '../../inter/message.js';

/** Where output goes; injectable so commands can be tested without a process. */
export interface Streams {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Whether standard error is a terminal (progress is shown only then). */
  errIsTty: boolean;
}

/** The real process streams. */
export const processStreams: Streams = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  errIsTty: Boolean(process.stderr.isTTY),
};

const STATUS_NAMES: Record<number, string> = {
  [StatusCode.OK]: 'OK',
  [StatusCode.Aborted]: 'Aborted',
  [StatusCode.UnknownAction]: 'Unknown Action',
  [StatusCode.MissingData]: 'Missing Data',
  [StatusCode.InvalidData]: 'Invalid Data',
  [StatusCode.Error]: 'Error',
};

/** A progress reporter: rewrites "n / total" in place on a terminal, does nothing otherwise. */
export function progress(streams: Streams): { update(received: number, expected: number): void; done(): void } {
  let shown = false;
  return {
    update(received, expected) {
      if (!streams.errIsTty) return;
      shown = true;
      streams.err(`\r\x1b[K${received} / ${expected || '?'}`);
    },
    /** Clears the line (before other output, and at the end). */
    done() {
      if (shown) streams.err('\r\x1b[K');
      shown = false;
    },
  };
}

/**
 * The sender of a reply as shown to a user: the identity when the signing key proves it, otherwise the identity
 * followed by what is (not) known about it, e.g. `node1 [unauthenticated name: signed by shared key cert=servers]`.
 */
export function senderLabel(reply: { sender: string; signer: string; senderProof: SenderProof }): string {
  if (senderAuthenticated(reply)) return reply.sender;
  if (reply.senderProof === 'shared') return `${reply.sender} [unauthenticated name: signed by shared key ${reply.signer}]`;
  if (reply.senderProof === 'unsigned') return `${reply.sender} [unauthenticated: unsigned reply]`;
  return `${reply.sender} [unauthenticated name: signed by ${reply.signer || 'an unknown key'}]`;
}

/** A node's reply as text: the identity, then each output field, or the failure status and message. */
export function formatReply(reply: RpcReply): string {
  const sender = senderLabel(reply);
  if (reply.statuscode !== StatusCode.OK) {
    return `${sender.padEnd(40)} ${STATUS_NAMES[reply.statuscode] ?? `status ${reply.statuscode}`}: ${reply.statusmsg}\n`;
  }
  const lines = [sender];
  const keys = Object.keys(reply.data);
  const width = Math.max(0, ...keys.map((key) => key.length));
  for (const key of keys) lines.push(`   ${key.padStart(width)}: ${formatValue(reply.data[key], width + 5)}`);
  return `${lines.join('\n')}\n\n`;
}

/** A value as text: scalars as is, lists and objects as indented JSON. */
export function formatValue(value: unknown, indent: number): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value);
  return JSON.stringify(value, null, 2).split('\n').join(`\n${' '.repeat(indent)}`);
}

/** The closing summary of an RPC call, as `mco rpc` prints it. */
export function formatSummary(stats: RpcStats, verbose: boolean): string {
  const lines: string[] = [];
  lines.push('');
  lines.push(`Finished processing ${stats.responded} / ${stats.discovered} hosts in ${stats.totalMs.toFixed(2)} ms`);
  if (verbose || stats.failed > 0 || stats.noResponses.length > 0) {
    lines.push('');
    lines.push('---- rpc stats ----');
    lines.push(`           Nodes: ${stats.responded} / ${stats.discovered}`);
    lines.push(`     Pass / Fail: ${stats.ok} / ${stats.failed}`);
    lines.push(`  Discovery Time: ${stats.discoveryMs.toFixed(2)} ms`);
    lines.push(`      Agent Time: ${stats.agentMs.toFixed(2)} ms`);
    lines.push(`      Total Time: ${stats.totalMs.toFixed(2)} ms`);
    if (verbose) lines.push(` Ignored Replies: ${stats.ignoredReplies}`);
  }
  if (stats.noResponses.length > 0) {
    lines.push('');
    lines.push(`No response from:`);
    lines.push('');
    for (let i = 0; i < stats.noResponses.length; i += 3) lines.push(`   ${stats.noResponses.slice(i, i + 3).map((n) => n.padEnd(30)).join('').trimEnd()}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The --json document of an RPC call: `{items: [{agent, action, sender, statuscode, statusmsg, data, signer,
 * sender_proof, sender_authenticated}], stats}`, plus any `extra` top-level members (`aggregates`).
 * `sender_authenticated` is false when nothing proves `sender` (a shared server key, an unsigned reply): it is then
 * only the name the reply claims.
 */
export function jsonDocument(items: readonly RpcReply[], stats: RpcStats, extra: Record<string, unknown> = {}): string {
  return `${JSON.stringify({
    items: items.map((item) => ({
      agent: item.agent, action: item.action, sender: item.sender, statuscode: item.statuscode, statusmsg: item.statusmsg, data: item.data,
      signer: item.signer, sender_proof: item.senderProof, sender_authenticated: senderAuthenticated(item),
    })),
    stats,
    ...extra,
  }, null, 2)}\n`;
}
