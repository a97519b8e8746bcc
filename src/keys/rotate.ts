/**
 * Key rotation in the key file layout (docs/keys.md, "Rotation"): `rotateKeyPair` makes a new pair, keeps the old
 * private key as `NAME-private.<kid>.pem` and puts the new public key first in `NAME.pem`, the old ones after it;
 * `retireKey` removes a key from `NAME.pem` and deletes its kept private key.
 */
import { link, unlink } from 'node:fs/promises';
import { InvalidArgumentError, KeyFileError } from '../errors.js';
import { checkName } from '../names.js';
import { checkPassphrase, checkRsaBits, ensureKeyDir, generatePemKeyPair, type RsaBits } from './generate.js';
import { keyFileText, privateKeyFacts, readKeyBlocks, readPublicKeyFile, replaceFileAtomically } from './key-file.js';
import { checkKeyType, type KeyType } from './key-types.js';
import { keptPrivateKeyPath, privateKeyPath, publicKeyPath } from './layout.js';
import { assertKeyName } from './names.js';

/** Options of rotateKeyPair. */
export interface RotateOptions {
  dir: string;
  /** Type of the new key; the current key's type when absent. */
  type?: KeyType;
  /** RSA size of the new key; 2048 when absent. */
  bits?: RsaBits;
  /** Opens the current private key when it is encrypted, and encrypts the new one. */
  passphrase?: string;
}

/** What rotateKeyPair did. */
export interface RotateResult {
  privatePath: string;
  publicPath: string;
  /** Where the previous private key is kept. */
  keptPrivatePath: string;
  newKid: string;
  oldKid: string;
  type: KeyType;
  /** Key ids in NAME.pem after the rotation, newest first. */
  kids: string[];
}

/**
 * Rotates NAME's key pair in `dir`. The public file is rewritten first (new key first, then every key it held), so
 * a provider reading the files at any moment finds its private key's public half in NAME.pem; then the old private
 * key is kept (hard link to `NAME-private.<kid>.pem`) and the new one takes its place.
 */
export async function rotateKeyPair(name: string, options: RotateOptions): Promise<RotateResult> {
  assertKeyName(name);
  if (typeof options?.dir !== 'string' || options.dir === '') throw new InvalidArgumentError('options.dir: a directory path is required');
  const passphrase = checkPassphrase(options.passphrase);
  if (options.bits !== undefined) checkRsaBits(options.bits, 'options.bits');
  const privatePath = privateKeyPath(options.dir, name);
  const publicPath = publicKeyPath(options.dir, name) as string;
  const current = await privateKeyFacts(privatePath, passphrase);
  const blocks = await readPublicKeyFile(publicPath);
  if (!blocks) throw new KeyFileError(`${publicPath}: does not exist; rotation needs the current public key file`);
  if (!blocks.some((block) => block.kid === current.kid)) {
    throw new KeyFileError(`${publicPath}: holds no key of ${privatePath} (key id ${current.kid}); the pair does not match, refusing to rotate`);
  }
  const type = checkKeyType(options.type ?? current.type, 'options.type');
  const pair = await generatePemKeyPair(type, {
    ...(type === 'rsa' && options.bits !== undefined ? { bits: options.bits } : {}),
    ...(passphrase === undefined ? {} : { passphrase }),
  });
  const keptPrivatePath = keptPrivateKeyPath(options.dir, name, current.kid);
  const fresh = readKeyBlocks(pair.publicKeyPem, 'the new public key');
  const kept = [...fresh, ...blocks.filter((block) => block.kid !== pair.kid)];
  await ensureKeyDir(options.dir);
  try {
    await link(privatePath, keptPrivatePath);
  } catch (error) {
    const exists = (error as NodeJS.ErrnoException).code === 'EEXIST';
    throw new KeyFileError(`${keptPrivatePath}: ${exists ? 'already exists (the key was rotated out before?); refusing to overwrite it' : (error as Error).message}`, { cause: error });
  }
  await replaceFileAtomically(publicPath, keyFileText(kept), { mode: 0o644 });
  await replaceFileAtomically(privatePath, pair.privateKeyPem, { mode: 0o600 });
  return { privatePath, publicPath, keptPrivatePath, newKid: pair.kid, oldKid: current.kid, type, kids: kept.map((block) => block.kid) };
}

/** What retireKey did. */
export interface RetireResult {
  publicPath: string;
  /** Key ids left in NAME.pem. */
  kids: string[];
  /** The kept private key that was deleted, if there was one. */
  removedPrivatePath?: string;
}

/**
 * Removes key `kid` from `dir/NAME.pem` and deletes `dir/NAME-private.<kid>.pem` when present. Refuses to retire
 * the key `dir/NAME-private.pem` signs with (rotate first), the last key of the file, and a key id the file does
 * not hold. Receivers refuse the key as soon as they read the new file.
 */
export async function retireKey(name: string, kid: string, options: { dir: string; passphrase?: string }): Promise<RetireResult> {
  assertKeyName(name);
  checkName('kid', 'kid', kid);
  if (typeof options?.dir !== 'string' || options.dir === '') throw new InvalidArgumentError('options.dir: a directory path is required');
  const publicPath = publicKeyPath(options.dir, name) as string;
  const blocks = await readPublicKeyFile(publicPath);
  if (!blocks) throw new KeyFileError(`${publicPath}: does not exist`);
  if (!blocks.some((block) => block.kid === kid)) {
    throw new KeyFileError(`${publicPath}: holds no key ${kid} (it holds ${blocks.map((block) => block.kid).join(', ')})`);
  }
  const active = await activeKid(privateKeyPath(options.dir, name), options.passphrase);
  if (active === kid) throw new KeyFileError(`key ${kid} is the one ${privateKeyPath(options.dir, name)} signs with; rotate to a new key before retiring it`);
  const kept = blocks.filter((block) => block.kid !== kid);
  if (kept.length === 0) throw new KeyFileError(`${publicPath}: ${kid} is its only key; retiring it would leave ${name} without a key`);
  await replaceFileAtomically(publicPath, keyFileText(kept), { mode: 0o644 });
  const keptPrivatePath = keptPrivateKeyPath(options.dir, name, kid);
  let removedPrivatePath: string | undefined;
  try {
    await unlink(keptPrivatePath);
    removedPrivatePath = keptPrivatePath;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new KeyFileError(`${keptPrivatePath}: cannot delete (${(error as Error).message})`, { cause: error });
  }
  return { publicPath, kids: kept.map((block) => block.kid), ...(removedPrivatePath ? { removedPrivatePath } : {}) };
}

/** The key id of the private key at `path`, or null when there is none (a directory of others' public keys). */
async function activeKid(path: string, passphrase?: string): Promise<string | null> {
  try {
    return (await privateKeyFacts(path, passphrase)).kid;
  } catch (error) {
    if ((error as KeyFileError).cause && ((error as KeyFileError).cause as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}
