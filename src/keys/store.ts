/**
 * The certificate directory (`plugin.aes.client_cert_dir`) as an administrator sees it: installing a sender's
 * keys ahead of time (pre-authorizing them), and listing every key of every name there — type and size, key id,
 * active / also valid / revoked / expired, learned or installed, and the CA verdict. The file layout is
 * src/keys/layout.ts.
 */
import { createPublicKey } from 'node:crypto';
import { readFile, readdir, unlink, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError, KeyFileError } from '../errors.js';
import { crlProblem, caSubjectOf, parseCrl } from './crl.js';
import { privateKeyFacts, readKeyBlocks, replaceFileAtomically, type KeyFileBlock } from './key-file.js';
import { publicKeyInfos, verifyCertificate, type PublicKeyInfo } from './inspect.js';
import { learnedRecordPath, parseLearnedRecord, privateKeyPath, publicKeyPath, type LearnedKey } from './layout.js';
import { assertKeyName, isValidKeyName } from './names.js';
import type { RevocationList } from './revocation-list.js';

/** Options of preauthorizeKey. */
export interface PreauthorizeOptions {
  /** The certificate directory (client_cert_dir or server_cert_dir). */
  certDir: string;
  /** The sender's name: the file becomes `<certDir>/<name>.pem` and its callerid `cert=<name>`. */
  name: string;
  /** PEM text of the sender's public keys and/or certificates (CN = `name`), one or more blocks. */
  pem: string;
  /** Replace different keys already installed under this name. */
  force?: boolean;
}

/** What preauthorizeKey did. */
export interface PreauthorizeResult {
  path: string;
  /** `installed`: new; `replaced`: different keys were overwritten (force); `unchanged`: the same keys were there. */
  outcome: 'installed' | 'replaced' | 'unchanged';
  /** Fingerprint of the first (newest) key installed. */
  fingerprint: string;
  /** Key ids installed, in file order. */
  kids: string[];
  /** The fingerprint of the first key that was replaced. */
  previousFingerprint?: string;
}

/** Where a key's status comes from. */
export type KeyStatus = 'active' | 'valid' | 'revoked' | 'expired';

/** One key of a name, as listKeys reports it. */
export interface KeyListing extends PublicKeyInfo {
  /** `active`: the key the name signs with; `valid`: also accepted; `revoked`; `expired` (certificate out of its validity). */
  status: KeyStatus;
  /** Why the key is revoked or expired. */
  statusReason?: string;
  origin: 'installed' | 'learned';
  /** When and how a learned key was learned (from the sidecar record). */
  learned?: LearnedKey;
  /** With a CA: whether the provider would accept this key (a certificate the CA signed, valid, CN = name). */
  caVerdict?: { ok: true } | { ok: false; reason: string };
}

/** One name of listKeys: its file and keys. */
export interface KeyEntry {
  name: string;
  path: string;
  /** Every key of the file, in file order (newest first). Empty when the file is unusable. */
  keys: KeyListing[];
  /** Why the file is unusable, when it is. */
  problem?: string;
}

/** Options of listKeys. */
export interface ListKeysOptions {
  certDir: string;
  caCertPem?: string;
  /** The parsed `plugin.aes.revoked_keys` list. */
  revoked?: RevocationList;
  /** PEM text of `plugin.aes.ca_crl` (checked against `caCertPem`). */
  crlPem?: string;
  at?: Date;
}

/**
 * Installs `pem` as `<certDir>/<name>.pem`, atomically. Refuses invalid names, private keys, unsupported or weak
 * keys, certificates whose CN is not `name` (the callerid would not match the file), and different keys already
 * present unless `force`. Installing turns learned keys into installed ones (the sidecar record is removed).
 */
export async function preauthorizeKey(options: PreauthorizeOptions): Promise<PreauthorizeResult> {
  assertKeyName(options?.name, 'name');
  if (typeof options.certDir !== 'string' || options.certDir === '') throw new InvalidArgumentError('certDir: a directory path is required');
  const infos = checkedInfos(options.pem, options.name);
  const path = publicKeyPath(options.certDir, options.name) as string;
  const kids = infos.map((info) => info.kid);
  const text = normalizePem(options.pem);

  let previous: PublicKeyInfo[] | undefined;
  try {
    previous = publicKeyInfos(await readFile(path, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && !(error instanceof InvalidArgumentError)) {
      throw new KeyFileError(`${path}: cannot read the installed key (${(error as Error).message})`, { cause: error });
    }
    if (error instanceof InvalidArgumentError && !options.force) {
      throw new KeyFileError(`${path}: an unparseable file is in the way (${error.message}); use --force to replace it`);
    }
  }
  const sameKeys = previous !== undefined && previous.length === infos.length
    && previous.every((info, index) => info.fingerprint === infos[index]!.fingerprint && info.kind === infos[index]!.kind);
  if (sameKeys) {
    await unlink(learnedRecordPath(options.certDir, options.name)).catch(() => undefined);
    return { path, outcome: 'unchanged', fingerprint: infos[0]!.fingerprint, kids };
  }
  if (previous && !options.force) {
    throw new KeyFileError(
      `${path}: a different key is installed for ${options.name} (fingerprint ${previous[0]!.fingerprint.slice(0, 16)}…, new ${infos[0]!.fingerprint.slice(0, 16)}…); use --force to replace it`,
    );
  }
  await mkdir(options.certDir, { recursive: true, mode: 0o755 }).catch((error: unknown) => {
    throw new KeyFileError(`${options.certDir}: cannot create the directory (${(error as Error).message})`, { cause: error });
  });
  try {
    // Without --force a file appearing meanwhile (learned concurrently) is never replaced: link fails on it.
    await replaceFileAtomically(path, text, { mode: 0o644, exclusive: !(previous || options.force) });
  } catch (error) {
    if (/already exists/.test((error as Error).message)) throw new KeyFileError(`${path}: appeared while installing (learned concurrently?); run again to compare`, { cause: error });
    throw error;
  }
  await unlink(learnedRecordPath(options.certDir, options.name)).catch(() => undefined);
  return {
    path,
    outcome: previous ? 'replaced' : 'installed',
    fingerprint: infos[0]!.fingerprint,
    kids,
    ...(previous ? { previousFingerprint: previous[0]!.fingerprint } : {}),
  };
}

/**
 * Lists every `<name>.pem` of the directory, sorted by name, and every key in each: type, size, key id, status,
 * origin, certificate details and (with a CA) the provider's verdict. Unusable files are listed with a `problem`.
 */
export async function listKeys(options: ListKeysOptions): Promise<KeyEntry[]> {
  let files: string[];
  try {
    files = await readdir(options.certDir);
  } catch (error) {
    throw new KeyFileError(`${options.certDir}: cannot list the directory (${(error as Error).message})`, { cause: error });
  }
  const at = options.at ?? new Date();
  const crlSerials = crlSerialsOf(options, at);
  const entries: KeyEntry[] = [];
  for (const file of files.sort()) {
    if (!file.endsWith('.pem')) continue;
    const name = file.slice(0, -'.pem'.length);
    // Hidden, temporary and private key files are not names.
    if (!isValidKeyName(name) || name.endsWith('-private') || /-private\.[0-9a-f]{32}$/.test(name)) continue;
    const path = join(options.certDir, file);
    const entry: KeyEntry = { name, path, keys: [] };
    try {
      const pem = await readFile(path, 'utf8');
      const blocks = readKeyBlocks(pem, path);
      const learned = await learnedKeys(options.certDir, name);
      const signing = await signingKid(options.certDir, name);
      for (const block of blocks) entry.keys.push(await listing(block, { name, learned, signing, crlSerials, at, options }));
      markActive(entry.keys, signing);
    } catch (error) {
      entry.problem = (error as Error).message;
    }
    entries.push(entry);
  }
  return entries;
}

interface ListingContext {
  name: string;
  learned: Map<string, LearnedKey>;
  signing: string | null;
  crlSerials: ReadonlySet<string> | string;
  at: Date;
  options: ListKeysOptions;
}

async function listing(block: KeyFileBlock, context: ListingContext): Promise<KeyListing> {
  const info = publicKeyInfos(block.block.text)[0]!;
  const learned = context.learned.get(block.kid);
  const key: KeyListing = { ...info, status: 'valid', origin: learned ? 'learned' : 'installed', ...(learned ? { learned } : {}) };
  const { revoked, caCertPem } = context.options;
  if (revoked?.kids.has(block.kid)) {
    key.status = 'revoked';
    key.statusReason = 'key id in revoked_keys';
  } else if (block.serial !== undefined && revoked?.serials.has(block.serial)) {
    key.status = 'revoked';
    key.statusReason = `serial ${block.serial} in revoked_keys`;
  } else if (block.serial !== undefined && typeof context.crlSerials !== 'string' && context.crlSerials.has(block.serial)) {
    key.status = 'revoked';
    key.statusReason = `serial ${block.serial} in the CA's CRL`;
  } else if (info.certificate && (context.at < info.certificate.notBefore || context.at > info.certificate.notAfter)) {
    key.status = 'expired';
    key.statusReason = context.at > info.certificate.notAfter ? `expired at ${info.certificate.notAfter.toISOString()}` : `not valid before ${info.certificate.notBefore.toISOString()}`;
  }
  if (caCertPem !== undefined) {
    if (info.kind !== 'certificate') {
      key.caVerdict = { ok: false, reason: 'a bare public key; with ca_cert set only CA-signed certificates are accepted' };
    } else if (info.certificate?.cn !== context.name) {
      key.caVerdict = { ok: false, reason: `CN ${JSON.stringify(info.certificate?.cn)} does not match the name ${JSON.stringify(context.name)}` };
    } else {
      key.caVerdict = await verifyCertificate(block.block.text, caCertPem, { at: context.at });
    }
  }
  return key;
}

/** The active key: the one the name's private key signs with when it is in the directory, else the first usable one. */
function markActive(keys: KeyListing[], signing: string | null): void {
  const usable = (key: KeyListing) => key.status === 'valid' && key.caVerdict?.ok !== false;
  const active = signing !== null ? keys.find((key) => key.kid === signing && usable(key)) : keys.find(usable);
  if (active) active.status = 'active';
}

async function learnedKeys(dir: string, name: string): Promise<Map<string, LearnedKey>> {
  try {
    const record = parseLearnedRecord(await readFile(learnedRecordPath(dir, name), 'utf8'));
    return new Map(record.keys.map((key) => [key.kid, key]));
  } catch {
    // No (readable) sidecar record: every key was installed by hand or with `tsco keys preauthorize`.
    return new Map();
  }
}

async function signingKid(dir: string, name: string): Promise<string | null> {
  try {
    return (await privateKeyFacts(privateKeyPath(dir, name))).kid;
  } catch {
    // No private key here (a directory of others' keys), or an encrypted one: the first usable key is shown active.
    return null;
  }
}

/** The CRL's serials, or why the CRL cannot be used (a string), or an empty set without a CRL. */
function crlSerialsOf(options: ListKeysOptions, at: Date): ReadonlySet<string> | string {
  if (options.crlPem === undefined) return new Set();
  if (options.caCertPem === undefined) return 'a CRL needs the CA certificate to be checked';
  try {
    const crl = parseCrl(options.crlPem);
    const problem = crlProblem(crl, caSubjectOf(options.caCertPem), createPublicKey(options.caCertPem), at.getTime());
    return problem ?? crl.serials;
  } catch (error) {
    return (error as Error).message;
  }
}

/** Why the CRL given to listKeys cannot be used, or null. */
export function listCrlProblem(options: ListKeysOptions): string | null {
  const serials = crlSerialsOf(options, options.at ?? new Date());
  return typeof serials === 'string' ? serials : null;
}

function checkedInfos(pem: unknown, name: string): PublicKeyInfo[] {
  if (typeof pem !== 'string' || pem.trim() === '') throw new InvalidArgumentError('pem: PEM text of a public key or certificate is required');
  if (/PRIVATE KEY-----/.test(pem)) throw new InvalidArgumentError('pem: this is a PRIVATE key; install the public key (NAME.pem) instead');
  const infos = publicKeyInfos(pem);
  for (const info of infos) {
    if (info.kind === 'certificate' && info.certificate?.cn !== name) {
      throw new InvalidArgumentError(`pem: the certificate's CN is ${JSON.stringify(info.certificate?.cn)}, but it would be installed as ${JSON.stringify(name)}; callerids would not match`);
    }
  }
  return infos;
}

function normalizePem(pem: string): string {
  return pem.endsWith('\n') ? pem : `${pem}\n`;
}
