/**
 * `tsco keys` commands on a certificate directory and the revocation list: `preauthorize` (install a sender's
 * keys), `list` (every key of every name: type, size, key id, status, origin, CA verdict) and `revoke` (add a key
 * id or certificate serial to `plugin.aes.revoked_keys`).
 */
import { InvalidArgumentError } from '../../errors.js';
import { appendRevocation, describeKey, listCrlProblem, listKeys, parseRevocationList, preauthorizeKey, type KeyEntry, type KeyListing } from '../../keys/index.js';
import { loadClientConfig, type GlobalOptions } from './context.js';
import { readText } from './keys-ca-commands.js';
import type { Streams } from './output.js';

/** `keys preauthorize NAME PUBKEY_FILE`: installs a sender's keys or certificates into the certificate directory. */
export async function preauthorizeCommand(name: string, file: string, options: { dir?: string; force?: boolean }, globals: GlobalOptions, streams: Streams): Promise<number> {
  const certDir = options.dir ?? (await configuredPath('plugin.aes.client_cert_dir', '--dir', globals, streams));
  const pem = await readText(file, `public key of ${name}`);
  const result = await preauthorizeKey({ certDir, name, pem, force: Boolean(options.force) });
  const what = { installed: 'installed', replaced: `replaced (was ${result.previousFingerprint?.slice(0, 16)}…)`, unchanged: 'already installed (unchanged)' }[result.outcome];
  streams.out(`${name}: ${what} at ${result.path}\n  fingerprint sha256:${result.fingerprint}\n  key ids ${result.kids.join(', ')}\n  callerid cert=${name}\n`);
  return 0;
}

/** `keys revoke KID|serial:HEX`: appends the entry to the revocation list (idempotent). */
export async function revokeCommand(entry: string, options: { file?: string; comment?: string }, globals: GlobalOptions, streams: Streams): Promise<number> {
  const file = options.file ?? (await configuredPath('plugin.aes.revoked_keys', '--file', globals, streams));
  const result = await appendRevocation(file, entry, options.comment);
  streams.out(`${result.entry}: ${result.added ? 'revoked' : 'already revoked'} in ${file}; receivers refuse it once they re-read the file (within key_recheck_interval, or at once on SIGHUP)\n`);
  return 0;
}

/** Options of `keys list`. */
export interface ListOptions {
  dir?: string;
  ca?: string;
  revoked?: string;
  crl?: string;
  json?: boolean;
}

/** `keys list`: every key of every name in the certificate directory. Exit 2 when any is unusable, rejected or revoked. */
export async function listCommand(options: ListOptions, globals: GlobalOptions, streams: Streams): Promise<number> {
  let certDir = options.dir;
  let { ca: caPath, revoked: revokedPath, crl: crlPath } = options;
  if (certDir === undefined) {
    const config = await loadClientConfig(globals, streams);
    certDir = config.raw('plugin.aes.client_cert_dir');
    caPath ??= config.raw('plugin.aes.ca_cert');
    revokedPath ??= config.raw('plugin.aes.revoked_keys');
    crlPath ??= config.raw('plugin.aes.ca_crl');
    if (!certDir) throw new InvalidArgumentError('--dir: not given and plugin.aes.client_cert_dir is not configured');
  }
  const caCertPem = caPath ? await readText(caPath, 'CA certificate') : undefined;
  const revoked = revokedPath ? parseRevocationList(await readText(revokedPath, 'revocation list'), revokedPath) : undefined;
  const crlPem = crlPath ? await readText(crlPath, 'CRL') : undefined;
  const listOptions = { certDir, ...(caCertPem === undefined ? {} : { caCertPem }), ...(revoked ? { revoked } : {}), ...(crlPem === undefined ? {} : { crlPem }) };
  const crlProblem = listCrlProblem(listOptions);
  if (crlProblem) streams.err(`tsco: warning: the CRL ${crlPath} is not used: ${crlProblem}\n`);
  const entries = await listKeys(listOptions);
  if (options.json) {
    streams.out(`${JSON.stringify(entries, null, 2)}\n`);
  } else {
    if (entries.length === 0) streams.out(`no keys in ${certDir}\n`);
    for (const entry of entries) streams.out(formatEntry(entry));
  }
  const bad = entries.some((e) => e.problem || e.keys.some((k) => k.status === 'revoked' || (k.caVerdict && !k.caVerdict.ok)));
  return bad ? 2 : 0;
}

function formatEntry(entry: KeyEntry): string {
  const lines = [`${entry.name}  (${entry.path})`];
  if (entry.problem) lines.push(`   UNUSABLE: ${entry.problem}`);
  for (const key of entry.keys) lines.push(...formatKey(key));
  return `${lines.join('\n')}\n`;
}

const STATUS_LABEL: Record<KeyListing['status'], string> = { active: 'active', valid: 'also valid', revoked: 'REVOKED', expired: 'EXPIRED' };

function formatKey(key: KeyListing): string[] {
  const learned = key.learned ? `learned ${key.learned.learnedAt} from ${key.learned.senderid}, verified by ${key.learned.verifiedBy}` : 'installed';
  const lines = [
    ` - key ${key.kid}  ${STATUS_LABEL[key.status]}${key.statusReason ? ` (${key.statusReason})` : ''}`,
    `   type:        ${describeKey({ type: key.keyType, bits: key.bits })}, ${key.kind}`,
    `   origin:      ${learned}`,
    `   fingerprint: sha256:${key.fingerprint}`,
  ];
  const cert = key.certificate;
  if (cert) {
    lines.push(`   subject:     ${cert.subject.replaceAll('\n', ', ')}`);
    lines.push(`   issuer:      ${cert.issuer.replaceAll('\n', ', ')}`);
    lines.push(`   serial:      ${key.serial}`);
    lines.push(`   expires:     ${cert.notAfter.toISOString()}`);
  }
  if (key.caVerdict) lines.push(`   CA check:    ${key.caVerdict.ok ? 'valid' : `REJECTED: ${key.caVerdict.reason}`}`);
  return lines;
}

async function configuredPath(key: string, flag: string, globals: GlobalOptions, streams: Streams): Promise<string> {
  const config = await loadClientConfig(globals, streams);
  const value = config.raw(key);
  if (!value) throw new InvalidArgumentError(`${flag}: not given and ${key} is not configured in ${config.source}`);
  return value;
}
