/** `tsco keys` as a subprocess: generate, ca init/sign, preauthorize (with its refusals) and list. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const TSCO = fileURLToPath(new URL('../../src/cli/tsco.js', import.meta.url));

function tsco(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [TSCO, ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? -1) : 0, stdout, stderr });
    });
  });
}

describe('tsco keys', () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'tsc-keys-cli-')); });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  test('generate, certify with the CA, preauthorize and list a client identity', async () => {
    const keys = join(dir, 'keys');
    const ca = join(dir, 'ca');
    const certs = join(dir, 'certs');
    const generated = await tsco('keys', 'generate', 'alice', '--dir', keys);
    assert.equal(generated.code, 0, generated.stderr);
    assert.match(generated.stdout, /callerid cert=alice/);
    assert.equal((await stat(join(keys, 'alice-private.pem'))).mode & 0o777, 0o600);

    assert.equal((await tsco('keys', 'ca', 'init', '--dir', ca, '--cn', 'Test CA')).code, 0);
    const again = await tsco('keys', 'ca', 'init', '--dir', ca);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /TSC_KEY_FILE: .*ca-private\.pem: already exists/);

    const signed = await tsco('keys', 'ca', 'sign', 'alice', '--dir', ca, '--pubkey', join(keys, 'alice.pem'));
    assert.equal(signed.code, 0, signed.stderr);
    const cert = new X509Certificate(await readFile(join(keys, 'alice.pem')));
    assert.equal(cert.subject, 'CN=alice');
    assert.ok(cert.checkIssued(new X509Certificate(await readFile(join(ca, 'ca.pem')))));

    // A server key certified for the identities it may answer as (subjectAltName DNS names).
    assert.equal((await tsco('keys', 'generate', 'gateway', '--dir', keys)).code, 0);
    const gateway = await tsco('keys', 'ca', 'sign', 'gateway', '--dir', ca, '--pubkey', join(keys, 'gateway.pem'), '--san', 'web1', '--san', 'web2.example.com');
    assert.equal(gateway.code, 0, gateway.stderr);
    assert.match(gateway.stdout, /CN=gateway, subjectAltName DNS:web1 DNS:web2\.example\.com/);
    assert.equal(new X509Certificate(await readFile(join(keys, 'gateway.pem'))).subjectAltName, 'DNS:web1, DNS:web2.example.com');
    const badSan = await tsco('keys', 'ca', 'sign', 'gateway', '--dir', ca, '--pubkey', join(keys, 'gateway.pem'), '--san', 'bad name');
    assert.equal(badSan.code, 1);
    assert.match(badSan.stderr, /--san: "bad name" is not a valid identity/);

    const installed = await tsco('keys', 'preauthorize', 'alice', join(keys, 'alice.pem'), '--dir', certs);
    assert.equal(installed.code, 0, installed.stderr);
    assert.match(installed.stdout, /alice: installed at .*alice\.pem/);

    const listed = await tsco('keys', 'list', '--dir', certs, '--ca', join(ca, 'ca.pem'), '--json');
    assert.equal(listed.code, 0, listed.stderr);
    const [entry] = JSON.parse(listed.stdout) as Array<{ name: string; keys: Array<{ kid: string; origin: string; status: string; keyType: string; caVerdict: { ok: boolean }; kind: string }> }>;
    assert.equal(entry!.name, 'alice');
    assert.equal(entry!.keys.length, 1);
    assert.equal(entry!.keys[0]!.origin, 'installed');
    assert.equal(entry!.keys[0]!.status, 'active');
    assert.equal(entry!.keys[0]!.keyType, 'rsa');
    assert.equal(entry!.keys[0]!.kind, 'certificate');
    assert.deepEqual(entry!.keys[0]!.caVerdict, { ok: true });
    const text = await tsco('keys', 'list', '--dir', certs, '--ca', join(ca, 'ca.pem'));
    assert.match(text.stdout, /alice {2}\(.*alice\.pem\)\n - key [0-9a-f]{32} {2}active\n {3}type: {8}rsa 2048 bits, certificate\n {3}origin: {6}installed\n {3}fingerprint: sha256:[0-9a-f]{64}\n {3}subject: {5}CN=alice\n {3}issuer: {6}CN=Test CA\n.*\n.*\n {3}CA check: {4}valid/);
  });

  test('preauthorize refuses to replace a different key without --force, and bad names', async () => {
    const keys = join(dir, 'other');
    const certs = join(dir, 'certs2');
    await tsco('keys', 'generate', 'bob', '--dir', keys);
    await tsco('keys', 'generate', 'bob2', '--dir', keys);
    assert.equal((await tsco('keys', 'preauthorize', 'bob', join(keys, 'bob.pem'), '--dir', certs)).code, 0);
    const clash = await tsco('keys', 'preauthorize', 'bob', join(keys, 'bob2.pem'), '--dir', certs);
    assert.equal(clash.code, 1);
    assert.match(clash.stderr, /different key is installed for bob .*--force/);
    assert.equal(await readFile(join(certs, 'bob.pem'), 'utf8'), await readFile(join(keys, 'bob.pem'), 'utf8'));
    const forced = await tsco('keys', 'preauthorize', 'bob', join(keys, 'bob2.pem'), '--dir', certs, '--force');
    assert.equal(forced.code, 0);
    assert.match(forced.stdout, /replaced/);
    const badName = await tsco('keys', 'preauthorize', '../etc', join(keys, 'bob.pem'), '--dir', certs);
    assert.equal(badName.code, 1);
    assert.match(badName.stderr, /TSC_INVALID_ARGUMENT: name: "\.\.\/etc"/);
  });

  test('generate refuses weak sizes and readable passphrase files; encrypts with a private one', async () => {
    const keys = join(dir, 'pass');
    const weak = await tsco('keys', 'generate', 'weak', '--dir', keys, '--bits', '1024');
    assert.equal(weak.code, 1);
    assert.match(weak.stderr, /--bits: 1024 is not an allowed RSA size/);
    const passfile = join(dir, 'passphrase');
    await writeFile(passfile, 'sesame\n', { mode: 0o644 });
    const open = await tsco('keys', 'generate', 'carol', '--dir', keys, '--passphrase-file', passfile);
    assert.equal(open.code, 1);
    assert.match(open.stderr, /readable by others/);
    await rm(passfile);
    await writeFile(passfile, 'sesame\n', { mode: 0o600 });
    const sealed = await tsco('keys', 'generate', 'carol', '--dir', keys, '--passphrase-file', passfile);
    assert.equal(sealed.code, 0, sealed.stderr);
    assert.match(await readFile(join(keys, 'carol-private.pem'), 'utf8'), /ENCRYPTED PRIVATE KEY/);
  });
  test('key types, rotate, retire, revoke, a P-256 CA with a CRL, and the per-key list', async () => {
    const keys = join(dir, 'rotation');
    const ca = join(dir, 'p256-ca');
    const generated = await tsco('keys', 'generate', 'erin', '--dir', keys, '--type', 'ed25519');
    assert.equal(generated.code, 0, generated.stderr);
    assert.match(generated.stdout, /\(ed25519, mode 0600\)/);
    const badType = await tsco('keys', 'generate', 'x', '--dir', keys, '--type', 'dsa');
    assert.match(badType.stderr, /--type: "dsa" is not a key type \(rsa, p256, ed25519\)/);

    const rotated = await tsco('keys', 'rotate', 'erin', '--dir', keys, '--type', 'p256');
    assert.equal(rotated.code, 0, rotated.stderr);
    const [, newKid, oldKid] = /new key: +([0-9a-f]{32}) \(p256\)[\s\S]*old key: +([0-9a-f]{32}) kept as/.exec(rotated.stdout) ?? [];
    assert.ok(newKid && oldKid, rotated.stdout);
    assert.match(rotated.stdout, new RegExp(`tsco keys retire erin ${oldKid}`));

    assert.equal((await tsco('keys', 'ca', 'init', '--dir', ca, '--type', 'p256', '--cn', 'P256 CA')).code, 0);
    const signed = await tsco('keys', 'ca', 'sign', 'erin', '--dir', ca, '--pubkey', join(keys, 'erin.pem'));
    assert.equal(signed.code, 0, signed.stderr);
    const serial = /serial ([0-9a-f]+)/.exec(signed.stdout)![1]!;

    const listed = await tsco('keys', 'list', '--dir', keys, '--ca', join(ca, 'ca.pem'));
    assert.equal(listed.code, 2, 'the old bare key is not CA-signed');
    assert.match(listed.stdout, new RegExp(`key ${newKid} {2}active\\n {3}type: {8}ecdsa p256, certificate`));
    assert.match(listed.stdout, new RegExp(`key ${oldKid} {2}also valid\\n {3}type: {8}ed25519, public-key`));

    const revokedList = join(dir, 'revoked');
    const revoke = await tsco('keys', 'revoke', oldKid, '--file', revokedList);
    assert.equal(revoke.code, 0, revoke.stderr);
    assert.match((await tsco('keys', 'revoke', oldKid, '--file', revokedList)).stdout, /already revoked/);
    assert.equal(await readFile(revokedList, 'utf8'), `${oldKid}\n`);
    const withRevoked = await tsco('keys', 'list', '--dir', keys, '--revoked', revokedList);
    assert.equal(withRevoked.code, 2);
    assert.match(withRevoked.stdout, new RegExp(`key ${oldKid} {2}REVOKED \\(key id in revoked_keys\\)`));

    const crl = await tsco('keys', 'ca', 'revoke', serial, '--dir', ca);
    assert.equal(crl.code, 0, crl.stderr);
    assert.match(crl.stdout, /lists 1 serial/);
    const withCrl = await tsco('keys', 'list', '--dir', keys, '--ca', join(ca, 'ca.pem'), '--crl', join(ca, 'crl.pem'));
    assert.match(withCrl.stdout, new RegExp(`key ${newKid} {2}REVOKED \\(serial ${serial} in the CA's CRL\\)`));

    const refused = await tsco('keys', 'retire', 'erin', newKid!, '--dir', keys);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /signs with; rotate to a new key before retiring it/);
    const retired = await tsco('keys', 'retire', 'erin', oldKid!, '--dir', keys);
    assert.equal(retired.code, 0, retired.stderr);
    assert.match(retired.stdout, new RegExp(`it holds ${newKid}\\); deleted .*erin-private\\.${oldKid}\\.pem`));
  });
});
