/**
 * `tsco keys`: generate key pairs, run a small CA (`ca init`, `ca sign`), pre-authorize a sender's key in
 * the certificate directory, and list that directory (installed or learned, fingerprints, CA verdicts).
 */
import type { Command } from 'commander';
import { randomBytes } from 'node:crypto';
import { readFile, rename, stat, unlink, writeFile, mkdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { checkName } from '../../names.js';
import { InvalidArgumentError, KeyFileError } from '../../errors.js';
import {
  ALLOWED_RSA_BITS, assertKeyName, checkRsaBits, createCa, generateKeyPairFiles, listKeys, preauthorizeKey, signCertificate,
  type KeyEntry,
} from '../../keys/index.js';
import { loadClientConfig, type GlobalOptions } from './context.js';
import type { Streams } from './output.js';

/** Where keys and the CA go when no --dir is given. */
export const DEFAULT_KEY_DIR = join(homedir(), '.tscollective');
const DEFAULT_CA_DIR = join(DEFAULT_KEY_DIR, 'ca');

/** Reads a passphrase file: one line, trailing newline removed; refuses group/world-readable files and empty ones. */
export async function readPassphraseFile(path: string): Promise<string> {
  let text: string;
  try {
    const info = await stat(path);
    if ((info.mode & 0o077) !== 0) throw new KeyFileError(`${path}: passphrase file is readable by others (mode ${(info.mode & 0o777).toString(8)}); chmod 600 it`);
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (error instanceof KeyFileError) throw error;
    throw new KeyFileError(`${path}: cannot read the passphrase file (${(error as Error).message})`, { cause: error });
  }
  const passphrase = text.replace(/\r?\n$/, '');
  if (passphrase === '') throw new KeyFileError(`${path}: the passphrase file is empty`);
  return passphrase;
}

/** `keys generate NAME`: writes DIR/NAME-private.pem and DIR/NAME.pem. */
export async function generateCommand(name: string, options: { dir: string; bits: string; passphraseFile?: string }, streams: Streams): Promise<number> {
  assertKeyName(name);
  const bits = checkRsaBits(Number(options.bits), '--bits');
  const passphrase = options.passphraseFile ? await readPassphraseFile(options.passphraseFile) : undefined;
  const files = await generateKeyPairFiles(name, { dir: options.dir, bits, ...(passphrase === undefined ? {} : { passphrase }) });
  streams.out(`private key: ${files.privatePath} (mode 0600${passphrase ? ', encrypted' : ''})\npublic key:  ${files.publicPath} (callerid cert=${name})\n`);
  return 0;
}

/** `keys ca init`: writes DIR/ca.pem and DIR/ca-private.pem (0600); refuses to overwrite a CA. */
export async function caInitCommand(options: { dir: string; cn: string; days: string }, streams: Streams): Promise<number> {
  const days = wholeNumber(options.days, '--days');
  const { certPem, keyPem } = await createCa({ cn: options.cn, days });
  await mkdir(options.dir, { recursive: true, mode: 0o700 });
  const certPath = join(options.dir, 'ca.pem');
  const keyPath = join(options.dir, 'ca-private.pem');
  await writeNew(keyPath, keyPem, 0o600);
  try {
    await writeNew(certPath, certPem, 0o644);
  } catch (error) {
    await unlink(keyPath).catch(() => undefined);
    throw error;
  }
  streams.out(`CA certificate: ${certPath} (CN=${options.cn}, ${days} days) — set plugin.aes.ca_cert to it\nCA private key: ${keyPath} (mode 0600; keep it offline)\n`);
  return 0;
}

/** `keys ca sign NAME`: certifies NAME's public key; writes NAME.pem (next to the key) as a certificate with CN=NAME. */
export async function caSignCommand(name: string, options: { dir: string; pubkey?: string; out?: string; days: string; san?: string[] }, streams: Streams): Promise<number> {
  assertKeyName(name);
  const days = wholeNumber(options.days, '--days');
  const pubkeyPath = options.pubkey ?? `${name}.pem`;
  const outPath = options.out ?? join(dirname(pubkeyPath), `${name}.pem`);
  if (basename(outPath) !== `${name}.pem`) {
    streams.err(`tsco: warning: ${outPath} is not named ${name}.pem; the callerid comes from the certificate's CN (${name}), but servers look it up as ${name}.pem\n`);
  }
  const [caCertPem, caKeyPem, publicKeyPem] = await Promise.all([
    readText(join(options.dir, 'ca.pem'), 'CA certificate (run tsco keys ca init first)'),
    readText(join(options.dir, 'ca-private.pem'), 'CA private key'),
    readText(pubkeyPath, `public key of ${name}`),
  ]);
  const dnsNames = options.san ?? [];
  for (const identity of dnsNames) checkName('identity', '--san', identity);
  const certPem = await signCertificate({ caCertPem, caKeyPem, publicKeyPem, cn: name, days, dnsNames });
  // Atomic replace: client_public may point at this very file while a client is running.
  const temp = join(dirname(outPath), `.${basename(outPath)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(temp, certPem, { mode: 0o644, flag: 'wx' });
    await rename(temp, outPath);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw new KeyFileError(`${outPath}: cannot write the certificate (${(error as Error).message})`, { cause: error });
  }
  const names = dnsNames.length > 0 ? `, subjectAltName ${dnsNames.map((n) => `DNS:${n}`).join(' ')}` : '';
  streams.out(`certificate: ${outPath} (CN=${name}${names}, ${days} days, issued by ${join(options.dir, 'ca.pem')})\n`);
  return 0;
}

/** `keys preauthorize NAME PUBKEY_FILE`: installs a sender's key or certificate into the certificate directory. */
export async function preauthorizeCommand(name: string, file: string, options: { dir?: string; force?: boolean }, globals: GlobalOptions, streams: Streams): Promise<number> {
  const certDir = options.dir ?? (await configuredPath('plugin.aes.client_cert_dir', '--dir', globals, streams));
  const pem = await readText(file, `public key of ${name}`);
  const result = await preauthorizeKey({ certDir, name, pem, force: Boolean(options.force) });
  const what = { installed: 'installed', replaced: `replaced (was ${result.previousFingerprint?.slice(0, 16)}…)`, unchanged: 'already installed (unchanged)' }[result.outcome];
  streams.out(`${name}: ${what} at ${result.path}\n  fingerprint sha256:${result.fingerprint}\n  callerid cert=${name}\n`);
  return 0;
}

/** `keys list`: every key in the certificate directory. */
export async function listCommand(options: { dir?: string; ca?: string; json?: boolean }, globals: GlobalOptions, streams: Streams): Promise<number> {
  let certDir = options.dir;
  let caPath = options.ca;
  if (certDir === undefined) {
    const config = await loadClientConfig(globals, streams);
    certDir = config.raw('plugin.aes.client_cert_dir');
    caPath ??= config.raw('plugin.aes.ca_cert');
    if (!certDir) throw new InvalidArgumentError('--dir: not given and plugin.aes.client_cert_dir is not configured');
  }
  const caCertPem = caPath ? await readText(caPath, 'CA certificate') : undefined;
  const entries = await listKeys({ certDir, ...(caCertPem === undefined ? {} : { caCertPem }) });
  if (options.json) {
    streams.out(`${JSON.stringify(entries, null, 2)}\n`);
    return 0;
  }
  if (entries.length === 0) streams.out(`no keys in ${certDir}\n`);
  for (const entry of entries) streams.out(formatEntry(entry, caCertPem !== undefined));
  return entries.some((e) => e.problem || (e.caVerdict && !e.caVerdict.ok)) ? 2 : 0;
}

function formatEntry(entry: KeyEntry, withCa: boolean): string {
  const lines = [`${entry.name}  (${entry.origin}${entry.learned?.learnedAt ? ` ${entry.learned.learnedAt} from ${entry.learned.senderid ?? '?'}, verified by ${entry.learned.verifiedBy ?? '?'}` : ''})`];
  if (entry.problem) {
    lines.push(`   UNUSABLE: ${entry.problem}`);
  } else if (entry.info) {
    lines.push(`   fingerprint: sha256:${entry.info.fingerprint}`);
    lines.push(`   key:         ${entry.info.keyType} ${entry.info.bits} bits, ${entry.info.kind}`);
    const cert = entry.info.certificate;
    if (cert) {
      lines.push(`   subject:     ${cert.subject.replaceAll('\n', ', ')}`);
      lines.push(`   issuer:      ${cert.issuer.replaceAll('\n', ', ')}`);
      lines.push(`   expires:     ${cert.notAfter.toISOString()}${cert.notAfter.getTime() < Date.now() ? ' (EXPIRED)' : ''}`);
    }
    if (withCa && entry.caVerdict) lines.push(`   CA check:    ${entry.caVerdict.ok ? 'valid' : `REJECTED: ${entry.caVerdict.reason}`}`);
  }
  return `${lines.join('\n')}\n`;
}

async function configuredPath(key: string, flag: string, globals: GlobalOptions, streams: Streams): Promise<string> {
  const config = await loadClientConfig(globals, streams);
  const value = config.raw(key);
  if (!value) throw new InvalidArgumentError(`${flag}: not given and ${key} is not configured in ${config.source}`);
  return value;
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new KeyFileError(`${path}: cannot read the ${what} (${(error as Error).message})`, { cause: error });
  }
}

async function writeNew(path: string, text: string, mode: number): Promise<void> {
  try {
    await writeFile(path, text, { mode, flag: 'wx' });
  } catch (error) {
    const exists = (error as NodeJS.ErrnoException).code === 'EEXIST';
    throw new KeyFileError(`${path}: ${exists ? 'already exists (refusing to overwrite a CA)' : (error as Error).message}`, { cause: error });
  }
}

function wholeNumber(text: string, flag: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < 1) throw new InvalidArgumentError(`${flag}: expected a whole number >= 1, got ${JSON.stringify(text)}`);
  return value;
}

/** Registers `keys` and its subcommands on the program. */
export function registerKeysCommands(program: Command, streams: Streams, run: (work: Promise<number>) => void): void {
  const globals = () => program.opts<GlobalOptions>();
  const keys = program.command('keys').description('manage key pairs, the CA, and the authorized senders\' keys');
  keys.command('generate')
    .description('generate an RSA key pair: DIR/NAME-private.pem (0600) and DIR/NAME.pem (callerid cert=NAME)')
    .argument('<name>', 'the identity name ([\\w.-]+)')
    .option('--dir <dir>', 'where to write the files', DEFAULT_KEY_DIR)
    .option('--bits <bits>', `RSA size: ${ALLOWED_RSA_BITS.join(', ')}`, '2048')
    .option('--passphrase-file <file>', 'encrypt the private key with the passphrase in this file (mode 0600)')
    .action((name: string, options: { dir: string; bits: string; passphraseFile?: string }) => run(generateCommand(name, options, streams)));
  const ca = keys.command('ca').description('a small certificate authority for plugin.aes.ca_cert');
  ca.command('init')
    .description('create DIR/ca.pem and DIR/ca-private.pem')
    .option('--dir <dir>', 'the CA directory', DEFAULT_CA_DIR)
    .option('--cn <cn>', 'the CA common name', 'tscollective CA')
    .option('--days <days>', 'validity in days', '3650')
    .action((options: { dir: string; cn: string; days: string }) => run(caInitCommand(options, streams)));
  ca.command('sign')
    .description('certify NAME\'s public key: writes NAME.pem as a certificate with CN=NAME (usable as client_public)')
    .argument('<name>', 'the identity name; becomes the CN')
    .option('--dir <dir>', 'the CA directory', DEFAULT_CA_DIR)
    .option('--pubkey <file>', 'the public key to certify (default ./NAME.pem)')
    .option('--out <file>', 'where to write the certificate (default: NAME.pem next to the public key)')
    .option('--days <days>', 'validity in days', '365')
    .option('--san <identity>', 'an identity the key may sign replies and registrations as (repeatable; subjectAltName DNS)', (value: string, list: string[] = []) => [...list, value])
    .action((name: string, options: { dir: string; pubkey?: string; out?: string; days: string; san?: string[] }) => run(caSignCommand(name, options, streams)));
  keys.command('preauthorize')
    .description('install a sender\'s public key or certificate as NAME.pem in the certificate directory (atomically)')
    .argument('<name>', 'the sender name (its callerid is cert=NAME)')
    .argument('<pubkey_file>', 'the PEM public key or certificate')
    .option('--dir <dir>', 'the certificate directory (default: plugin.aes.client_cert_dir of the configuration)')
    .option('--force', 'replace a different key already installed under NAME')
    .action((name: string, file: string, options: { dir?: string; force?: boolean }) => run(preauthorizeCommand(name, file, options, globals(), streams)));
  keys.command('list')
    .description('list the keys in the certificate directory: origin, fingerprint, certificate details, CA verdict')
    .option('--dir <dir>', 'the certificate directory (default: plugin.aes.client_cert_dir of the configuration)')
    .option('--ca <file>', 'check certificates against this CA (default: plugin.aes.ca_cert of the configuration)')
    .option('-j, --json', 'print JSON')
    .action((options: { dir?: string; ca?: string; json?: boolean }) => run(listCommand(options, globals(), streams)));
}
