/**
 * RSA key-pair generation into MCollective-style files: `DIR/NAME-private.pem` (PKCS#8, mode 0600,
 * optionally encrypted) and `DIR/NAME.pem` (SPKI), so the public file's basename is the callerid name.
 */
import { generateKeyPair, type RSAKeyPairOptions } from 'node:crypto';
import { chmod, mkdir, writeFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { InvalidArgumentError, KeyFileError } from '../errors.js';
import { assertKeyName } from './names.js';

const generateKeyPairAsync = promisify(generateKeyPair);

/** RSA modulus sizes tscollective generates; anything under 2048 bits is refused. */
export const ALLOWED_RSA_BITS = [2048, 3072, 4096] as const;

/** One of the RSA modulus sizes tscollective generates. */
export type RsaBits = (typeof ALLOWED_RSA_BITS)[number];

/** Options of generateKeyPairFiles. */
export interface GenerateKeyPairOptions {
  /** The directory to write into; created (mode 0700) when missing. */
  dir: string;
  /** RSA modulus size; 2048 when absent. */
  bits?: RsaBits;
  /** Encrypts the private key (PKCS#8, aes-256-cbc) when given; must not be empty. */
  passphrase?: string;
  /** Replace existing files instead of refusing. */
  overwrite?: boolean;
}

/** Where generateKeyPairFiles wrote the pair. */
export interface KeyPairFiles {
  privatePath: string;
  publicPath: string;
}

/** Throws InvalidArgumentError unless `bits` is one of ALLOWED_RSA_BITS. */
export function checkRsaBits(bits: unknown, argument = 'bits'): RsaBits {
  if (!ALLOWED_RSA_BITS.includes(bits as RsaBits)) {
    throw new InvalidArgumentError(`${argument}: ${JSON.stringify(bits)} is not an allowed RSA size (${ALLOWED_RSA_BITS.join(', ')})`);
  }
  return bits as RsaBits;
}

/** An RSA key pair as PEM text: PKCS#8 private (encrypted when `passphrase` is given) and SPKI public. */
export async function generateRsaKeyPair(bits: RsaBits = 2048, passphrase?: string): Promise<{ privateKeyPem: string; publicKeyPem: string }> {
  checkRsaBits(bits);
  const options: RSAKeyPairOptions<'pem', 'pem'> = {
    modulusLength: bits,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: passphrase === undefined
      ? { type: 'pkcs8', format: 'pem' }
      : { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase },
  };
  const { privateKey, publicKey } = await generateKeyPairAsync('rsa', options);
  return { privateKeyPem: privateKey, publicKeyPem: publicKey };
}

/**
 * Generates an RSA key pair and writes `DIR/NAME-private.pem` (0600) and `DIR/NAME.pem` (0644).
 * Refuses invalid names, sizes under 2048 bits, empty passphrases, and existing files unless `overwrite`.
 */
export async function generateKeyPairFiles(name: string, options: GenerateKeyPairOptions): Promise<KeyPairFiles> {
  assertKeyName(name);
  if (typeof options?.dir !== 'string' || options.dir === '') throw new InvalidArgumentError('options.dir: a directory path is required');
  const bits = checkRsaBits(options.bits ?? 2048, 'options.bits');
  if (options.passphrase !== undefined && (typeof options.passphrase !== 'string' || options.passphrase.length === 0)) {
    throw new InvalidArgumentError('options.passphrase: must be a non-empty string when given');
  }
  const privatePath = join(options.dir, `${name}-private.pem`);
  const publicPath = join(options.dir, `${name}.pem`);
  const { privateKeyPem, publicKeyPem } = await generateRsaKeyPair(bits, options.passphrase);

  try {
    await mkdir(options.dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new KeyFileError(`${options.dir}: cannot create the key directory (${(error as Error).message})`, { cause: error });
  }
  // 'wx' refuses to clobber an existing key: losing a private key silently is worse than an error.
  const flag = options.overwrite ? 'w' : 'wx';
  await writeKeyFile(privatePath, privateKeyPem, 0o600, flag);
  try {
    await writeKeyFile(publicPath, publicKeyPem, 0o644, flag);
  } catch (error) {
    await unlink(privatePath).catch(() => undefined);
    throw error;
  }
  return { privatePath, publicPath };
}

async function writeKeyFile(path: string, text: string, mode: number, flag: 'w' | 'wx'): Promise<void> {
  try {
    await writeFile(path, text, { mode, flag });
    // The mode option only applies to newly created files; an overwritten file keeps its old mode otherwise.
    await chmod(path, mode);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'EEXIST' ? 'already exists (refusing to overwrite)' : (error as Error).message;
    throw new KeyFileError(`${path}: ${why}`, { cause: error });
  }
}
