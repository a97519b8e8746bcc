/**
 * The persistent CA verdict cache (`plugin.aes.verdict_cache`): a certificate verified on one run is resolved on the
 * next without parsing; a tampered, foreign, oversized or other-CA file is ignored and the certificate verified for
 * real; revocation and expiry still apply to a cached certificate; a certificate of another CA is refused; the cache
 * can be turned off, and a cache that cannot be written only warns. Each "run" is a fresh provider.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configFromObject } from '../../src/config/index.js';
import { CaRejectedError, RevokedKeyError } from '../../src/errors.js';
import { createCrl, publicKeyInfo } from '../../src/keys/index.js';
import { readAesSettings } from '../../plugins/security/aes_security/settings.js';
import type { PublicKeyEntry } from '../../plugins/security/aes_security/keyring/index.js';
import { World, makeCa, pairOf, type ProviderUnderTest } from './world.js';

const world = new World();
after(() => world.cleanup());
let ca: Awaited<ReturnType<typeof makeCa>>;
let caPath: string;
let alice: Awaited<ReturnType<World['keys']>>;
let serverPem: string;
let scratch = 0;

before(async () => {
  ca = await makeCa('Verdict CA', 'ed25519');
  caPath = join(world.dir('ca'), 'ca.pem');
  writeFileSync(caPath, ca.certPem);
  alice = await world.keys('alice');
  serverPem = (await pairOf('ed25519')).publicPem;
});

/** A fresh certificate directory holding `names`, each certified by `issuer` (the test CA by default). */
async function certDir(names: string[], options: { days?: number } = {}, issuer = ca): Promise<string> {
  const dir = world.dir(`certs-${++scratch}`);
  for (const name of names) world.install(dir, name, await issuer.issue(name, serverPem, options));
  return dir;
}

/** A client run (a fresh provider) resolving replies' keys from `dir` against the CA, with the cache at `cache`. */
function run(dir: string, cache: string, extra: Record<string, string | number> = {}): ProviderUnderTest {
  return world.provider('client', {
    client_private: alice.privatePath, client_public: alice.publicPath, server_cert_dir: dir, ca_cert: caPath, verdict_cache: cache, ...extra,
  });
}

function resolve(client: ProviderUnderTest, dir: string, name: string): PublicKeyEntry {
  const { kid } = publicKeyInfo(readFileSync(join(dir, `${name}.pem`), 'utf8'));
  return client.provider.keyring.repliers.resolve(name, kid, undefined, name).entry;
}

/** Whether the entry's certificate was parsed by node's X509Certificate (it is parsed lazily, on first use). */
const parsed = (entry: PublicKeyEntry) => (entry as unknown as { parsed: unknown }).parsed !== undefined;
const count = (client: ProviderUnderTest, what: string) => client.counters.get(`security.ca_verdict_cache_${what}`) ?? 0;
const cachePath = () => join(world.dir('caches'), `verdicts-${++scratch}.json`);

/** Runs a client once over `names` and closes it, so the cache file holds their verdicts. */
function warm(dir: string, cache: string, names: string[]): void {
  const client = run(dir, cache);
  for (const name of names) resolve(client, dir, name);
  client.provider.close();
}

describe('verdict cache', () => {
  test('cold run verifies and records; the next run resolves from the file without parsing the certificate', async () => {
    const dir = await certDir(['node1', 'node2']);
    const cache = cachePath();
    const cold = run(dir, cache);
    assert.ok(parsed(resolve(cold, dir, 'node1')));
    assert.equal(count(cold, 'miss'), 1);
    assert.equal(existsSync(cache), false, 'written in a batch, not per key');
    resolve(cold, dir, 'node2');
    cold.provider.close();
    assert.equal(statSync(cache).mode & 0o777, 0o600);
    assert.match(readFileSync(cache, 'utf8'), /^tscollective-ca-verdicts 1 [0-9a-f]{64}\n/);
    const warmRun = run(dir, cache);
    for (const name of ['node1', 'node2']) assert.equal(parsed(resolve(warmRun, dir, name)), false);
    assert.equal(count(warmRun, 'hit'), 2);
    assert.equal(count(warmRun, 'miss'), 0);
    assert.equal(count(warmRun, 'ignored'), 0);
  });

  test('a tampered file is ignored (counted, one warning) and the certificate verified for real', async () => {
    const dir = await certDir(['node1']);
    const cache = cachePath();
    warm(dir, cache, ['node1']);
    const good = readFileSync(cache);
    const flipped = Buffer.from(good);
    flipped[flipped.length - 5] ^= 0x01;
    const tampered: Array<[string, Buffer | string]> = [
      ['a flipped byte', flipped],
      ['garbage', 'not a cache at all\n{}'],
      ['a header without a MAC', `tscollective-ca-verdicts 1 \n${good.toString('utf8').split('\n')[1]}`],
    ];
    for (const [what, bytes] of tampered) {
      writeFileSync(cache, bytes);
      const client = run(dir, cache);
      assert.ok(parsed(resolve(client, dir, 'node1')), what);
      assert.equal(count(client, 'ignored'), 1, what);
      assert.equal(count(client, 'hit'), 0, what);
      assert.equal(client.logger.records.filter((r) => r.level === 'warn' && String(r.msg).includes('is ignored')).length, 1, what);
    }
    writeFileSync(cache, good);
    truncateSync(cache, 64 * 1024 * 1024 + 1);
    const oversized = run(dir, cache);
    assert.ok(parsed(resolve(oversized, dir, 'node1')));
    assert.equal(count(oversized, 'ignored'), 1);
    assert.ok(oversized.logger.records.some((r) => String(r.msg).includes('more than the 67108864')));
  });

  test('an entry copied under another name does not vouch for it: the certificate is checked and its CN refused', async () => {
    const dir = await certDir(['node1']);
    world.install(dir, 'node9', readFileSync(join(dir, 'node1.pem'), 'utf8'));
    const cache = cachePath();
    warm(dir, cache, ['node1']);
    const [header, body] = readFileSync(cache, 'utf8').split('\n') as [string, string];
    const json = JSON.parse(body) as { ca: string; entries: unknown[][] };
    json.entries.push([...json.entries[0]!.slice(0, 1), 'node9', ...json.entries[0]!.slice(2)]);
    writeFileSync(cache, `${header}\n${JSON.stringify(json)}`);
    const client = run(dir, cache);
    assert.throws(() => resolve(client, dir, 'node9'), (e) => e instanceof CaRejectedError && e.message.includes('has CN "node1", expected "node9"'));
    assert.equal(count(client, 'ignored'), 1);
  });

  test('a file MACed with another private key is ignored', async () => {
    const dir = await certDir(['node1']);
    const cache = cachePath();
    const bob = await world.keys('bob', world.dir('bob'), await pairOf('ed25519'));
    const other = run(dir, cache, { client_private: bob.privatePath, client_public: bob.publicPath });
    resolve(other, dir, 'node1');
    other.provider.close();
    assert.ok(existsSync(cache));
    const client = run(dir, cache);
    assert.ok(parsed(resolve(client, dir, 'node1')));
    assert.equal(count(client, 'ignored'), 1);
    assert.ok(client.logger.records.some((r) => String(r.msg).includes('MAC does not match')));
  });

  test('a certificate revoked after it was cached is refused: by key id, by serial, by the CRL', async () => {
    const dir = await certDir(['node1']);
    const cache = cachePath();
    warm(dir, cache, ['node1']);
    const info = publicKeyInfo(readFileSync(join(dir, 'node1.pem'), 'utf8'));
    const revoked = (why: RegExp) => (e: unknown) => e instanceof RevokedKeyError && why.test(e.message);
    const lists = world.dir(`lists-${++scratch}`);
    writeFileSync(join(lists, 'by-kid'), `${info.kid}\n`);
    writeFileSync(join(lists, 'by-serial'), `serial:${info.serial}\n`);
    for (const [file, why] of [['by-kid', /listed in/], ['by-serial', /certificate serial .* is listed/]] as const) {
      const client = run(dir, cache, { revoked_keys: join(lists, file) });
      assert.throws(() => resolve(client, dir, 'node1'), revoked(why));
    }
    const crlPath = join(lists, 'crl.pem');
    writeFileSync(crlPath, await createCrl({ caCertPem: ca.certPem, caKeyPem: ca.keyPem, serials: [info.serial!], thisUpdate: new Date(world.clock - 60_000) }));
    const client = run(dir, cache, { ca_crl: crlPath });
    assert.throws(() => resolve(client, dir, 'node1'), revoked(/in the CA's CRL/));
    // The cache still vouches for it once it is no longer revoked: the refusals did not come from a missing verdict.
    const cleared = run(dir, cache);
    assert.equal(parsed(resolve(cleared, dir, 'node1')), false);
  });

  test('a certificate of another CA with the same CN is refused; a file written for another CA is ignored', async () => {
    const dir = await certDir(['node1']);
    const cache = cachePath();
    warm(dir, cache, ['node1']);
    const rogue = await makeCa('Verdict CA', 'ed25519');
    const rogueDir = await certDir(['node1'], {}, rogue);
    const client = run(rogueDir, cache);
    assert.throws(() => resolve(client, rogueDir, 'node1'), (e) => e instanceof CaRejectedError && e.message.includes('not signed by the configured CA'));
    assert.equal(count(client, 'hit'), 0);
    const roguePath = join(world.dir(`rogue-${++scratch}`), 'ca.pem');
    writeFileSync(roguePath, rogue.certPem);
    const other = run(rogueDir, cache, { ca_cert: roguePath });
    assert.ok(parsed(resolve(other, rogueDir, 'node1')));
    assert.equal(count(other, 'ignored'), 1);
    assert.ok(other.logger.records.some((r) => String(r.msg).includes('written for another CA certificate')));
  });

  test('expiry is enforced from the cached window, and expired verdicts are dropped when the file is written', async () => {
    const dir = await certDir(['short'], { days: 1 });
    const longDir = await certDir(['long']);
    const cache = cachePath();
    warm(dir, cache, ['short']);
    const start = world.clock;
    try {
      world.clock += 2 * 86_400_000;
      const client = run(dir, cache);
      assert.throws(() => resolve(client, dir, 'short'), (e) => e instanceof CaRejectedError && e.message.includes('expired at'));
      assert.equal(count(client, 'hit'), 1);
      const later = run(longDir, cache);
      resolve(later, longDir, 'long');
      later.provider.close();
      const body = JSON.parse(readFileSync(cache, 'utf8').split('\n')[1]!) as { entries: unknown[][] };
      assert.deepEqual(body.entries.map((row) => row[1]), ['long']);
    } finally {
      world.clock = start;
    }
  });

  test('verdict_cache = 0 writes nothing; an unwritable location only warns', async () => {
    const dir = await certDir(['node1']);
    const off = run(dir, '0');
    resolve(off, dir, 'node1');
    off.provider.close();
    assert.equal(count(off, 'miss'), 0);
    assert.deepEqual(readdirSync(world.dir('caches')).filter((f) => f.startsWith('0')), []);
    const blocker = join(world.dir('blocked'), 'a-file');
    writeFileSync(blocker, '');
    const stuck = run(dir, join(blocker, 'verdicts.json'));
    assert.ok(resolve(stuck, dir, 'node1'));
    assert.doesNotThrow(() => stuck.provider.close());
    assert.equal(count(stuck, 'write_failed'), 1);
    assert.ok(stuck.logger.records.some((r) => r.level === 'warn' && String(r.msg).includes('cannot be written')));
  });

  test('defaults: a client under the user cache, a server under statedir, one file per key of ours', async () => {
    const client = readAesSettings(configFromObject({}), 'client');
    assert.equal(client.verdictCache?.perKey, true);
    assert.match(client.verdictCache!.path, /tscollective\/ca-verdicts$/);
    const statedir = world.dir('statedir-default');
    assert.deepEqual(readAesSettings(configFromObject({ statedir }), 'server').verdictCache, { path: join(statedir, 'ca-verdicts'), perKey: true });
    assert.equal(readAesSettings(configFromObject({ 'plugin.aes.verdict_cache': '' }), 'client').verdictCache, undefined);
    const dir = await certDir(['alice2']);
    const node = await world.keys('node7', world.dir('node7'), await pairOf('ed25519'));
    const server = world.provider('server', { server_private: node.privatePath, server_public: node.publicPath, client_cert_dir: dir, ca_cert: caPath }, { statedir });
    resolve(server, dir, 'alice2');
    server.provider.close();
    assert.deepEqual(readdirSync(join(statedir, 'ca-verdicts')), [`${publicKeyInfo(node.publicPem).kid}.json`]);
  });
});
