/**
 * Reading and atomically rewriting a public key file `<name>.pem` of several PEM blocks (src/keys/layout.ts), and
 * the key id of a private key file: what rotation, retirement, certification and installation share.
 */
import { createHash, createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { chmod, link, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { InvalidArgumentError, KeyFileError } from '../errors.js';
import { keyIdOfSpki, keyTypeOf, type KeyType } from './key-types.js';
import { readBlockKey, splitPemBlocks, type PemBlock } from './layout.js';

/** One block of a public key file, read. */
export interface KeyFileBlock {
  readonly block: PemBlock;
  readonly kid: string;
  /** SHA-256 of the SubjectPublicKeyInfo DER, hex (the key id is its first 32 characters). */
  readonly fingerprint: string;
  readonly type: KeyType;
  readonly bits: number;
  /** Certificate serial number (normalized hex), or undefined for a bare key. */
  readonly serial: string | undefined;
}

/** Reads PEM text into its blocks; throws InvalidArgumentError naming `source` and the problem. */
export function readKeyBlocks(text: string, source: string): KeyFileBlock[] {
  try {
    return splitPemBlocks(text).map((block) => {
      const { facts, serial } = readBlockKey(block);
      return { block, kid: facts.kid, fingerprint: createHash('sha256').update(facts.spki).digest('hex'), type: facts.type, bits: facts.bits, serial };
    });
  } catch (error) {
    throw new InvalidArgumentError(`${source}: ${(error as Error).message}`, { cause: error });
  }
}

/** Reads a public key file; null when it does not exist. Throws KeyFileError when it cannot be read or parsed. */
export async function readPublicKeyFile(path: string): Promise<KeyFileBlock[] | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new KeyFileError(`${path}: cannot read (${(error as Error).message})`, { cause: error });
  }
  try {
    return readKeyBlocks(text, path);
  } catch (error) {
    throw new KeyFileError((error as Error).message, { cause: error });
  }
}

/** The text of a public key file holding `blocks`, in order. */
export function keyFileText(blocks: readonly { block: PemBlock }[]): string {
  return blocks.map(({ block }) => block.text).join('');
}

/**
 * Replaces (or creates) `path` with `text` atomically: a temporary file in the same directory, then rename, so a
 * reader never sees half a file. `exclusive` creates only when no file exists (link, which fails on an existing
 * name). Mode 0644 unless given.
 */
export async function replaceFileAtomically(path: string, text: string, options: { mode?: number; exclusive?: boolean } = {}): Promise<void> {
  const mode = options.mode ?? 0o644;
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(temp, text, { mode, flag: 'wx' });
    await chmod(temp, mode);
    if (options.exclusive) await link(temp, path);
    else await rename(temp, path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new KeyFileError(code === 'EEXIST' ? `${path}: already exists (refusing to overwrite)` : `${path}: cannot write (${(error as Error).message})`, { cause: error });
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

/** The key id and type of a private key file's public half; `passphrase` opens an encrypted one. */
export async function privateKeyFacts(path: string, passphrase?: string): Promise<{ kid: string; type: KeyType; bits: number; pem: string }> {
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (error) {
    throw new KeyFileError(`${path}: cannot read the private key (${(error as Error).message})`, { cause: error });
  }
  let key;
  try {
    key = createPrivateKey(passphrase === undefined ? pem : { key: pem, passphrase });
  } catch (error) {
    const encrypted = pem.includes('ENCRYPTED');
    throw new KeyFileError(`${path}: ${encrypted && passphrase === undefined ? 'the private key is encrypted; give its --passphrase-file' : `cannot read the private key (${(error as Error).message})`}`, { cause: error });
  }
  const shape = keyTypeOf(key);
  if ('problem' in shape) throw new KeyFileError(`${path}: ${shape.problem}`);
  const kid = keyIdOfSpki(createPublicKey(key).export({ type: 'spki', format: 'der' }));
  return { kid, type: shape.type, bits: shape.bits, pem };
}
