/** Reading all of standard input with a bound, for `tsco decode` and `--nodes -`. */
import { InvalidArgumentError } from '../../errors.js';

/** Reads all of `input`; refuses (InvalidArgumentError) as soon as more than `maxBytes` arrived, before buffering more. */
export async function readBounded(input: NodeJS.ReadableStream, maxBytes: number, refusal: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of input) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    size += buffer.length;
    if (size > maxBytes) throw new InvalidArgumentError(`standard input: more than ${maxBytes} bytes; ${refusal}`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}
