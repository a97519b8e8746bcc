/**
 * STOMP 1.2 framing on Buffers: an encoder, and a streaming parser that bounds what it buffers. Each inbound
 * byte is looked at a constant number of times (Buffer.indexOf and one copy), whatever the chunking.
 *
 * Limits, checked before anything is buffered whole:
 * - a body larger than `maxBodyBytes` (max_message_size) is skipped as it streams by, without being stored:
 *   with `content-length` the parser counts the bytes off, without it it scans for the NUL; `oversize` reports it
 *   and the connection stays usable;
 * - a command and header block larger than `maxHeaderBytes` cannot be skipped safely (its content-length is not
 *   known), so it is a protocol error, as is every other framing violation (a header line without a colon, a bad
 *   escape, a bad content-length, no NUL after a content-length body): `error` reports it and the parser stops.
 */

const LF = 0x0a;
const CR = 0x0d;
const NUL = 0x00;

/** The default bound of a frame's command and header block. */
export const MAX_HEADER_BYTES = 256 * 1024;

/** One STOMP frame. `headers` has no prototype: a header named like an Object method is just a header. */
export interface StompFrame {
  command: string;
  headers: Readonly<Record<string, string>>;
  body: Buffer;
}

/** How large an inbound frame may be. */
export interface FrameLimits {
  /** Bytes of body; larger bodies are skipped (`oversize`). */
  maxBodyBytes: number;
  /** Bytes of command plus headers; more is a protocol error. MAX_HEADER_BYTES by default. */
  maxHeaderBytes?: number;
}

/** What the parser reports. */
export interface ParserEvents {
  /** A complete frame. */
  frame(frame: StompFrame): void;
  /** A frame whose body exceeds maxBodyBytes is being skipped; `bytes` is its content-length when it had one. */
  oversize(command: string, headers: Readonly<Record<string, string>>, bytes: number | undefined): void;
  /** The input broke the protocol; the parser ignores everything after it. */
  error(problem: string): void;
}

type State = 'between' | 'head' | 'body' | 'nul' | 'body-to-nul' | 'skip' | 'skip-to-nul' | 'failed';

/** A streaming STOMP frame parser; feed it socket chunks with push(). */
export class FrameParser {
  private state: State = 'between';
  private head: Buffer = Buffer.allocUnsafe(4096);
  private headLength = 0;
  private lineStart = 0;
  private command = '';
  private headers: Record<string, string> = Object.create(null) as Record<string, string>;
  private body: Buffer = Buffer.alloc(0);
  private filled = 0;
  private chunks: Buffer[] = [];
  private remaining = 0;
  private declared = 0;
  private skipping = false;
  private readonly maxBodyBytes: number;
  private readonly maxHeaderBytes: number;

  constructor(limits: FrameLimits, private readonly events: ParserEvents) {
    this.maxBodyBytes = limits.maxBodyBytes;
    this.maxHeaderBytes = limits.maxHeaderBytes ?? MAX_HEADER_BYTES;
  }

  /** Whether the parser stopped at a protocol error. */
  get failed(): boolean {
    return this.state === 'failed';
  }

  /** Consumes one chunk of the stream. */
  push(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      switch (this.state) {
        case 'failed':
          return;
        case 'between':
          // EOLs between frames are heart-beats.
          while (offset < chunk.length && (chunk[offset] === LF || chunk[offset] === CR)) offset++;
          if (offset < chunk.length) this.startHead();
          break;
        case 'head':
          offset = this.readHead(chunk, offset);
          break;
        case 'body': {
          const take = Math.min(this.remaining, chunk.length - offset);
          chunk.copy(this.body, this.filled, offset, offset + take);
          this.filled += take;
          this.remaining -= take;
          offset += take;
          if (this.remaining === 0) this.state = 'nul';
          break;
        }
        case 'skip': {
          const take = Math.min(this.remaining, chunk.length - offset);
          this.remaining -= take;
          offset += take;
          if (this.remaining === 0) this.state = 'nul';
          break;
        }
        case 'nul':
          if (chunk[offset] !== NUL) return this.fail(`no NUL after the ${this.command} body of content-length ${this.declared}`);
          offset += 1;
          this.finish();
          break;
        case 'body-to-nul':
        case 'skip-to-nul':
          offset = this.readToNul(chunk, offset);
          break;
      }
    }
  }

  private startHead(): void {
    this.state = 'head';
    this.headLength = 0;
    this.lineStart = 0;
  }

  /** Copies header bytes up to the blank line that ends them; returns the offset after what it consumed. */
  private readHead(chunk: Buffer, offset: number): number {
    for (let position = offset; ;) {
      const lf = chunk.indexOf(LF, position);
      const end = lf === -1 ? chunk.length : lf + 1;
      if (!this.append(chunk, position, end)) {
        this.fail(`the command and headers exceed ${this.maxHeaderBytes} bytes`);
        return chunk.length;
      }
      if (lf === -1) return chunk.length;
      let lineEnd = this.headLength - 1;
      if (lineEnd > this.lineStart && this.head[lineEnd - 1] === CR) lineEnd -= 1;
      if (lineEnd === this.lineStart) {
        this.parseHead();
        return end;
      }
      this.lineStart = this.headLength;
      position = end;
    }
  }

  /** Appends chunk[start, end) to the header buffer, growing it up to the limit; false when over it. */
  private append(chunk: Buffer, start: number, end: number): boolean {
    const needed = this.headLength + (end - start);
    if (needed > this.maxHeaderBytes) return false;
    if (needed > this.head.length) {
      const grown = Buffer.allocUnsafe(Math.min(this.maxHeaderBytes, Math.max(needed, this.head.length * 2)));
      this.head.copy(grown, 0, 0, this.headLength);
      this.head = grown;
    }
    chunk.copy(this.head, this.headLength, start, end);
    this.headLength = needed;
    return true;
  }

  private parseHead(): void {
    const lines = this.head.toString('utf8', 0, this.headLength).split('\n');
    this.command = trimCr(lines[0] ?? '');
    const escaped = this.command !== 'CONNECTED' && this.command !== 'CONNECT';
    const headers: Record<string, string> = Object.create(null) as Record<string, string>;
    for (let i = 1; i < lines.length; i++) {
      const line = trimCr(lines[i]!);
      if (line === '') continue;
      const colon = line.indexOf(':');
      if (colon <= 0) return this.fail(`header line ${JSON.stringify(line.slice(0, 60))} has no name`);
      const name = escaped ? unescapeHeader(line.slice(0, colon)) : line.slice(0, colon);
      const value = escaped ? unescapeHeader(line.slice(colon + 1)) : line.slice(colon + 1);
      if (name === undefined || value === undefined) return this.fail(`header line ${JSON.stringify(line.slice(0, 60))} has an undefined escape`);
      // The first of repeated headers counts (STOMP 1.2).
      if (!(name in headers)) headers[name] = value;
    }
    this.headers = headers;
    const declared = headers['content-length'];
    if (declared !== undefined) {
      if (!/^\d{1,15}$/.test(declared)) return this.fail(`content-length ${JSON.stringify(declared.slice(0, 20))} is not a number`);
      const length = Number(declared);
      this.declared = length;
      this.filled = 0;
      this.remaining = length;
      if (length > this.maxBodyBytes) {
        this.skipping = true;
        this.events.oversize(this.command, headers, length);
        this.state = length === 0 ? 'nul' : 'skip';
      } else {
        this.skipping = false;
        this.body = Buffer.allocUnsafe(length);
        this.state = length === 0 ? 'nul' : 'body';
      }
    } else {
      this.skipping = false;
      this.chunks = [];
      this.filled = 0;
      this.state = 'body-to-nul';
    }
  }

  /** A body without content-length: everything up to the next NUL, stored only while within the limit. */
  private readToNul(chunk: Buffer, offset: number): number {
    const nul = chunk.indexOf(NUL, offset);
    const end = nul === -1 ? chunk.length : nul;
    if (this.state === 'body-to-nul') {
      this.filled += end - offset;
      if (this.filled > this.maxBodyBytes) {
        this.chunks = [];
        this.skipping = true;
        this.state = 'skip-to-nul';
        this.events.oversize(this.command, this.headers, undefined);
      } else if (end > offset) {
        this.chunks.push(chunk.subarray(offset, end));
      }
    }
    if (nul === -1) return chunk.length;
    if (this.state === 'body-to-nul') this.body = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.filled);
    this.chunks = [];
    this.finish();
    return nul + 1;
  }

  private finish(): void {
    this.state = 'between';
    if (this.skipping) {
      this.skipping = false;
      return;
    }
    const frame: StompFrame = { command: this.command, headers: Object.freeze(this.headers), body: this.body };
    this.body = Buffer.alloc(0);
    this.events.frame(frame);
  }

  private fail(problem: string): void {
    this.state = 'failed';
    this.chunks = [];
    this.events.error(problem);
  }
}

function trimCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

/** Undoes STOMP 1.2 header escaping; undefined for an undefined escape (a fatal error per the spec). */
export function unescapeHeader(text: string): string | undefined {
  if (!text.includes('\\')) return text;
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch !== '\\') {
      out += ch;
      continue;
    }
    const next = text[++i];
    if (next === 'n') out += '\n';
    else if (next === 'r') out += '\r';
    else if (next === 'c') out += ':';
    else if (next === '\\') out += '\\';
    else return undefined;
  }
  return out;
}

/** Applies STOMP 1.2 header escaping (backslash, CR, LF, colon). */
export function escapeHeader(text: string): string {
  return /[\\\r\n:]/.test(text) ? text.replace(/[\\\r\n:]/g, (ch) => (ch === '\\' ? '\\\\' : ch === '\r' ? '\\r' : ch === '\n' ? '\\n' : '\\c')) : text;
}

/**
 * One frame as bytes: the command, the headers (escaped, except in CONNECT, where a value may not contain CR or
 * LF), `content-length` when there is a body, the body, and the NUL.
 */
export function encodeFrame(command: string, headers: Readonly<Record<string, string>>, body?: Uint8Array): Buffer {
  const escaped = command !== 'CONNECT' && command !== 'CONNECTED';
  let head = `${command}\n`;
  for (const [name, value] of Object.entries(headers)) {
    if (!escaped && /[\r\n]/.test(name + value)) throw new RangeError(`the ${command} header ${JSON.stringify(name)} contains a line break`);
    head += escaped ? `${escapeHeader(name)}:${escapeHeader(value)}\n` : `${name}:${value}\n`;
  }
  if (body !== undefined) head += `content-length:${body.length}\n`;
  head += '\n';
  const headBytes = Buffer.byteLength(head);
  const frame = Buffer.allocUnsafe(headBytes + (body?.length ?? 0) + 1);
  frame.write(head, 0, 'utf8');
  if (body !== undefined) frame.set(body, headBytes);
  frame[frame.length - 1] = NUL;
  return frame;
}
