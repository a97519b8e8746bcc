/**
 * Key-pair generation into the key file layout (src/keys/layout.ts): `DIR/NAME-private.pem` (PKCS#8, mode 0600,
 * optionally encrypted) and `DIR/NAME.pem` (SPKI), for any key type (RSA, ECDSA P-256, Ed25519).
 * Rotation and retirement of keys live in rotate.ts.
 */
import { generateKeyPair as generateNodeKeyPair } from 'node:crypto';
import { chmod, mkdir, writeFile, unlink } from 'node:fs/promises';
import { promisify } from 'node:util';
import { InvalidArgumentError, KeyFileError } from '../errors.js';
import { checkKeyType, keyIdOfSpki, type KeyType } from './key-types.js';
import { privateKeyPath, publicKeyPath } from './layout.js';
import { assertKeyName } from './names.js';

const generateAsync = promisify(generateNodeKeyPair) as (type: string, options: object) => Promise<{ privateKey: string; publicKey: string }>;

/** RSA modulus sizes tscollective generates; anything under 2048 bits is refused. */
export const ALLOWED_RSA_BITS = [2048, 3072, 4096] as const;

/** One of the RSA modulus sizes tscollective generates. */
export type RsaBits = (typeof ALLOWED_RSA_BITS)[number];

/** Options of generateKeyPairFiles. */
export interface GenerateKeyPairOptions {
  /** The directory to write into; created (mode 0700) when missing. */
  dir: string;
  /** Key type; `rsa` when absent. */
  type?: KeyType;
  /** RSA modulus size; 2048 when absent. Only for `rsa`. */
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
  /** Key id of the new key. */
  kid: string;
}

/** A key pair as PEM text. */
export interface PemKeyPair {
  privateKeyPem: string;
  publicKeyPem: string;
  kid: string;
}

/** Throws InvalidArgumentError unless `bits` is one of ALLOWED_RSA_BITS. */
export function checkRsaBits(bits: unknown, argument = 'bits'): RsaBits {
  if (!ALLOWED_RSA_BITS.includes(bits as RsaBits)) {
    throw new InvalidArgumentError(`${argument}: ${JSON.stringify(bits)} is not an allowed RSA size (${ALLOWED_RSA_BITS.join(', ')})`);
  }
  return bits as RsaBits;
}

/** Throws InvalidArgumentError unless `passphrase` is absent or a non-empty string. */
export function checkPassphrase(passphrase: unknown, argument = 'options.passphrase'): string | undefined {
  if (passphrase !== undefined && (typeof passphrase !== 'string' || passphrase.length === 0)) {
    throw new InvalidArgumentError(`${argument}: must be a non-empty string when given`);
  }
  return passphrase;
}

/**
 * A key pair of `type` as PEM text: PKCS#8 private (encrypted when `passphrase` is given), SPKI public, and the
 * key id. `bits` applies to RSA only (2048 by default).
 */
export async function generatePemKeyPair(type: KeyType = 'rsa', options: { bits?: RsaBits; passphrase?: string } = {}): Promise<PemKeyPair> {
  checkKeyType(type);
  if (type !== 'rsa' && options.bits !== undefined) throw new InvalidArgumentError(`bits: only RSA keys have a size; ${type} keys have one`);
  const passphrase = checkPassphrase(options.passphrase);
  const encodings = {
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: passphrase === undefined
      ? { type: 'pkcs8', format: 'pem' }
      : { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase },
  };
  const { privateKey, publicKey } = type === 'rsa'
    ? await generateAsync('rsa', { modulusLength: checkRsaBits(options.bits ?? 2048), ...encodings })
    : type === 'p256'
      ? await generateAsync('ec', { namedCurve: 'P-256', ...encodings })
      : await generateAsync('ed25519', encodings);
  const der = Buffer.from(publicKey.replace(/-----[A-Z ]+-----|\s+/g, ''), 'base64');
  return { privateKeyPem: privateKey, publicKeyPem: publicKey, kid: keyIdOfSpki(der) };
}

/** An RSA key pair as PEM text: PKCS#8 private (encrypted when `passphrase` is given) and SPKI public. */
export async function generateRsaKeyPair(bits: RsaBits = 2048, passphrase?: string): Promise<{ privateKeyPem: string; publicKeyPem: string }> {
  const { privateKeyPem, publicKeyPem } = await generatePemKeyPair('rsa', { bits, ...(passphrase === undefined ? {} : { passphrase }) });
  return { privateKeyPem, publicKeyPem };
}

/**
 * Generates a key pair and writes `DIR/NAME-private.pem` (0600) and `DIR/NAME.pem` (0644).
 * Refuses invalid names, types and sizes, empty passphrases, and existing files unless `overwrite`.
 */
export async function generateKeyPairFiles(name: string, options: GenerateKeyPairOptions): Promise<KeyPairFiles> {
  assertKeyName(name);
  if (typeof options?.dir !== 'string' || options.dir === '') throw new InvalidArgumentError('options.dir: a directory path is required');
  const type = checkKeyType(options.type ?? 'rsa', 'options.type');
  if (options.bits !== undefined) checkRsaBits(options.bits, 'options.bits');
  const passphrase = checkPassphrase(options.passphrase);
  const privatePath = privateKeyPath(options.dir, name);
  const publicPath = publicKeyPath(options.dir, name) as string;
  const pair = await generatePemKeyPair(type, { ...(options.bits === undefined ? {} : { bits: options.bits }), ...(passphrase === undefined ? {} : { passphrase }) });
  await ensureKeyDir(options.dir);
  // 'wx' refuses to clobber an existing key: losing a private key silently is worse than an error.
  const flag = options.overwrite ? 'w' : 'wx';
  await writeKeyFile(privatePath, pair.privateKeyPem, 0o600, flag);
  try {
    await writeKeyFile(publicPath, pair.publicKeyPem, 0o644, flag);
  } catch (error) {
    await unlink(privatePath).catch(() => undefined);
    throw error;
  }
  return { privatePath, publicPath, kid: pair.kid };
}

/** Creates a key directory (mode 0700) when missing. */
export async function ensureKeyDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new KeyFileError(`${dir}: cannot create the key directory (${(error as Error).message})`, { cause: error });
  }
}

/** Writes a key file with `mode`; `wx` refuses an existing file. Throws KeyFileError naming the path. */
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
