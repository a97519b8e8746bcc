/**
 * Key resolution rows of `npm run bench`: what a client pays, per replying server, to turn that server's key file
 * into a key ready to verify with, cold (a fresh process knows no key): stat, read, split the PEM, read the key id
 * from the PEM's own DER bytes, import. Next to it, the previous method (node's PEM import, then a DER export for the
 * key id), and each import route OpenSSL 3 offers, so the choice of route is measured rather than assumed.
 * Target: at most 0.05 ms per key.
 */
import { createHash, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configFromObject } from '../src/config/index.js';
import { createCa, signCertificate, type KeyType } from '../src/keys/index.js';
import '../plugins/security/aes_security/index.js';
import { AesSecurityProvider } from '../plugins/security/aes_security/provider.js';
import { MemoryCounters } from '../src/util/counters.js';
import { CapturingLogger } from '../src/util/log.js';

/** One key resolution row: CPU milliseconds per key, best of the rounds. */
export interface ResolutionRow { ms_per_key: number }

/** The target of the issue: a replying server's key resolved in at most this many milliseconds. */
export const RESOLUTION_TARGET_MS = 0.05;

/** Keys resolved per round (distinct files, as a client meets distinct servers). */
const FILES = 1000;

const KEYGEN: Record<KeyType, () => { publicKey: KeyObject; privateKey: KeyObject }> = {
  rsa: () => generateKeyPairSync('rsa', { modulusLength: 2048 }),
  p256: () => generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  ed25519: () => generateKeyPairSync('ed25519'),
};

/**
 * CPU milliseconds (user + system) per item, best of the rounds: what resolving costs the process (a client's CPU
 * per reply), which other tenants of a loaded machine inflate less than wall time.
 */
function timePerItem(rounds: number, count: number, setup: () => void, each: (i: number) => void): number {
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < rounds; round++) {
    setup();
    const start = process.cpuUsage();
    for (let i = 0; i < count; i++) each(i);
    const used = process.cpuUsage(start);
    best = Math.min(best, (used.user + used.system) / 1000 / count);
  }
  return Number(best.toFixed(4));
}

/** Measures key resolution for every key type (bare keys and, for RSA, CA-checked certificates) in `dir`. */
export async function keyResolutionRows(dir: string, rounds: number): Promise<Record<string, ResolutionRow>> {
  const rows: Record<string, ResolutionRow> = {};
  const ca = await createCa({ cn: 'bench CA', type: 'ed25519' });
  const caPath = join(dir, 'bench-ca.pem');
  writeFileSync(caPath, ca.certPem);
  for (const type of ['rsa', 'p256', 'ed25519'] as const) {
    const { publicKey } = KEYGEN[type]();
    const pem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
    const kid = createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 32);
    const names = Array.from({ length: FILES }, (_, i) => `node${i}`);
    const certDir = join(dir, `resolve-${type}`);
    mkdirSync(certDir, { recursive: true });
    // The same key under many names: parsing and importing cost the same whether or not the keys differ.
    for (const name of names) writeFileSync(join(certDir, `${name}.pem`), pem);
    const resolving = (settings: Record<string, string>, perRound: () => Record<string, string> = () => ({})) => {
      let provider: AesSecurityProvider | undefined;
      return {
        fresh: () => {
          // The previous run's unwritten verdicts are written here, outside the timed loop, as at a client's exit.
          provider?.close();
          provider = new AesSecurityProvider({ config: configFromObject({ ...settings, ...perRound() }), role: 'client', logger: new CapturingLogger(), counters: new MemoryCounters() });
        },
        resolve: (i: number) => { void provider!.keyring.repliers.resolve(names[i]!, kid, undefined, names[i]!).entry.key; },
        close: () => provider?.close(),
      };
    };
    const bare = resolving({ 'plugin.aes.client_cert_dir': certDir });
    rows[`key resolution ${type}: stat, read, key id from DER, import`] = { ms_per_key: timePerItem(rounds, FILES, bare.fresh, bare.resolve) };
    rows[`key resolution ${type}: previous method (PEM import, DER export for the key id)`] = {
      ms_per_key: timePerItem(rounds, FILES, () => undefined, (i) => {
        const key = createPublicKey(readFileSync(join(certDir, `${names[i]}.pem`), 'utf8'));
        createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest();
      }),
    };
    if (type === 'rsa') {
      // With ca_cert every key is a certificate checked against the CA: node parses it (once per file version).
      const certs = join(dir, 'resolve-rsa-certificates');
      mkdirSync(certs, { recursive: true });
      await Promise.all(names.map(async (name) => writeFileSync(join(certs, `${name}.pem`), await signCertificate({ caCertPem: ca.certPem, caKeyPem: ca.keyPem, publicKeyPem: pem, cn: name }))));
      // The verdict cache is authenticated with our own key, so these runs have one (RSA, as most clients).
      const own = KEYGEN.rsa();
      const ownPrivate = join(dir, 'bench-client-private.pem');
      const ownPublic = join(dir, 'bench-client.pem');
      writeFileSync(ownPrivate, own.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
      writeFileSync(ownPublic, own.publicKey.export({ type: 'spki', format: 'pem' }));
      const withCa = { 'plugin.aes.client_cert_dir': certs, 'plugin.aes.ca_cert': caPath, 'plugin.aes.client_private': ownPrivate, 'plugin.aes.client_public': ownPublic };
      let coldRuns = 0;
      const cold = resolving(withCa, () => ({ 'plugin.aes.verdict_cache': join(dir, `verdicts-cold-${++coldRuns}.json`) }));
      rows['key resolution rsa certificate: as above, plus the CA check'] = { ms_per_key: timePerItem(rounds, FILES, cold.fresh, cold.resolve) };
      cold.close();
      const warmCache = join(dir, 'verdicts-warm.json');
      const warm = resolving({ ...withCa, 'plugin.aes.verdict_cache': warmCache });
      warm.fresh();
      for (let i = 0; i < FILES; i++) warm.resolve(i);
      rows['key resolution rsa certificate: a later run, the CA check from a warm verdict_cache'] = {
        ms_per_key: timePerItem(rounds, FILES, warm.fresh, warm.resolve),
      };
      warm.close();
    }
    rows[`import route ${type}: PEM`] = { ms_per_key: timePerItem(rounds, FILES, () => undefined, () => createPublicKey(pem)) };
    const der = publicKey.export({ type: 'spki', format: 'der' });
    rows[`import route ${type}: SPKI DER`] = { ms_per_key: timePerItem(rounds, FILES, () => undefined, () => createPublicKey({ key: der, format: 'der', type: 'spki' })) };
    const jwk = publicKey.export({ format: 'jwk' });
    rows[`import route ${type}: JWK`] = { ms_per_key: timePerItem(rounds, FILES, () => undefined, () => createPublicKey({ key: jwk, format: 'jwk' })) };
    if (type === 'rsa') {
      const pkcs1 = publicKey.export({ type: 'pkcs1', format: 'der' });
      rows['import route rsa: PKCS#1 DER'] = { ms_per_key: timePerItem(rounds, FILES, () => undefined, () => createPublicKey({ key: pkcs1, format: 'der', type: 'pkcs1' })) };
    }
  }
  return rows;
}

/** The report lines of the key resolution rows. */
export function keyResolutionReport(rows: Record<string, ResolutionRow>): string[] {
  const lines = ['', `key resolution, cold, CPU per key (target <= ${RESOLUTION_TARGET_MS} ms for a replying server's key file):`, ''];
  for (const [name, row] of Object.entries(rows)) {
    const target = name.startsWith('key resolution') && (name.endsWith('key id from DER, import') || name.includes('warm verdict_cache'))
      ? (row.ms_per_key <= RESOLUTION_TARGET_MS ? '  target met' : '  > target') : '';
    lines.push(`${name.padEnd(82)}${row.ms_per_key.toFixed(4).padStart(9)} ms${target}`);
  }
  return lines;
}
