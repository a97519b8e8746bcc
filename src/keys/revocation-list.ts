/**
 * The revocation list file (`plugin.aes.revoked_keys`): one entry a line, a key id (32 hex characters) or
 * `serial:<hex>` (a certificate's serial number), `#` starts a comment. Read by the security provider, written by
 * `tsco keys revoke`.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { InvalidArgumentError, KeyFileError } from '../errors.js';
import { isName } from '../names.js';
import { normalizeHex } from './der.js';

/** A parsed revocation list. */
export interface RevocationList {
  /** Revoked key ids. */
  readonly kids: ReadonlySet<string>;
  /** Revoked certificate serial numbers, lower-case hex without leading zeros. */
  readonly serials: ReadonlySet<string>;
}

/** Most entries a list may hold (a bound on what a file can make the provider keep). */
export const MAX_REVOCATION_ENTRIES = 1_000_000;

const SERIAL = /^serial:([0-9a-fA-F]{1,64})$/;

/** A canonical entry (`<kid>` or `serial:<hex>`), or null when `text` is neither. */
export function revocationEntry(text: string): string | null {
  const trimmed = text.trim();
  if (isName('kid', trimmed)) return trimmed;
  const serial = SERIAL.exec(trimmed);
  return serial ? `serial:${normalizeHex(serial[1]!)}` : null;
}

/** Parses a revocation list; throws KeyFileError listing every bad line (`path:line: problem`). */
export function parseRevocationList(text: string, path: string): RevocationList {
  const kids = new Set<string>();
  const serials = new Set<string>();
  const problems: string[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, index) => {
    const hash = raw.indexOf('#');
    const content = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
    if (content === '') return;
    const entry = revocationEntry(content);
    if (entry === null) {
      if (problems.length < 20) problems.push(`${path}:${index + 1}: ${JSON.stringify(content.slice(0, 80))} is neither a key id (32 lower-case hex characters) nor serial:<hex>`);
      return;
    }
    if (entry.startsWith('serial:')) serials.add(entry.slice('serial:'.length));
    else kids.add(entry);
  });
  if (kids.size + serials.size > MAX_REVOCATION_ENTRIES) problems.push(`${path}: more than ${MAX_REVOCATION_ENTRIES} entries`);
  if (problems.length > 0) throw new KeyFileError(`revocation list has problems: ${problems.join('; ')}`);
  return { kids, serials };
}

/**
 * Adds `entry` (a key id or `serial:<hex>`) to the list at `path`, creating it when missing; a no-op when the
 * entry is already there. The file is replaced atomically (temporary file, then rename), so a provider never
 * reads half a list. Returns whether the entry was added.
 */
export async function appendRevocation(path: string, entry: string, comment?: string): Promise<{ added: boolean; entry: string }> {
  const canonical = revocationEntry(entry);
  if (canonical === null) throw new InvalidArgumentError(`${JSON.stringify(entry)} is neither a key id (32 lower-case hex characters) nor serial:<hex>`);
  let text = '';
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new KeyFileError(`${path}: cannot read the revocation list (${(error as Error).message})`, { cause: error });
  }
  const list = parseRevocationList(text, path);
  const present = canonical.startsWith('serial:') ? list.serials.has(canonical.slice(7)) : list.kids.has(canonical);
  if (present) return { added: false, entry: canonical };
  const note = comment ? `  # ${comment.replace(/[\r\n]+/g, ' ')}` : '';
  const next = `${text}${text === '' || text.endsWith('\n') ? '' : '\n'}${canonical}${note}\n`;
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(temp, next, { mode: 0o644, flag: 'wx' });
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw new KeyFileError(`${path}: cannot write the revocation list (${(error as Error).message})`, { cause: error });
  }
  return { added: true, entry: canonical };
}
