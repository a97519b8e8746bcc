/**
 * The NATS parser guard (plugins/connector/nats/guard.ts) on the client's real protocol parser, fed byte streams
 * cut at every possible place: messages over max_message_size (or with a header block over MAX_HEADER_BYTES) are
 * reported and dropped, spanning ones without ever being assembled (the parser holds no message buffer between
 * chunks), and the parser stays in step so every message after them arrives intact. Also the -ERR reports.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as nats from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { MAX_HEADER_BYTES, guardConnection } from '../../plugins/connector/nats/guard.js';

const LIMIT = 4096;

interface Dispatched { kind: number; size?: number; data?: string }

/** A real Parser with a recording dispatcher, behind the guard. */
function guardedParser() {
  const dispatched: Dispatched[] = [];
  const oversize: Array<{ bytes: number; subject: string }> = [];
  const errors: string[] = [];
  const dispatcher = {
    push(event: { kind: number; msg?: { size: number }; data?: Uint8Array }) {
      dispatched.push({ kind: event.kind, size: event.msg?.size, data: event.data ? Buffer.from(event.data).toString('latin1') : undefined });
    },
  };
  const parser = new nats.Parser(dispatcher as never) as unknown as { parse(buf: Uint8Array): void; msgBuf: { length: number } | undefined };
  const connection = { protocol: { parser } } as unknown as NatsConnection;
  guardConnection(connection, nats, { maxBody: LIMIT, maxHeader: MAX_HEADER_BYTES }, {
    oversize: (bytes, subject) => oversize.push({ bytes, subject }),
    serverError: (text) => errors.push(text),
  });
  return { parser, dispatched, oversize, errors };
}

/** `MSG <subject> 1 <n>` with a payload of `n` bytes (CR/LF and "MSG" inside, to trip a parser out of step). */
function msg(subject: string, n: number, fill = 'x'): Buffer {
  const body = Buffer.alloc(n, fill);
  for (let i = 0; i + 5 < n; i += 997) body.write('\r\nMSG', i, 'latin1');
  return Buffer.concat([Buffer.from(`MSG ${subject} 1 ${n}\r\n`), body, Buffer.from('\r\n')]);
}

/** `HMSG <subject> 1 <h> <total>` with a header block of `h` bytes and a body of `n`. */
function hmsg(subject: string, headerBytes: number, n: number): Buffer {
  const start = 'NATS/1.0\r\nmc_sender: x\r\npad: ';
  const headers = Buffer.from(`${start}${'p'.repeat(headerBytes - start.length - 4)}\r\n\r\n`);
  assert.equal(headers.length, headerBytes);
  return Buffer.concat([Buffer.from(`HMSG ${subject} 1 ${headerBytes} ${headerBytes + n}\r\n`), headers, Buffer.alloc(n, 'h'), Buffer.from('\r\n')]);
}

const messages = (dispatched: Dispatched[]) => dispatched.filter((event) => event.kind === nats.Kind.MSG).map((event) => event.size);

describe('NATS parser guard', () => {
  test('messages over the limit are dropped wherever the stream is cut; the others arrive in order', () => {
    const stream = Buffer.concat([
      msg('a.small', 10), msg('a.big', LIMIT + 1), msg('a.limit', LIMIT), msg('a.huge', 70_000), Buffer.from('PING\r\n'), msg('a.last', 3),
    ]);
    for (const cut of [1, 2, 3, 7, 64, 1000, 4096, 16_384, 65_536, stream.length]) {
      const { parser, dispatched, oversize } = guardedParser();
      let held = 0;
      for (let at = 0; at < stream.length; at += cut) {
        parser.parse(stream.subarray(at, at + cut));
        held = Math.max(held, parser.msgBuf?.length ?? 0);
      }
      assert.deepEqual(messages(dispatched), [10, LIMIT, 3], `cut every ${cut} bytes: the messages within the limit, in order`);
      assert.ok(dispatched.some((event) => event.kind === nats.Kind.PING), `cut every ${cut}: the PING between them too`);
      assert.deepEqual(oversize, [{ bytes: LIMIT + 1, subject: 'a.big' }, { bytes: 70_000, subject: 'a.huge' }], `cut every ${cut}: both reported once`);
      // Only messages within the limit are ever assembled across chunks.
      assert.ok(held <= LIMIT + 2, `cut every ${cut}: the parser held ${held} bytes of a message`);
    }
  });

  test('a spanning message over the limit is counted off without storing it', () => {
    const { parser, dispatched, oversize } = guardedParser();
    const big = msg('a.big', 10_000_000);
    for (let at = 0; at < big.length; at += 65_536) {
      parser.parse(big.subarray(at, at + 65_536));
      assert.equal(parser.msgBuf, undefined, 'no message buffer between chunks');
    }
    parser.parse(msg('a.next', 5));
    assert.deepEqual(oversize, [{ bytes: 10_000_000, subject: 'a.big' }]);
    assert.deepEqual(messages(dispatched), [5]);
  });

  test('header blocks: counted apart from the body, refused over MAX_HEADER_BYTES', () => {
    const { parser, dispatched, oversize } = guardedParser();
    // The body limit is the body's: a body of exactly LIMIT with its headers passes.
    parser.parse(hmsg('a.ok', 100, LIMIT));
    parser.parse(hmsg('a.headers', MAX_HEADER_BYTES + 100, 1));
    parser.parse(hmsg('a.body', 100, LIMIT + 1));
    parser.parse(msg('a.after', 1));
    assert.deepEqual(messages(dispatched), [100 + LIMIT, 1]);
    assert.deepEqual(oversize.map((report) => report.subject), ['a.headers', 'a.body']);
  });

  test('-ERR lines are reported as they are parsed, and still reach the client', () => {
    const { parser, dispatched, errors } = guardedParser();
    parser.parse(Buffer.from('-ERR \'Permissions Violation for Publish to "x.y"\'\r\nPONG\r\n'));
    assert.deepEqual(errors, ['Permissions Violation for Publish to "x.y"']);
    assert.deepEqual(dispatched.map((event) => event.kind), [nats.Kind.ERR, nats.Kind.PONG]);
  });

  test('a client without the expected parser refuses to be guarded', () => {
    const events = { oversize: () => undefined, serverError: () => undefined };
    assert.throws(() => guardConnection({} as NatsConnection, nats, { maxBody: LIMIT, maxHeader: MAX_HEADER_BYTES }, events), /guard cannot be installed/);
  });
});
