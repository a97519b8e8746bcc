/**
 * `tsco keys`: generate, rotate and retire key pairs of any type (RSA, ECDSA P-256, Ed25519), run a small CA
 * (keys-ca-commands.ts), and manage the certificate directory and revocation list (keys-dir-commands.ts).
 * The file layout is src/keys/layout.ts; docs/keys.md describes the commands.
 */
import type { Command } from 'commander';
import { readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KeyFileError } from '../../errors.js';
import { ALLOWED_RSA_BITS, KEY_TYPES, assertKeyName, checkKeyType, checkRsaBits, describeKey, generateKeyPairFiles, retireKey, rotateKeyPair } from '../../keys/index.js';
import type { GlobalOptions } from './context.js';
import { caInitCommand, caRevokeCommand, caSignCommand } from './keys-ca-commands.js';
import { listCommand, preauthorizeCommand, revokeCommand, type ListOptions } from './keys-dir-commands.js';
import type { Streams } from './output.js';

/** Where keys and the CA go when no --dir is given. */
export const DEFAULT_KEY_DIR = join(homedir(), '.tscollective');
const DEFAULT_CA_DIR = join(DEFAULT_KEY_DIR, 'ca');
const TYPES = KEY_TYPES.join('|');

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

/** Options of `keys generate` and `keys rotate`. */
interface PairOptions {
  dir: string;
  type?: string;
  bits?: string;
  passphraseFile?: string;
}

async function pairSettings(options: PairOptions, defaultType: string | undefined) {
  const typeText = options.type ?? defaultType;
  const type = typeText === undefined ? undefined : checkKeyType(typeText, '--type');
  const bits = options.bits === undefined ? undefined : checkRsaBits(Number(options.bits), '--bits');
  if (bits !== undefined && type !== undefined && type !== 'rsa') throw new KeyFileError(`--bits: only RSA keys have a size; --type is ${type}`);
  const passphrase = options.passphraseFile ? await readPassphraseFile(options.passphraseFile) : undefined;
  return { ...(type ? { type } : {}), ...(bits ? { bits } : {}), ...(passphrase === undefined ? {} : { passphrase }) };
}

/** `keys generate NAME`: writes DIR/NAME-private.pem and DIR/NAME.pem. */
export async function generateCommand(name: string, options: PairOptions, streams: Streams): Promise<number> {
  assertKeyName(name);
  const settings = await pairSettings(options, 'rsa');
  const files = await generateKeyPairFiles(name, { dir: options.dir, ...settings });
  const kind = describeKey({ type: settings.type ?? 'rsa', bits: settings.bits ?? 2048 });
  streams.out(`private key: ${files.privatePath} (${kind}, mode 0600${settings.passphrase ? ', encrypted' : ''})\npublic key:  ${files.publicPath} (callerid cert=${name}, key ${files.kid})\n`);
  return 0;
}

/** `keys rotate NAME`: a new pair; the old private key is kept, NAME.pem holds the new key first, then the old ones. */
export async function rotateCommand(name: string, options: PairOptions, streams: Streams): Promise<number> {
  const settings = await pairSettings(options, undefined);
  const result = await rotateKeyPair(name, { dir: options.dir, ...settings });
  streams.out([
    `new key:     ${result.newKid} (${result.type}) signs from now on: ${result.privatePath}`,
    `old key:     ${result.oldKid} kept as ${result.keptPrivatePath}`,
    `public keys: ${result.publicPath} holds ${result.kids.join(', ')} (newest first)`,
    `next: copy ${result.publicPath} to every receiver's certificate directory (or, with a CA, certify it: tsco keys ca sign ${name});`,
    `      once nothing signed with the old key is in flight, run: tsco keys retire ${name} ${result.oldKid} --dir ${options.dir}`,
    '',
  ].join('\n'));
  return 0;
}

/** `keys retire NAME KID`: removes a key from DIR/NAME.pem and deletes its kept private key. */
export async function retireCommand(name: string, kid: string, options: { dir: string; passphraseFile?: string }, streams: Streams): Promise<number> {
  const passphrase = options.passphraseFile ? await readPassphraseFile(options.passphraseFile) : undefined;
  const result = await retireKey(name, kid, { dir: options.dir, ...(passphrase === undefined ? {} : { passphrase }) });
  streams.out(`${kid}: retired from ${result.publicPath} (it holds ${result.kids.join(', ')})${result.removedPrivatePath ? `; deleted ${result.removedPrivatePath}` : ''}\n` +
    `copy ${result.publicPath} to the receivers: they refuse the retired key as soon as they read it\n`);
  return 0;
}

/** Registers `keys` and its subcommands on the program. */
export function registerKeysCommands(program: Command, streams: Streams, run: (work: Promise<number>) => void): void {
  const globals = () => program.opts<GlobalOptions>();
  const keys = program.command('keys').description('manage key pairs, rotation, revocation, the CA, and the authorized senders\' keys');
  keys.command('generate')
    .description('generate a key pair: DIR/NAME-private.pem (0600) and DIR/NAME.pem (callerid cert=NAME)')
    .argument('<name>', 'the identity name ([\\w.-]+)')
    .option('--dir <dir>', 'where to write the files', DEFAULT_KEY_DIR)
    .option('--type <type>', `key type: ${TYPES}`, 'rsa')
    .option('--bits <bits>', `RSA size: ${ALLOWED_RSA_BITS.join(', ')} (default 2048)`)
    .option('--passphrase-file <file>', 'encrypt the private key with the passphrase in this file (mode 0600)')
    .action((name: string, options: PairOptions) => run(generateCommand(name, options, streams)));
  keys.command('rotate')
    .description('make a new key pair for NAME: the old private key is kept as NAME-private.<kid>.pem, NAME.pem holds the new key first')
    .argument('<name>', 'the identity name')
    .option('--dir <dir>', 'the key directory', DEFAULT_KEY_DIR)
    .option('--type <type>', `key type of the new key: ${TYPES} (default: the current key's)`)
    .option('--bits <bits>', `RSA size: ${ALLOWED_RSA_BITS.join(', ')} (default 2048)`)
    .option('--passphrase-file <file>', 'opens the current private key and encrypts the new one (mode 0600)')
    .action((name: string, options: PairOptions) => run(rotateCommand(name, options, streams)));
  keys.command('retire')
    .description('remove key KID from DIR/NAME.pem (and delete DIR/NAME-private.<KID>.pem); receivers refuse it once they read the file')
    .argument('<name>', 'the identity name')
    .argument('<kid>', 'the key id to retire (tsco keys list shows them)')
    .option('--dir <dir>', 'the key directory (or a certificate directory holding NAME.pem)', DEFAULT_KEY_DIR)
    .option('--passphrase-file <file>', 'opens an encrypted DIR/NAME-private.pem (to refuse retiring the active key)')
    .action((name: string, kid: string, options: { dir: string; passphraseFile?: string }) => run(retireCommand(name, kid, options, streams)));
  keys.command('revoke')
    .description('add a key id or serial:<hex> of a certificate to the revocation list (plugin.aes.revoked_keys); idempotent')
    .argument('<entry>', 'a key id (32 hex characters) or serial:<hex>')
    .option('--file <file>', 'the revocation list (default: plugin.aes.revoked_keys of the configuration)')
    .option('--comment <text>', 'a comment written after the entry')
    .action((entry: string, options: { file?: string; comment?: string }) => run(revokeCommand(entry, options, globals(), streams)));
  const ca = keys.command('ca').description('a small certificate authority for plugin.aes.ca_cert and plugin.aes.ca_crl');
  ca.command('init')
    .description('create DIR/ca.pem and DIR/ca-private.pem')
    .option('--dir <dir>', 'the CA directory', DEFAULT_CA_DIR)
    .option('--cn <cn>', 'the CA common name', 'tscollective CA')
    .option('--days <days>', 'validity in days', '3650')
    .option('--type <type>', `key type of the CA: ${TYPES}`, 'rsa')
    .option('--bits <bits>', `RSA size: ${ALLOWED_RSA_BITS.join(', ')} (default 2048)`)
    .action((options: { dir: string; cn: string; days: string; type: string; bits?: string }) => run(caInitCommand(options, streams)));
  ca.command('sign')
    .description('certify NAME\'s public key (the first of its file): writes it into NAME.pem as a certificate with CN=NAME')
    .argument('<name>', 'the identity name; becomes the CN')
    .option('--dir <dir>', 'the CA directory', DEFAULT_CA_DIR)
    .option('--pubkey <file>', 'the public key to certify (default ./NAME.pem)')
    .option('--out <file>', 'where to write the certificate (default: NAME.pem next to the public key)')
    .option('--days <days>', 'validity in days', '365')
    .option('--san <identity>', 'an identity the key may sign replies and registrations as (repeatable; subjectAltName DNS)', (value: string, list: string[] = []) => [...list, value])
    .action((name: string, options: { dir: string; pubkey?: string; out?: string; days: string; san?: string[] }) => run(caSignCommand(name, options, streams)));
  ca.command('revoke')
    .description('revoke a certificate (its file or hex serial): writes DIR/crl.pem listing every serial revoked so far')
    .argument('<certificate>', 'a certificate file, or its serial number in hex')
    .option('--dir <dir>', 'the CA directory', DEFAULT_CA_DIR)
    .option('--days <days>', 'days until the CRL\'s next update', '30')
    .action((what: string, options: { dir: string; days: string }) => run(caRevokeCommand(what, options, streams)));
  keys.command('preauthorize')
    .description('install a sender\'s public keys or certificates as NAME.pem in the certificate directory (atomically)')
    .argument('<name>', 'the sender name (its callerid is cert=NAME)')
    .argument('<pubkey_file>', 'the PEM public keys or certificates')
    .option('--dir <dir>', 'the certificate directory (default: plugin.aes.client_cert_dir of the configuration)')
    .option('--force', 'replace different keys already installed under NAME')
    .action((name: string, file: string, options: { dir?: string; force?: boolean }) => run(preauthorizeCommand(name, file, options, globals(), streams)));
  keys.command('list')
    .description('list every key per name: type and size, key id, active / also valid / revoked / expired, learned or installed, CA verdict')
    .option('--dir <dir>', 'the certificate directory (default: plugin.aes.client_cert_dir of the configuration)')
    .option('--ca <file>', 'check certificates against this CA (default: plugin.aes.ca_cert of the configuration)')
    .option('--revoked <file>', 'the revocation list (default: plugin.aes.revoked_keys of the configuration)')
    .option('--crl <file>', 'the CA\'s CRL (default: plugin.aes.ca_crl of the configuration)')
    .option('-j, --json', 'print JSON')
    .action((options: ListOptions) => run(listCommand(options, globals(), streams)));
}
