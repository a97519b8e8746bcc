/**
 * `tsco decode` and protocol version 1: a captured Ruby MCollective request is recognised as version 1 and refused
 * as such without legacy mode, opened with it (translated to tscollective's shapes, marked `protocol: 1`), and
 * explained when it is stale; a version 1 reply is recognised as one this process did not ask for.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import '../../plugins/security/aes_security/index.js';
import { configFromObject } from '../../src/config/index.js';
import { createSecurityProvider } from '../../src/security/registry.js';
import { MemoryCounters } from '../../src/util/counters.js';
import { CapturingLogger } from '../../src/util/log.js';

const TSCO = fileURLToPath(new URL('../../src/cli/tsco.js', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/interop/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tsc-legacy-decode-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const keys = join(dir, 'keys');
const certs = join(dir, 'certs');
mkdirSync(keys);
mkdirSync(certs);
for (const name of ['alice', 'server']) {
  copyFileSync(join(FIXTURES, 'keys', `${name}.pem`), join(keys, `${name}.pem`));
  copyFileSync(join(FIXTURES, 'keys', `${name}-private.pem`), join(keys, `${name}-private.pem`));
  chmodSync(join(keys, `${name}-private.pem`), 0o600);
}
copyFileSync(join(FIXTURES, 'keys', 'alice.pem'), join(certs, 'alice.pem'));

function serverConfig(name: string, extra: string[]): string {
  const path = join(dir, name);
  writeFileSync(path, [
    'identity = ts-node.interop', 'collectives = interop', 'main_collective = interop', 'connector = memory', 'securityprovider = aes_security',
    `plugin.aes.server_private = ${join(keys, 'server-private.pem')}`, `plugin.aes.server_public = ${join(keys, 'server.pem')}`,
    `plugin.aes.client_cert_dir = ${certs}`, `statedir = ${join(dir, `state-${name}`)}`, ...extra,
  ].join('\n') + '\n');
  return path;
}

interface Run { code: number; out: Record<string, unknown>; stderr: string }

function decode(config: string, wire: Uint8Array, as = 'server'): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [TSCO, '--config', config, 'decode', '--as', as], { encoding: 'buffer', timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? -1) : 0, out: JSON.parse(stdout.toString()) as Record<string, unknown>, stderr: stderr.toString() });
    });
    child.stdin!.end(wire);
  });
}

const captured = (serializer: string, name: string): Buffer => readFileSync(join(FIXTURES, serializer, `${name}.body`));

test('a Ruby request is recognised as version 1: refused without legacy mode, opened with it', async () => {
  const wire = captured('marshal', 'request-rpcutil-ping');
  const off = await decode(serverConfig('off.cfg', []), wire);
  assert.equal(off.code, 1);
  assert.equal(off.out['code'], 'TSC_SEC_LEGACY_REFUSED');
  assert.match(String(off.out['reason']), /legacy protocol version 1 message \(MCollective 2\.x, marshal\)/);

  // Captured at another time (dated before or after this clock): with enforce_ttl = 0 it opens, and says why it would
  // otherwise be refused.
  const stale = await decode(serverConfig('stale.cfg', ['plugin.aes.legacy = 1', 'plugin.aes.enforce_ttl = 0']), wire);
  assert.equal(stale.code, 0, stale.stderr);
  assert.equal(stale.out['accepted'], true);
  assert.equal(stale.out['protocol'], 1);
  assert.equal(stale.out['callerid'], 'cert=alice');
  assert.equal(stale.out['senderid'], 'rb-client.interop');
  assert.deepEqual(stale.out['body'], { action: 'ping', data: {} });
  assert.match(String((stale.out['warnings'] as string[])[0]), /expired|in the future/);
  assert.match(stale.stderr, /legacy wire mode/);

  const enforced = await decode(serverConfig('enforced.cfg', ['plugin.aes.legacy = 1']), wire);
  assert.match(String(enforced.out['code']), /^TSC_SEC_(EXPIRED|FUTURE_DATED)$/);
});

test('a version 1 request made now opens; YAML needs serializer = yaml (or accept_serializers)', async () => {
  const client = createSecurityProvider('aes_security', {
    config: configFromObject({
      'plugin.aes.client_private': join(keys, 'alice-private.pem'), 'plugin.aes.client_public': join(keys, 'alice.pem'),
      'plugin.aes.server_cert_dir': certs, 'plugin.aes.legacy': 1, 'plugin.aes.protocol': 1, 'plugin.aes.serializer': 'yaml',
    }), role: 'client', logger: new CapturingLogger(), counters: new MemoryCounters(),
  });
  const { wire } = client.encodeRequest({
    requestid: 'd'.repeat(32), senderid: 'ts-client', agent: 'rpcutil', collective: 'interop',
    filter: { fact: [], cf_class: [], agent: ['rpcutil'], identity: [], compound: ['country=uk'] }, ttl: 60, body: { action: 'get_fact', data: { fact: 'os' } },
  });
  assert.equal(Buffer.from(wire).subarray(0, 4).toString(), '---\n');
  const marshalOnly = await decode(serverConfig('marshal-only.cfg', ['plugin.aes.legacy = 1']), wire);
  assert.equal(marshalOnly.out['code'], 'TSC_SEC_MALFORMED');
  assert.match(String(marshalOnly.out['reason']), /version 1 request in yaml, which is not accepted here/);
  const yaml = await decode(serverConfig('yaml.cfg', ['plugin.aes.legacy = 1', 'plugin.aes.serializer = yaml']), wire);
  assert.equal(yaml.code, 0, yaml.stderr);
  assert.deepEqual(yaml.out['body'], { action: 'get_fact', data: { fact: 'os' } });
  assert.deepEqual((yaml.out['filter'] as { compound: string[] }).compound, ['country==uk']);
});

test('a Ruby reply is recognised as a version 1 reply this process did not ask for', async () => {
  const run = await decode(serverConfig('client.cfg', [
    'plugin.aes.legacy = 1', 'plugin.aes.serializer = yaml', `plugin.aes.client_private = ${join(keys, 'alice-private.pem')}`, `plugin.aes.client_public = ${join(keys, 'alice.pem')}`,
  ]), captured('yaml', 'reply-rpcutil-ping'), 'client');
  assert.equal(run.code, 1);
  assert.equal(run.out['code'], 'TSC_SEC_NOT_FOR_US');
  assert.match(String(run.out['reason']), /version 1 reply answers request 25903d553f57578480509055297d481c/);
});
