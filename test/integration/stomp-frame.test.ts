/**
 * The Buffer-based STOMP framing (plugins/connector/stomp/frame.ts): frames come out the same however the stream
 * is cut; heart-beats, escapes, binary bodies with and without content-length; bodies over the limit are skipped
 * without being stored (a 1 GiB body streams through in constant memory) and the next frame still parses; every
 * framing violation is a protocol error. No broker needed.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FrameParser, type StompFrame, encodeFrame, escapeHeader, unescapeHeader } from '../../plugins/connector/stomp/frame.js';

interface Parsed {
  frames: StompFrame[];
  oversize: Array<{ command: string; destination: string | undefined; bytes: number | undefined }>;
  errors: string[];
}

function parser(maxBodyBytes: number, maxHeaderBytes?: number): { parser: FrameParser; parsed: Parsed } {
  const parsed: Parsed = { frames: [], oversize: [], errors: [] };
  const instance = new FrameParser({ maxBodyBytes, ...(maxHeaderBytes === undefined ? {} : { maxHeaderBytes }) }, {
    frame: (frame) => parsed.frames.push(frame),
    oversize: (command, headers, bytes) => parsed.oversize.push({ command, destination: headers.destination, bytes }),
    error: (problem) => parsed.errors.push(problem),
  });
  return { parser: instance, parsed };
}

/** Feeds `bytes` cut into pieces of `size` bytes. */
function feed(target: FrameParser, bytes: Buffer, size: number): void {
  for (let offset = 0; offset < bytes.length; offset += size) target.push(bytes.subarray(offset, offset + size));
}

const binary = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), Buffer.from([0, 0, 10, 13, 0])]);

describe('STOMP framing', () => {
  test('frames parse the same whatever the chunking, with heart-beats, NULs in bodies and CRLF lines', () => {
    const stream = Buffer.concat([
      Buffer.from('\n\r\n'),
      encodeFrame('MESSAGE', { destination: '/queue/a', subscription: 'sub-1', 'message-id': '1' }, binary),
      Buffer.from('\n\n'),
      Buffer.from('RECEIPT\r\nreceipt-id:r-7\r\n\r\n\0'),
      Buffer.from('MESSAGE\ndestination:/queue/b\nsubscription:sub-2\n\nno length here\0\n'),
      encodeFrame('MESSAGE', { destination: '/queue/c' }, Buffer.alloc(0)),
    ]);
    const reference = parser(1024 * 1024);
    reference.parser.push(stream);
    assert.deepEqual(reference.parsed.errors, []);
    assert.deepEqual(reference.parsed.frames.map((f) => f.command), ['MESSAGE', 'RECEIPT', 'MESSAGE', 'MESSAGE']);
    assert.ok(reference.parsed.frames[0]!.body.equals(binary), 'a content-length body keeps every byte, NUL included');
    assert.equal(reference.parsed.frames[1]!.headers['receipt-id'], 'r-7', 'CRLF line ends are accepted');
    assert.equal(reference.parsed.frames[2]!.body.toString(), 'no length here');
    assert.equal(reference.parsed.frames[3]!.body.length, 0);
    for (const size of [1, 2, 3, 7, 64, 1000]) {
      const { parser: cut, parsed } = parser(1024 * 1024);
      feed(cut, stream, size);
      assert.deepEqual(parsed.frames.map((f) => [f.command, { ...f.headers }, f.body.toString('hex')]),
        reference.parsed.frames.map((f) => [f.command, { ...f.headers }, f.body.toString('hex')]), `chunks of ${size} bytes`);
    }
  });

  test('header escapes round-trip; CONNECTED is not unescaped; the first of repeated headers counts', () => {
    const value = 'a:b\\c\nd\re';
    assert.equal(unescapeHeader(escapeHeader(value)), value);
    const { parser: p, parsed } = parser(1024);
    p.push(encodeFrame('MESSAGE', { 'odd:name': value, destination: '/queue/x' }, Buffer.from('x')));
    p.push(Buffer.from('CONNECTED\nversion:1.2\nserver:a\\cb\n\n\0'));
    p.push(Buffer.from('MESSAGE\nfoo:first\nfoo:second\n\n\0'));
    assert.equal(parsed.frames[0]!.headers['odd:name'], value);
    assert.equal(parsed.frames[1]!.headers.server, 'a\\cb', 'CONNECTED headers are taken as written');
    assert.equal(parsed.frames[2]!.headers.foo, 'first');
  });

  test('headers are own properties of a prototype-less object', () => {
    const { parser: p, parsed } = parser(1024);
    p.push(Buffer.from('MESSAGE\n__proto__:x\nconstructor:y\n\n\0MESSAGE\n\n\0'));
    const [withNames, plain] = parsed.frames;
    assert.equal(withNames!.headers['__proto__'], 'x');
    assert.equal(withNames!.headers.constructor, 'y');
    assert.equal(plain!.headers.constructor, undefined, 'an absent header is absent, not Object.prototype.constructor');
    assert.equal(Object.getPrototypeOf(plain!.headers), null);
    assert.ok(Object.isFrozen(plain!.headers));
  });

  test('a body over the limit is skipped without being stored, and the next frame parses', () => {
    const limit = 64 * 1024 * 1024;
    const { parser: p, parsed } = parser(limit);
    const gib = 1024 * 1024 * 1024;
    const chunk = Buffer.alloc(1024 * 1024, 0x41);
    const before = process.memoryUsage();
    p.push(Buffer.from(`MESSAGE\ndestination:/queue/flood\ncontent-length:${gib}\n\n`));
    for (let sent = 0; sent < gib; sent += chunk.length) p.push(chunk);
    p.push(Buffer.from('\0'));
    const grown = process.memoryUsage().arrayBuffers - before.arrayBuffers;
    p.push(encodeFrame('MESSAGE', { destination: '/queue/next' }, Buffer.from('small')));
    assert.deepEqual(parsed.errors, []);
    assert.deepEqual(parsed.oversize, [{ command: 'MESSAGE', destination: '/queue/flood', bytes: gib }]);
    assert.ok(grown < limit, `1 GiB streamed through with ${grown} bytes more in buffers`);
    assert.deepEqual(parsed.frames.map((f) => f.body.toString()), ['small']);
  });

  test('a body without content-length is stored only up to the limit, then skipped to its NUL', () => {
    const { parser: p, parsed } = parser(1000);
    p.push(Buffer.from('MESSAGE\ndestination:/queue/nolength\n\n'));
    for (let i = 0; i < 50; i++) p.push(Buffer.alloc(100, 0x42));
    p.push(Buffer.from([0]));
    p.push(Buffer.from('MESSAGE\ndestination:/queue/fits\n\n'));
    p.push(Buffer.alloc(1000, 0x43));
    p.push(Buffer.from([0]));
    assert.deepEqual(parsed.oversize, [{ command: 'MESSAGE', destination: '/queue/nolength', bytes: undefined }]);
    assert.deepEqual(parsed.frames.map((f) => [f.headers.destination, f.body.length]), [['/queue/fits', 1000]], 'exactly the limit is accepted');
  });

  for (const [name, input, problem] of [
    ['a header line without a colon', 'MESSAGE\nnocolon\n\n\0', /has no name/],
    ['an undefined escape', 'MESSAGE\nbad:a\\tb\n\n\0', /undefined escape/],
    ['a content-length that is not a number', 'MESSAGE\ncontent-length:12x\n\nbody\0', /content-length "12x" is not a number/],
    ['a content-length body not followed by NUL', 'MESSAGE\ncontent-length:2\n\nabc\0', /no NUL after the MESSAGE body of content-length 2/],
  ] as const) {
    test(`${name} is a protocol error and nothing after it is parsed`, () => {
      const { parser: p, parsed } = parser(1024);
      p.push(Buffer.from(`${input}MESSAGE\n\nafter\0`));
      assert.equal(parsed.errors.length, 1, parsed.errors.join('; '));
      assert.match(parsed.errors[0]!, problem);
      assert.equal(parsed.frames.length, 0);
      assert.ok(p.failed);
    });
  }

  test('a header block over its bound is a protocol error, found without storing more than the bound', () => {
    const { parser: p, parsed } = parser(1024 * 1024, 8192);
    p.push(Buffer.from('MESSAGE\n'));
    for (let i = 0; i < 1000; i++) p.push(Buffer.from(`x-header-${i}:${'v'.repeat(50)}\n`));
    assert.equal(parsed.errors.length, 1);
    assert.match(parsed.errors[0]!, /exceed 8192 bytes/);
  });

  test('encodeFrame writes content-length for bodies and refuses line breaks in CONNECT headers', () => {
    const frame = encodeFrame('SEND', { destination: '/queue/x', 'mc:sender': 'a\nb' }, Buffer.from([0, 1, 2]));
    assert.equal(frame.subarray(0, frame.length - 4).toString('latin1'), 'SEND\ndestination:/queue/x\nmc\\csender:a\\nb\ncontent-length:3\n\n');
    assert.deepEqual([...frame.subarray(frame.length - 4)], [0, 1, 2, 0]);
    assert.throws(() => encodeFrame('CONNECT', { passcode: 'pass\nword' }), /line break/);
    assert.equal(encodeFrame('CONNECT', { passcode: 'a:b' }).toString(), 'CONNECT\npasscode:a:b\n\n\0', 'CONNECT is not escaped');
  });
});
