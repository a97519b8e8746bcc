/**
 * How tsco prints: per-node results, the summary and statistics in MCollective's layout (coloured on a
 * terminal, see terminal.ts), one JSON document with --json, and the --output-file copy of that document.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { senderAuthenticated, type RpcReply, type RpcStats } from '../../client/index.js';
import { InvalidArgumentError } from '../../errors.js';
import { StatusCode, type SenderProof } from '../../inter/message.js';
import { readBounded } from './stdin.js';
import { colorWanted, palette, type Palette } from './terminal.js';

/** Where output goes; injectable so commands can be tested without a process. */
export interface Streams {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Whether standard error is a terminal (the discovery line and progress bar are shown only then). */
  errIsTty: boolean;
  /** Whether standard output gets colours (a terminal, no NO_COLOR); none when absent. */
  color?: boolean;
  /** The terminal's width in columns, for the progress bar; 80 when absent. */
  columns?: number;
  /** Reads standard input, refusing more than `maxBytes` (`--nodes -`). */
  readStdin?: (maxBytes: number) => Promise<string>;
}

/** The process's streams (defined in process-streams.ts, which tsco's entry point loads without the client library). */
export { processStreams } from './process-streams.js';

/** The palette for `streams`' standard output. */
export function outputPalette(streams: Streams): Palette {
  return palette(Boolean(streams.color));
}

/**
 * `-o/--output-file FILE`: the file receiving the command's --json document. It is created (or truncated) when the
 * command starts, so a path that cannot be written fails before any request is sent.
 */
export class OutputFile {
  private fd: number | undefined;

  private constructor(readonly path: string, fd: number) {
    this.fd = fd;
  }

  /** Opens `path` for writing, or returns undefined when no path is given. Throws InvalidArgumentError. */
  static open(path: string | undefined): OutputFile | undefined {
    if (path === undefined) return undefined;
    try {
      return new OutputFile(path, openSync(path, 'w', 0o644));
    } catch (error) {
      throw new InvalidArgumentError(`--output-file ${path}: cannot write it (${(error as Error).message})`);
    }
  }

  /** Writes `text` as the file's content and closes it. */
  write(text: string): void {
    if (this.fd === undefined) return;
    writeSync(this.fd, text);
    this.close();
  }

  /** Closes the file (left as written so far). */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

const STATUS_NAMES: Record<number, string> = {
  [StatusCode.OK]: 'OK',
  [StatusCode.Aborted]: 'Aborted',
  [StatusCode.UnknownAction]: 'Unknown Action',
  [StatusCode.MissingData]: 'Missing Data',
  [StatusCode.InvalidData]: 'Invalid Data',
  [StatusCode.Error]: 'Error',
};

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

/** A reply's status as text: `OK`, or the status name and message of a failure (`Error: boom`). */
export function statusText(reply: Pick<RpcReply, 'statuscode' | 'statusmsg'>): string {
  if (reply.statuscode === StatusCode.OK) return 'OK';
  return `${STATUS_NAMES[reply.statuscode] ?? `status ${reply.statuscode}`}: ${reply.statusmsg}`;
}

/** A node's reply as text: the identity, then each output field, or the failure status and message. */
export function formatReply(reply: RpcReply): string {
  return formatReplyWith(palette(false), reply);
}

/** formatReply with colours: a failure's status in red. */
export function formatReplyWith(colors: Palette, reply: RpcReply): string {
  const sender = senderLabel(reply);
  if (reply.statuscode !== StatusCode.OK) return `${sender.padEnd(40)} ${colors.red(statusText(reply))}\n`;
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

/** The closing summary of an RPC call, as `mco rpc` prints it (failures and silent nodes coloured). */
export function formatSummary(stats: RpcStats, verbose: boolean, colors: Palette = palette(false)): string {
  const lines: string[] = [];
  lines.push('');
  lines.push(`Finished processing ${stats.responded} / ${stats.discovered} hosts in ${stats.totalMs.toFixed(2)} ms`);
  if (verbose || stats.failed > 0 || stats.noResponses.length > 0) {
    lines.push('');
    lines.push('---- rpc stats ----');
    const nodes = `${stats.responded} / ${stats.discovered}`;
    lines.push(`           Nodes: ${stats.responded < stats.discovered ? colors.yellow(nodes) : colors.green(nodes)}`);
    lines.push(`     Pass / Fail: ${colors.green(String(stats.ok))} / ${stats.failed > 0 ? colors.red(String(stats.failed)) : '0'}`);
    lines.push(`  Discovery Time: ${stats.discoveryMs.toFixed(2)} ms`);
    lines.push(`      Agent Time: ${stats.agentMs.toFixed(2)} ms`);
    lines.push(`      Total Time: ${stats.totalMs.toFixed(2)} ms`);
    if (verbose) lines.push(` Ignored Replies: ${stats.ignoredReplies}`);
  }
  if (stats.noResponses.length > 0) {
    lines.push('');
    lines.push(colors.red('No response from:'));
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
