/**
 * `tsco keys ca`: a small certificate authority for `plugin.aes.ca_cert` of any key type (`ca init`), certifying
 * identities (`ca sign`), and revoking their certificates through a CRL (`ca revoke`, for `plugin.aes.ca_crl`).
 */
import { readFile, mkdir, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { checkName } from '../../names.js';
import { InvalidArgumentError, KeyFileError } from '../../errors.js';
import { assertKeyName, createCa, createCrl, publicKeyInfos, signCertificate } from '../../keys/index.js';
import { keyFileText, readKeyBlocks, replaceFileAtomically } from '../../keys/key-file.js';
import { checkKeyType } from '../../keys/key-types.js';
import { appendRevocation, parseRevocationList, revocationEntry } from '../../keys/revocation-list.js';
import type { Streams } from './output.js';

/** `keys ca init`: writes DIR/ca.pem and DIR/ca-private.pem (0600); refuses to overwrite a CA. */
export async function caInitCommand(options: { dir: string; cn: string; days: string; type: string; bits?: string }, streams: Streams): Promise<number> {
  const days = wholeNumber(options.days, '--days');
  const type = checkKeyType(options.type, '--type');
  const bits = options.bits === undefined ? {} : { bits: wholeNumber(options.bits, '--bits') };
  const { certPem, keyPem } = await createCa({ cn: options.cn, days, type, ...bits });
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
  streams.out(`CA certificate: ${certPath} (CN=${options.cn}, ${type}, ${days} days) — set plugin.aes.ca_cert to it\nCA private key: ${keyPath} (mode 0600; keep it offline)\n`);
  return 0;
}

/**
 * `keys ca sign NAME`: certifies the first (newest) key of NAME's public key file and writes the certificate in
 * its place in NAME.pem (next to the key), keeping any other keys of the file.
 */
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
  const blocks = readKeyBlocks(publicKeyPem, pubkeyPath);
  const certPem = await signCertificate({ caCertPem, caKeyPem, publicKeyPem: blocks[0]!.block.text, cn: name, days, dnsNames });
  // The certificate takes the place of the key it certifies; the file's other keys (a rotation overlap) stay.
  const others = outPath === pubkeyPath ? blocks.slice(1) : [];
  // Atomic replace: client_public may point at this very file while a client is running.
  await replaceFileAtomically(outPath, certPem + keyFileText(others), { mode: 0o644 });
  const names = dnsNames.length > 0 ? `, subjectAltName ${dnsNames.map((n) => `DNS:${n}`).join(' ')}` : '';
  const info = publicKeyInfos(certPem)[0]!;
  streams.out(`certificate: ${outPath} (CN=${name}${names}, key ${info.kid}, serial ${info.serial}, ${days} days, issued by ${join(options.dir, 'ca.pem')})\n`);
  return 0;
}

/**
 * `keys ca revoke SERIAL|CERT_FILE`: adds the certificate's serial to DIR/revoked-serials (idempotent) and writes
 * DIR/crl.pem, a CRL of every serial revoked so far, signed by the CA; point plugin.aes.ca_crl at it.
 */
export async function caRevokeCommand(what: string, options: { dir: string; days: string }, streams: Streams): Promise<number> {
  const days = wholeNumber(options.days, '--days');
  const serial = await serialOf(what);
  const [caCertPem, caKeyPem] = await Promise.all([
    readText(join(options.dir, 'ca.pem'), 'CA certificate (run tsco keys ca init first)'),
    readText(join(options.dir, 'ca-private.pem'), 'CA private key'),
  ]);
  const indexPath = join(options.dir, 'revoked-serials');
  const { added } = await appendRevocation(indexPath, `serial:${serial}`);
  const revoked = parseRevocationList(await readText(indexPath, 'revoked serials'), indexPath);
  const crlPem = await createCrl({ caCertPem, caKeyPem, serials: [...revoked.serials], days });
  const crlPath = join(options.dir, 'crl.pem');
  await replaceFileAtomically(crlPath, crlPem, { mode: 0o644 });
  streams.out(`serial ${serial}: ${added ? 'revoked' : 'already revoked'}; ${crlPath} lists ${revoked.serials.size} serial(s), next update in ${days} days — set plugin.aes.ca_crl to it and copy it where the receivers read it\n`);
  return 0;
}

async function serialOf(what: string): Promise<string> {
  // A hex number (optionally written serial:<hex>) is a serial; anything else names a certificate file.
  const entry = /^(serial:)?[0-9a-fA-F]{1,64}$/.test(what) ? revocationEntry(`serial:${what.replace(/^serial:/, '')}`) : null;
  if (entry !== null) return entry.slice('serial:'.length);
  const text = await readText(what, 'certificate to revoke (or give its hex serial number)');
  const certificate = readKeyBlocks(text, what).find((block) => block.serial !== undefined);
  if (!certificate) throw new InvalidArgumentError(`${what}: holds no certificate; give a certificate file or a hex serial number`);
  return certificate.serial!;
}

/** Reads a text file; KeyFileError names the path and what it is. */
export async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new KeyFileError(`${path}: cannot read the ${what} (${(error as Error).message})`, { cause: error });
  }
}

async function writeNew(path: string, text: string, mode: number): Promise<void> {
  try {
    await replaceFileAtomically(path, text, { mode, exclusive: true });
  } catch (error) {
    if (/already exists/.test((error as Error).message)) throw new KeyFileError(`${path}: already exists (refusing to overwrite a CA)`, { cause: error });
    throw error;
  }
}

/** A whole number >= 1 from an option's text; InvalidArgumentError names the flag. */
export function wholeNumber(text: string, flag: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < 1) throw new InvalidArgumentError(`${flag}: expected a whole number >= 1, got ${JSON.stringify(text)}`);
  return value;
}
