/** RSA key files for the tests that use the real aes_security provider (generated per run, never committed). */
import { generateKeyPair } from 'node:crypto';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const generate = promisify(generateKeyPair);

/** The files of one key pair: `<name>.pem` (public: its basename is the callerid) and `<name>-private.pem` (0600). */
export interface KeyFiles {
  name: string;
  publicPath: string;
  privatePath: string;
}

/** Generates a 2048-bit RSA pair for `name` in `dir`. */
export async function makeKeys(dir: string, name: string): Promise<KeyFiles> {
  mkdirSync(dir, { recursive: true });
  const { publicKey, privateKey } = await generate('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const files = { name, publicPath: join(dir, `${name}.pem`), privatePath: join(dir, `${name}-private.pem`) };
  writeFileSync(files.publicPath, publicKey, { mode: 0o644 });
  writeFileSync(files.privatePath, privateKey, { mode: 0o600 });
  return files;
}

/** Copies public keys into a cert directory (what an administrator does in the manual scenarios). */
export function trust(certDir: string, ...keys: KeyFiles[]): void {
  mkdirSync(certDir, { recursive: true });
  for (const key of keys) copyFileSync(key.publicPath, join(certDir, `${key.name}.pem`));
}
