/**
 * The certificate directory (`plugin.aes.client_cert_dir`) as an administrator sees it: installing a sender's
 * key or certificate ahead of time (pre-authorizing it), and listing what is there, installed or learned.
 * A key the provider learned from the network has a sidecar `.<name>.learned.json`; anything else was installed.
 */
import { randomBytes } from 'node:crypto';
import { link, readFile, readdir, rename, unlink, writeFile, mkdir, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError, KeyFileError } from '../errors.js';
import { publicKeyInfo, verifyCertificate, type PublicKeyInfo } from './inspect.js';
import { assertKeyName, isValidKeyName } from './names.js';

/** Options of preauthorizeKey. */
export interface PreauthorizeOptions {
  /** The certificate directory (client_cert_dir or server_cert_dir). */
  certDir: string;
  /** The sender's name: the file becomes `<certDir>/<name>.pem` and its callerid `cert=<name>`. */
  name: string;
  /** PEM text of an RSA public key (SPKI) or an X.509 certificate whose CN is `name`. */
  pem: string;
  /** Replace a different key already installed under this name. */
  force?: boolean;
}

/** What preauthorizeKey did. */
export interface PreauthorizeResult {
  path: string;
  /** `installed`: new; `replaced`: a different key was overwritten (force); `unchanged`: the same key was there. */
  outcome: 'installed' | 'replaced' | 'unchanged';
  fingerprint: string;
  /** The fingerprint of the key that was replaced. */
  previousFingerprint?: string;
}

/** One entry of listKeys. */
export interface KeyEntry {
  name: string;
  path: string;
  origin: 'installed' | 'learned';
  /** When and how a learned key was learned (from its sidecar record). */
  learned?: { learnedAt?: string; senderid?: string; verifiedBy?: string };
  /** Absent when the file could not be parsed (see `problem`). */
  info?: PublicKeyInfo;
  /** With a CA configured: whether this certificate would be accepted (signed, valid, CN = name). */
  caVerdict?: { ok: true } | { ok: false; reason: string };
  /** Why the file is unusable, when it is. */
  problem?: string;
}

/** The sidecar path the provider writes next to a learned key. */
export function learnedRecordPath(certDir: string, name: string): string {
  return join(certDir, `.${name}.learned.json`);
}

/**
 * Installs `pem` as `<certDir>/<name>.pem`, atomically (temporary file, then rename or link). Refuses invalid
 * names, non-RSA or weak keys, certificates whose CN is not `name` (the callerid would not match the file),
 * and a different key already present unless `force`. Installing turns a learned key into an installed one.
 */
export async function preauthorizeKey(options: PreauthorizeOptions): Promise<PreauthorizeResult> {
  assertKeyName(options?.name, 'name');
  if (typeof options.certDir !== 'string' || options.certDir === '') throw new InvalidArgumentError('certDir: a directory path is required');
  const info = checkedInfo(options.pem, options.name);
  const path = join(options.certDir, `${options.name}.pem`);

  let previous: PublicKeyInfo | undefined;
  try {
    previous = publicKeyInfo(await readFile(path, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && !(error instanceof InvalidArgumentError)) {
      throw new KeyFileError(`${path}: cannot read the installed key (${(error as Error).message})`, { cause: error });
    }
    if (error instanceof InvalidArgumentError && !options.force) {
      throw new KeyFileError(`${path}: an unparseable file is in the way (${error.message}); use --force to replace it`);
    }
  }
  if (previous && previous.fingerprint === info.fingerprint && previous.kind === info.kind) {
    await unlink(learnedRecordPath(options.certDir, options.name)).catch(() => undefined);
    return { path, outcome: 'unchanged', fingerprint: info.fingerprint };
  }
  if (previous && !options.force) {
    throw new KeyFileError(
      `${path}: a different key is installed for ${options.name} (fingerprint ${previous.fingerprint.slice(0, 16)}…, new ${info.fingerprint.slice(0, 16)}…); use --force to replace it`,
    );
  }

  await mkdir(options.certDir, { recursive: true, mode: 0o755 }).catch((error: unknown) => {
    throw new KeyFileError(`${options.certDir}: cannot create the directory (${(error as Error).message})`, { cause: error });
  });
  const temp = join(options.certDir, `.${options.name}.pem.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(temp, normalizePem(options.pem), { mode: 0o644, flag: 'wx' });
    await chmod(temp, 0o644);
    if (previous || options.force) {
      await rename(temp, path);
    } else {
      // link() fails if a learner wrote the file meanwhile, so a key is never replaced without --force.
      await link(temp, path);
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new KeyFileError(
      code === 'EEXIST' ? `${path}: appeared while installing (learned concurrently?); run again to compare` : `${path}: cannot install (${(error as Error).message})`,
      { cause: error },
    );
  } finally {
    await unlink(temp).catch(() => undefined);
  }
  await unlink(learnedRecordPath(options.certDir, options.name)).catch(() => undefined);
  return {
    path,
    outcome: previous ? 'replaced' : 'installed',
    fingerprint: info.fingerprint,
    ...(previous ? { previousFingerprint: previous.fingerprint } : {}),
  };
}

/**
 * Lists every `<name>.pem` of the directory, sorted by name, with its origin, fingerprint, certificate details,
 * and (when `caCertPem` is given) whether the provider's CA check would accept it. Unusable files are listed
 * with a `problem` rather than skipped.
 */
export async function listKeys(options: { certDir: string; caCertPem?: string; at?: Date }): Promise<KeyEntry[]> {
  let files: string[];
  try {
    files = await readdir(options.certDir);
  } catch (error) {
    throw new KeyFileError(`${options.certDir}: cannot list the directory (${(error as Error).message})`, { cause: error });
  }
  const entries: KeyEntry[] = [];
  for (const file of files.sort()) {
    if (!file.endsWith('.pem')) continue;
    const name = file.slice(0, -'.pem'.length);
    if (!isValidKeyName(name)) continue; // temporary and hidden files
    const path = join(options.certDir, file);
    const entry: KeyEntry = { name, path, origin: 'installed' };
    try {
      entry.learned = JSON.parse(await readFile(learnedRecordPath(options.certDir, name), 'utf8')) as KeyEntry['learned'];
      entry.origin = 'learned';
    } catch {
      // No sidecar record: the key was installed by hand or with `tsco keys preauthorize`.
    }
    try {
      const pem = await readFile(path, 'utf8');
      entry.info = publicKeyInfo(pem);
      if (options.caCertPem !== undefined) {
        if (entry.info.kind !== 'certificate') {
          entry.caVerdict = { ok: false, reason: 'a bare public key; with ca_cert set only CA-signed certificates are accepted' };
        } else if (entry.info.certificate?.cn !== name) {
          entry.caVerdict = { ok: false, reason: `CN ${JSON.stringify(entry.info.certificate?.cn)} does not match the name ${JSON.stringify(name)}` };
        } else {
          entry.caVerdict = await verifyCertificate(pem, options.caCertPem, options.at ? { at: options.at } : {});
        }
      }
    } catch (error) {
      entry.problem = (error as Error).message;
    }
    entries.push(entry);
  }
  return entries;
}

function checkedInfo(pem: unknown, name: string): PublicKeyInfo {
  if (typeof pem !== 'string' || pem.trim() === '') throw new InvalidArgumentError('pem: PEM text of a public key or certificate is required');
  if (/PRIVATE KEY-----/.test(pem)) throw new InvalidArgumentError('pem: this is a PRIVATE key; install the public key (NAME.pem) instead');
  const info = publicKeyInfo(pem);
  if (info.keyType !== 'rsa') throw new InvalidArgumentError(`pem: expected an RSA key, got ${info.keyType}`);
  if (info.bits < 2048) throw new InvalidArgumentError(`pem: RSA key of ${info.bits} bits is too weak (minimum 2048)`);
  if (info.kind === 'certificate' && info.certificate?.cn !== name) {
    throw new InvalidArgumentError(`pem: the certificate's CN is ${JSON.stringify(info.certificate?.cn)}, but it would be installed as ${JSON.stringify(name)}; callerids would not match`);
  }
  return info;
}

function normalizePem(pem: string): string {
  return pem.endsWith('\n') ? pem : `${pem}\n`;
}
