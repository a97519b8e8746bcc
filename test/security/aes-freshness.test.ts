/** aes_security: TTL, message time and replay protection. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BadSignatureError, ExpiredError, FutureDatedError, ReplayedError } from '../../src/errors.js';
import { ReplayCache } from '../../plugins/security/aes_security/replay.js';
import { World, request, type ProviderUnderTest } from './world.js';

const world = new World();
after(() => world.cleanup());

let client: ProviderUnderTest;
let certDir: string;
let serverKeys: { privatePath: string; publicPath: string };
const now = () => Math.floor(world.clock / 1000);

function server(extra: Record<string, string | number | boolean> = {}): ProviderUnderTest {
  return world.provider('server', { server_private: serverKeys.privatePath, server_public: serverKeys.publicPath, client_cert_dir: certDir, ...extra });
}

before(async () => {
  certDir = world.dir('certs');
  const alice = await world.keys('alice');
  serverKeys = await world.keys('server1', world.dir('server'));
  world.install(certDir, 'alice', alice.publicPem);
  client = world.provider('client', { client_private: alice.privatePath, client_public: alice.publicPath, server_cert_dir: certDir });
});

describe('TTL and message time', () => {
  test('a request older than its TTL is rejected as expired', () => {
    const wire = client.send(request({ ttl: 60, msgtime: now() - 61 }));
    assert.throws(() => server().provider.decodeRequest(wire), ExpiredError);
  });

  test('a request within its TTL is accepted', () => {
    const wire = client.send(request({ ttl: 60, msgtime: now() - 59 }));
    assert.deepEqual(server().provider.decodeRequest(wire).warnings, []);
  });

  test('a request dated beyond clock_skew in the future is rejected; within it, accepted', () => {
    assert.throws(() => server().provider.decodeRequest(client.send(request({ msgtime: now() + 6 }))), FutureDatedError);
    assert.ok(server().provider.decodeRequest(client.send(request({ msgtime: now() + 5 }))));
    assert.ok(server({ clock_skew: 30 }).provider.decodeRequest(client.send(request({ msgtime: now() + 25 }))));
  });

  test('enforce_ttl = 0 turns expiry and future dating into logged, counted warnings', () => {
    const lenient = server({ enforce_ttl: 0 });
    const expired = lenient.provider.decodeRequest(client.send(request({ ttl: 10, msgtime: now() - 3600 })));
    assert.match(expired.warnings[0]!, /expired/);
    const future = lenient.provider.decodeRequest(client.send(request({ msgtime: now() + 3600 })));
    assert.match(future.warnings[0]!, /future/);
    assert.equal(lenient.counters.get('security.warning.TSC_SEC_EXPIRED'), 1);
    assert.equal(lenient.counters.get('security.warning.TSC_SEC_FUTURE_DATED'), 1);
    assert.equal(lenient.logger.find('warn', 'enforce_ttl = 0').length, 2);
  });

  test('enforce_ttl = 0 never weakens the signature check', () => {
    const wire = Buffer.from(client.send(request({ msgtime: now() - 3600 })));
    wire[wire.length - 3]! ^= 0x40;
    assert.throws(() => server({ enforce_ttl: 0 }).provider.decodeRequest(wire), BadSignatureError);
  });

  test('the TTL is covered by the signature: stretching it is detected (see aes-tamper for every field)', () => {
    const wire = client.send(request({ ttl: 5, msgtime: now() - 10 }));
    assert.throws(() => server().provider.decodeRequest(wire), ExpiredError);
  });
});

describe('replay protection', () => {
  test('a captured request replayed within its TTL is rejected', () => {
    const receiver = server();
    const wire = client.send(request());
    assert.ok(receiver.provider.decodeRequest(wire));
    assert.throws(() => receiver.provider.decodeRequest(wire), ReplayedError);
  });

  test('enforce_ttl = 0 still rejects an immediate replay of an old message', () => {
    const receiver = server({ enforce_ttl: 0 });
    const wire = client.send(request({ ttl: 10, msgtime: now() - 3600 }));
    assert.ok(receiver.provider.decodeRequest(wire));
    assert.throws(() => receiver.provider.decodeRequest(wire), ReplayedError);
  });

  test('once a request has expired, a replay fails as expired (the cache may forget it)', () => {
    const receiver = server();
    const wire = client.send(request({ ttl: 5 }));
    assert.ok(receiver.provider.decodeRequest(wire));
    world.clock += 60_000;
    try {
      assert.throws(() => receiver.provider.decodeRequest(wire), ExpiredError);
    } finally {
      world.clock -= 60_000;
    }
  });
});

describe('ReplayCache', () => {
  test('memory stays bounded under a flood and no replay is accepted, even of evicted ids', () => {
    const cache = new ReplayCache(1000);
    const t = 1_000_000;
    for (let i = 0; i < 50_000; i++) assert.equal(cache.check(`id${i}`, t + Math.floor(i / 100), t + 600, t), 'fresh');
    assert.equal(cache.size, 1000);
    assert.ok(cache.evictions >= 49_000);
    for (let i = 0; i < 50_000; i += 97) assert.notEqual(cache.check(`id${i}`, t + Math.floor(i / 100), t + 600, t), 'fresh', `replay of id${i} accepted`);
  });

  test('after a flood, unremembered ids no newer than the evicted ones are unprovable; newer ones are fresh', () => {
    const cache = new ReplayCache(1000);
    for (let i = 0; i < 5000; i++) cache.check(`id${i}`, 100, 200, 100);
    assert.equal(cache.check('same-second', 100, 300, 150), 'unprovable');
    assert.equal(cache.check('newer', 101, 300, 150), 'fresh');
    assert.equal(cache.check('after-expiry', 250, 400, 250), 'fresh');
    assert.ok(cache.size <= 1000);
  });

  test('rejects a non-positive capacity, naming the argument', () => {
    assert.throws(() => new ReplayCache(0), /"replay cache capacity" expected a positive integer, got 0/);
  });
});
