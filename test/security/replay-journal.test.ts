/**
 * The replay journal: appended before a request is accepted, reloaded at start (unexpired entries only),
 * compacted when it grows past twice its live entries, and, when damaged, used for what parses with a start-time
 * floor. Also through the provider: a "restart" (a new provider on the same state directory) refuses a replay,
 * accepts a request signed before it, and the client role and tsco decode's inspection never write a journal.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AesSecurityProvider } from '../../plugins/security/aes_security/provider.js';
import { FreshnessGuard, replayKey } from '../../plugins/security/aes_security/freshness.js';
import { JOURNAL_HEADER_BYTES, JOURNAL_RECORD_BYTES, ReplayJournal } from '../../plugins/security/aes_security/replay-journal.js';
import { readAesSettings } from '../../plugins/security/aes_security/settings.js';
import type { RequestHeader } from '../../plugins/security/aes_security/v2/wire.js';
import { configFromObject } from '../../src/config/index.js';
import { ReplayJournalError, ReplayedError, type SecurityError } from '../../src/errors.js';
import { MemoryCounters } from '../../src/util/counters.js';
import { CapturingLogger } from '../../src/util/log.js';
import { World, request, type ProviderUnderTest } from './world.js';

const world = new World();
after(() => world.cleanup());
const nowSeconds = () => Math.floor(world.clock / 1000);
let journals = 0;

/** Opens a journal file, collecting the entries it hands back. */
function open(path: string, readOnly = false): { journal: ReplayJournal | undefined; entries: Array<[string, number, number]>; load: ReturnType<typeof ReplayJournal.open>['load'] } {
  const entries: Array<[string, number, number]> = [];
  const { journal, load } = ReplayJournal.open(path, { readOnly, nowSeconds: nowSeconds(), onEntry: (key, msgtime, expiresAt) => entries.push([key, msgtime, expiresAt]) });
  return { journal, entries, load };
}

/** A freshness guard (what the provider uses) on a journal, without any crypto. */
function guard(path: string, extra: Record<string, string | number> = {}) {
  const config = configFromObject({ 'plugin.aes.replay_journal': path, 'plugin.aes.replay_cache_size': 1000, ...extra });
  const logger = new CapturingLogger();
  const counters = new MemoryCounters();
  const freshness = new FreshnessGuard(readAesSettings(config, 'server'), { now: () => world.clock, logger, counters }, 'write');
  return { freshness, logger, counters };
}

function header(requestid: number, msgtime = nowSeconds(), ttl = 60): RequestHeader {
  return {
    requestid: requestid.toString(16).padStart(32, '0'), senderid: 'client', callerid: 'cert=alice', agent: 'rpcutil', collective: 'mcollective',
    ttl, msgtime, kid: '0'.repeat(32), serializer: 'msgpack', iv: new Uint8Array(12), reply: { mode: 'rsa' },
  };
}

/** Checks and records a request as decodeRequest does; returns the refusal code, or null when accepted. */
function accept(freshness: FreshnessGuard, h: RequestHeader): string | null {
  try {
    freshness.record(freshness.check(h).ticket);
    return null;
  } catch (error) {
    return (error as SecurityError).code;
  }
}

const journalPath = () => join(world.dir('journals'), `j${++journals}`, 'replay.journal');

describe('the journal file', () => {
  test('appends fixed-size records of a hash (never the ids), reloads unexpired entries in order', () => {
    const path = journalPath();
    const { journal } = open(path);
    const now = nowSeconds();
    journal!.append(replayKey('cert=alice', 'a'.repeat(32)), now, now + 60);
    journal!.append(replayKey('cert=alice', 'b'.repeat(32)), now - 100, now - 1);
    journal!.append(replayKey('cert=bob', 'c'.repeat(32)), now, now + 3600);
    journal!.close();
    assert.equal(statSync(path).size, JOURNAL_HEADER_BYTES + 3 * JOURNAL_RECORD_BYTES);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(join(path, '..')).mode & 0o777, 0o700, 'a missing directory is created 0700');
    const bytes = readFileSync(path);
    assert.equal(bytes.includes('alice'), false, 'the journal holds hashes, not callerids');
    assert.equal(bytes.includes('aaaa'), false, 'nor request ids');
    const reloaded = open(path);
    assert.deepEqual(reloaded.entries, [[replayKey('cert=alice', 'a'.repeat(32)), now, now + 60], [replayKey('cert=bob', 'c'.repeat(32)), now, now + 3600]]);
    assert.equal(reloaded.load.records, 3);
    assert.equal(reloaded.load.damage, null);
    reloaded.journal!.close();
  });

  test('compaction keeps the live entries and the floor, through a temporary file and a rename', () => {
    const path = journalPath();
    const { journal } = open(path);
    const now = nowSeconds();
    for (let i = 0; i < 50; i++) journal!.append(replayKey('cert=a', String(i)), now, now + 60);
    journal!.compact([[replayKey('cert=a', '7'), now, now + 60]], now - 5);
    journal!.append(replayKey('cert=a', 'after'), now, now + 60);
    journal!.close();
    assert.equal(statSync(path).size, JOURNAL_HEADER_BYTES + 3 * JOURNAL_RECORD_BYTES, 'floor + one kept + one appended after');
    assert.equal(existsSync(`${path}.tmp`), false);
    const reloaded = open(path);
    assert.deepEqual(reloaded.entries.map(([key]) => key), [replayKey('cert=a', '7'), replayKey('cert=a', 'after')]);
    assert.equal(reloaded.load.floor, now - 5);
    reloaded.journal!.close();
  });

  test('a corrupt record and a partial tail are reported; everything else that parses is kept, and the tail is cut', () => {
    const path = journalPath();
    const { journal } = open(path);
    const now = nowSeconds();
    for (const id of ['1', '2', '3']) journal!.append(replayKey('cert=a', id), now, now + 60);
    journal!.close();
    const bytes = readFileSync(path);
    bytes[JOURNAL_HEADER_BYTES + JOURNAL_RECORD_BYTES + 3]! ^= 0xff;
    writeFileSync(path, bytes);
    appendFileSync(path, Buffer.alloc(11, 7));
    const reloaded = open(path);
    assert.deepEqual(reloaded.entries.map(([key]) => key), [replayKey('cert=a', '1'), replayKey('cert=a', '3')]);
    assert.match(reloaded.load.damage!, /1 record\(s\) with a bad checksum and a partial record of 11 bytes/);
    assert.equal(statSync(path).size, JOURNAL_HEADER_BYTES + 3 * JOURNAL_RECORD_BYTES, 'the partial record is cut before appending');
    reloaded.journal!.close();
  });

  test('a file that is not a replay journal is refused and left untouched; a read-only open creates nothing', () => {
    const path = journalPath();
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, 'root:x:0:0:root:/root:/bin/bash\n');
    assert.throws(() => open(path), /is not a replay journal/);
    assert.equal(readFileSync(path, 'utf8'), 'root:x:0:0:root:/root:/bin/bash\n');
    const missing = journalPath();
    assert.equal(open(missing, true).journal, undefined);
    assert.equal(existsSync(missing), false);
  });
});

describe('the freshness guard on a journal', () => {
  test('a restart remembers accepted requests until they expire', () => {
    const path = journalPath();
    const first = guard(path);
    assert.equal(first.freshness.start(), null);
    assert.equal(accept(first.freshness, header(1)), null);
    assert.equal(accept(first.freshness, header(2, nowSeconds(), 10)), null);
    assert.equal(accept(first.freshness, header(1)), 'TSC_SEC_REPLAYED');
    const restarted = guard(path);
    assert.equal(accept(restarted.freshness, header(1)), 'TSC_SEC_REPLAYED');
    assert.equal(accept(restarted.freshness, header(3)), null, 'a new request is accepted');
    world.clock += 30_000;
    try {
      // Request 2 (ttl 10) expired: the journal no longer lists it, and the TTL check refuses it on its own.
      assert.equal(accept(guard(path).freshness, header(2, nowSeconds() - 30, 10)), 'TSC_SEC_EXPIRED');
    } finally {
      world.clock -= 30_000;
    }
  });

  test('compaction keeps the file bounded by the live entries, and a restart still refuses every replay', () => {
    const path = journalPath();
    const { freshness, counters } = guard(path);
    // One request a second over the last two hours (a full cache refuses what is not newer than what it evicted).
    const sent = (i: number) => header(i, nowSeconds() - 7000 + i, 86400);
    for (let i = 0; i < 7000; i++) assert.equal(accept(freshness, sent(i)), null, `request ${i}`);
    assert.ok(counters.get('security.replay_journal.compactions') >= 1);
    // The cache holds 1000 entries; the file never grows past 2 x 1000 + 4096 records (plus the floor).
    assert.ok(statSync(path).size <= JOURNAL_HEADER_BYTES + (2 * 1000 + 4096 + 1) * JOURNAL_RECORD_BYTES, `size ${statSync(path).size}`);
    const restarted = guard(path);
    for (const i of [0, 5999, 6500, 6999]) assert.equal(accept(restarted.freshness, sent(i)), 'TSC_SEC_REPLAYED', `request ${i}`);
    assert.equal(accept(restarted.freshness, header(7000, nowSeconds() + 1)), null);
  });

  test('a damaged journal: what parses is kept, requests dated up to the start are refused as unprovable, logged once', () => {
    const path = journalPath();
    const first = guard(path);
    assert.equal(accept(first.freshness, header(1)), null);
    first.freshness.close();
    appendFileSync(path, Buffer.from('torn'));
    world.clock += 2000;
    try {
      const restarted = guard(path);
      assert.equal(restarted.freshness.start(), null);
      assert.equal(accept(restarted.freshness, header(1, nowSeconds() - 2)), 'TSC_SEC_REPLAYED');
      let refusal: unknown;
      try { restarted.freshness.check(header(2, nowSeconds() - 1)); } catch (error) { refusal = error; }
      assert.ok(refusal instanceof ReplayedError);
      assert.match(refusal.message, /replay journal was damaged when it started/);
      assert.equal(accept(restarted.freshness, header(3, nowSeconds() + 1)), null, 'requests dated after the start are accepted');
      assert.equal(restarted.logger.find('error', 'is damaged').length, 1);
      assert.equal(restarted.counters.get('security.replay_journal.damaged'), 1);
      assert.equal((statSync(path).size - JOURNAL_HEADER_BYTES) % JOURNAL_RECORD_BYTES, 0, 'the journal was rewritten clean');
      // The floor survives the next restart too: what it refused stays refused.
      assert.equal(accept(guard(path).freshness, header(4, nowSeconds() - 1)), 'TSC_SEC_REPLAYED');
    } finally {
      world.clock -= 2000;
    }
  });

  test('a request the journal cannot record is refused and not remembered, so it can come again', () => {
    const path = journalPath();
    const { freshness, counters, logger } = guard(path);
    assert.equal(freshness.start(), null);
    const journal = (freshness as unknown as { journal: ReplayJournal }).journal;
    const append = journal.append.bind(journal);
    journal.append = () => { throw new Error('ENOSPC: no space left on device'); };
    assert.equal(accept(freshness, header(1)), 'TSC_SEC_REPLAY_JOURNAL');
    assert.equal(counters.get('security.replay_journal.write_failed'), 1);
    assert.equal(logger.find('error', 'no space left').length, 1);
    journal.append = append;
    assert.equal(accept(freshness, header(1)), null);
  });

  test('a journal that cannot be opened is a start-up problem, and requests are refused while it lasts', () => {
    const blocker = join(world.dir('journals'), 'a-file');
    writeFileSync(blocker, 'not a directory');
    const { freshness } = guard(join(blocker, 'replay.journal'));
    assert.match(freshness.start()!, /plugin\.aes\.replay_journal .*cannot use the replay journal .*a-file\/replay\.journal/);
    assert.throws(() => freshness.check(header(1)), ReplayJournalError);
  });
});

describe('through the provider', () => {
  let client: ProviderUnderTest;
  let certDir: string;
  let serverKeys: { privatePath: string; publicPath: string };
  before(async () => {
    certDir = world.dir('provider-certs');
    const alice = await world.keys('alice', world.dir('provider-alice'));
    serverKeys = await world.keys('node1', world.dir('provider-server'));
    world.install(certDir, 'alice', alice.publicPem);
    client = world.provider('client', { client_private: alice.privatePath, client_public: alice.publicPath, server_cert_dir: certDir });
  });
  const server = (statedir: string, top: Record<string, string> = {}) =>
    world.provider('server', { server_private: serverKeys.privatePath, server_public: serverKeys.publicPath, client_cert_dir: certDir }, { statedir, identity: 'node1', ...top });

  test('after a restart a replay is refused, and a request signed before the restart is accepted', () => {
    const statedir = join(world.root, 'provider-state', 'nested');
    const first = server(statedir);
    assert.deepEqual(first.provider.validate(), []);
    assert.ok(existsSync(join(statedir, 'replay-node1.journal')), 'validate() opens <statedir>/replay-<identity>.journal');
    const original = client.send(request());
    const signedEarlier = client.send(request());
    first.provider.decodeRequest(original);
    first.provider.close();
    const restarted = server(statedir);
    assert.throws(() => restarted.provider.decodeRequest(original), ReplayedError);
    assert.ok(restarted.provider.decodeRequest(signedEarlier));
  });

  test('tsco decode (inspectOnly) reports a journaled replay but writes nothing; a client keeps no journal', () => {
    const statedir = join(world.root, 'inspect-state');
    const daemon = server(statedir);
    const wire = client.send(request());
    daemon.provider.decodeRequest(wire);
    const journal = join(statedir, 'replay-node1.journal');
    const size = statSync(journal).size;
    const inspector = (replayJournal: string) => new AesSecurityProvider({
      config: configFromObject({
        'plugin.aes.server_private': serverKeys.privatePath, 'plugin.aes.server_public': serverKeys.publicPath,
        'plugin.aes.client_cert_dir': certDir, 'plugin.aes.replay_journal': replayJournal,
      }),
      role: 'server', logger: new CapturingLogger(), counters: new MemoryCounters(), inspectOnly: true,
    });
    const inspect = inspector(journal);
    assert.throws(() => inspect.decodeRequest(wire), ReplayedError);
    assert.ok(inspect.decodeRequest(client.send(request())));
    assert.equal(statSync(journal).size, size, 'inspection appends nothing');
    const fresh = inspector(join(world.root, 'never', 'replay.journal'));
    assert.deepEqual(fresh.validate(), []);
    assert.ok(fresh.decodeRequest(client.send(request())));
    assert.equal(existsSync(join(world.root, 'never')), false);

    const clientState = join(world.root, 'client-state');
    const workstation = world.provider('client', { client_private: '/x', client_public: '/x' }, { statedir: clientState });
    workstation.provider.validate();
    assert.equal(existsSync(clientState), false, 'a client keeps no journal');
  });
});
