/**
 * max_message_size for the NATS client, and the server's -ERR lines as they arrive.
 *
 * What the client buffers: the node transport reads the socket without back-pressure and hands each chunk (at
 * most 64 KiB over TCP, 16 KiB over TLS) to its protocol parser. The parser reads a message's control line
 * (`MSG <subject> <sid> [reply] <size>`, `HMSG ... <header bytes> <total bytes>`) first, so the size is known
 * before any payload byte. A message wholly inside one chunk is handed on as a view of that chunk (no copy); one
 * that spans chunks is assembled in a buffer that grows to its full size (up to the server's max_payload, at most
 * 64 MiB). The server refuses publishes over its max_payload, so that bounds every message, whatever our limit.
 *
 * The guard wraps that parser (`connection.protocol.parser`, nats-core's Parser, pinned by package-lock.json):
 * - its dispatcher: a complete message whose body is over the limit, or whose header block is over
 *   MAX_HEADER_BYTES, is dropped and reported before the client makes a message of it;
 * - its `parse`: when a chunk ends inside such a message, the bytes buffered so far are released and the rest of
 *   the payload is counted off as it streams by, without storing it; the parser resumes at the message's end.
 * So an oversize message costs at most one socket chunk of memory, and the connection keeps working. Every -ERR
 * line is also reported synchronously, before a later PONG settles a flush (permission denials of publishes).
 * Installation throws when the client's internals are not what the guard expects, so an incompatible client
 * fails loudly instead of unguarded.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import type { NatsModule } from './connection.js';

/** The largest header block accepted (ours is under 100 bytes; the body limit does not bound headers). */
export const MAX_HEADER_BYTES = 65_536;

/** A message's control line as the parser holds it. */
interface MsgArg {
  subject: Uint8Array;
  /** Header bytes (HMSG), -1 for MSG. */
  hdr: number;
  /** Total payload bytes (headers included). */
  size: number;
}

/** One parsed protocol item as the parser dispatches it. */
interface ParserEvent {
  kind: number;
  msg?: MsgArg;
  data?: Uint8Array;
}

/** The parts of nats-core's Parser the guard relies on. */
interface GuardedParser {
  state: number;
  ma: MsgArg;
  msgBuf: { readonly length: number } | undefined;
  argBuf: unknown;
  dispatcher: { push(event: ParserEvent): void };
  parse(buf: Uint8Array): void;
}

/** What the guard reports. */
export interface GuardEvents {
  /** A message over the limits was dropped; `bytes` is its announced size (headers included). */
  oversize(bytes: number, subject: string): void;
  /** The server sent `-ERR <text>` (quotes removed). */
  serverError(text: string): void;
}

/** The byte limits of inbound messages. */
export interface GuardLimits {
  /** max_message_size: the largest body. */
  maxBody: number;
  /** The largest header block. */
  maxHeader: number;
}

/** Installs the guard on a freshly opened connection (before any subscription). */
export function guardConnection(connection: NatsConnection, nats: Pick<NatsModule, 'Kind' | 'State'>, limits: GuardLimits, events: GuardEvents): void {
  const parser = (connection as unknown as { protocol?: { parser?: GuardedParser } }).protocol?.parser;
  const { MSG_PAYLOAD, MSG_END } = nats.State as Record<string, number | undefined>;
  const { MSG, ERR } = nats.Kind as Record<string, number | undefined>;
  if (!parser || typeof parser.parse !== 'function' || typeof parser.dispatcher?.push !== 'function' || typeof parser.state !== 'number'
    || MSG_PAYLOAD === undefined || MSG_END === undefined || MSG === undefined || ERR === undefined) {
    throw new TypeError('the NATS client has no protocol.parser with parse/dispatcher/state: the max_message_size guard cannot be installed');
  }
  const tooLarge = (ma: MsgArg): boolean => ma.hdr > limits.maxHeader || (ma.hdr > 0 ? ma.size - ma.hdr : ma.size) > limits.maxBody;
  const report = (ma: MsgArg): void => events.oversize(ma.size, Buffer.from(ma.subject).toString('latin1'));

  const protocol = parser.dispatcher;
  parser.dispatcher = {
    push(event: ParserEvent): void {
      if (event.kind === MSG && event.msg && tooLarge(event.msg)) {
        report(event.msg);
        return;
      }
      if (event.kind === ERR && event.data) events.serverError(Buffer.from(event.data).toString('latin1').trim().replace(/^'(.*)'$/, '$1'));
      protocol.push(event);
    },
  };

  const parse = parser.parse.bind(parser);
  let skipping = 0;
  parser.parse = (chunk: Uint8Array): void => {
    let buf = chunk;
    if (skipping > 0) {
      if (buf.length < skipping) {
        skipping -= buf.length;
        return;
      }
      buf = buf.subarray(skipping);
      skipping = 0;
      // The payload is behind us; its CRLF follows.
      parser.state = MSG_END;
      if (buf.length === 0) return;
    }
    parse(buf);
    if (parser.state === MSG_PAYLOAD && parser.msgBuf !== undefined && tooLarge(parser.ma)) {
      report(parser.ma);
      skipping = Math.max(0, parser.ma.size - parser.msgBuf.length);
      parser.msgBuf = undefined;
      parser.argBuf = undefined;
      if (skipping === 0) parser.state = MSG_END;
    }
  };
}
