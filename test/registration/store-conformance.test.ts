/** The registration store contract, run identically against every backend (sqlite, postgresql, directory). */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { FilterSyntaxError, InvalidArgumentError, RegistrationStoreError } from '../../src/errors.js';
import { openRegistrationStore } from '../../src/registration/stores/index.js';
import type { RegistrationStore, RegistrationUpdate } from '../../src/inter/registration.js';
import { REGISTRATION_LIMITS } from '../../src/registration/stores/record.js';
import { fixture, forEachBackend, type BackendFixture } from './backends.js';

const T0 = 1_700_000_000_000;

function update(identity: string, extra: Partial<RegistrationUpdate> = {}): RegistrationUpdate {
  return { identity, collective: 'mcollective', signer: `cert=${identity}`, senderProof: 'certificate', agents: ['rpcutil'], time: T0, ...extra };
}

const isInvalid = (error: unknown): boolean => error instanceof InvalidArgumentError;
const isFilterError = (error: unknown): boolean => error instanceof FilterSyntaxError;

forEachBackend('registration store', (backend) => {
  let place: BackendFixture;
  let store: RegistrationStore;

  before(async () => {
    place = fixture(backend);
    store = await place.open();
  });
  after(async () => {
    await store.close();
    await place.cleanup();
  });

  test('a first registration is stored whole: lists sorted and deduplicated, facts in a null-prototype object', async () => {
    const written = await store.record(update('alpha', {
      agents: ['service', 'rpcutil', 'service'], classes: ['web', 'base'], collectives: ['uk', 'mcollective'],
      facts: { country: 'uk', 'os.family': 'Debian', uptime: '3600' }, time: T0 + 5,
    }));
    const read = await store.get('alpha');
    assert.deepEqual(read, written);
    assert.equal(store.backend, place.backend);
    assert.deepEqual(read!.agents, ['rpcutil', 'service']);
    assert.deepEqual(read!.classes, ['base', 'web']);
    assert.deepEqual(read!.collectives, ['mcollective', 'uk']);
    assert.equal(Object.getPrototypeOf(read!.facts), null);
    assert.deepEqual({ ...read!.facts }, { country: 'uk', 'os.family': 'Debian', uptime: '3600' });
    assert.equal(read!.signer, 'cert=alpha');
    assert.equal(read!.senderProof, 'certificate');
    assert.deepEqual([read!.firstSeen, read!.lastSeen, read!.registrations], [T0 + 5, T0 + 5, 1]);
  });

  test('a re-registration replaces the data, keeps firstSeen and counts', async () => {
    await store.record(update('beta', { facts: { a: '1', b: '2', c: '3' }, classes: ['x', 'y'], agents: ['rpcutil', 'package'], time: T0 }));
    const again = await store.record(update('beta', {
      facts: { a: '1', b: 'changed', d: '4' }, classes: ['y', 'z'], agents: ['rpcutil'], collectives: ['ops'],
      collective: 'ops', signer: 'cert=other', senderProof: 'mapping', time: T0 + 1000,
    }));
    const read = await store.get('beta');
    assert.deepEqual(read, again);
    assert.deepEqual({ ...read!.facts }, { a: '1', b: 'changed', d: '4' });
    assert.deepEqual(read!.classes, ['y', 'z']);
    assert.deepEqual(read!.agents, ['rpcutil']);
    assert.deepEqual(read!.collectives, ['ops']);
    assert.deepEqual([read!.collective, read!.signer, read!.senderProof], ['ops', 'cert=other', 'mapping']);
    assert.deepEqual([read!.firstSeen, read!.lastSeen, read!.registrations], [T0, T0 + 1000, 2]);
    // Queries see the new data, not the old.
    assert.deepEqual(await store.query({ filter: { fact: [{ fact: 'b', operator: '==', value: '2' }] } }), []);
    assert.deepEqual(await store.query({ filter: { fact: [{ fact: 'c', operator: '=~', value: '.' }] } }), []);
    assert.deepEqual(await store.query({ filter: { cf_class: ['x'] } }), []);
    assert.deepEqual(await store.query({ filter: { fact: [{ fact: 'b', operator: '==', value: 'changed' }], cf_class: ['z'] } }), ['beta']);
  });

  test('an agentlist registration (no collectives) is a member of the collective it arrived in', async () => {
    await store.record(update('gamma', { collective: 'ops' }));
    assert.deepEqual((await store.get('gamma'))!.collectives, ['ops']);
    assert.deepEqual((await store.get('gamma'))!.facts && { ...(await store.get('gamma'))!.facts }, {});
  });

  test('facts named like Object.prototype members are data only when the node has them', async () => {
    await store.record(update('protofacts', { facts: Object.fromEntries([['constructor', 'yes'], ['__proto__', 'x'], ['toString', 't']]) }));
    const read = await store.get('protofacts');
    assert.equal(read!.facts['constructor'], 'yes');
    assert.equal(read!.facts['__proto__'], 'x');
    assert.equal(Object.getPrototypeOf(read!.facts), null);
    const has = async (fact: string): Promise<string[]> => store.query({ filter: { fact: [{ fact, operator: '=~', value: '.' }] } });
    assert.deepEqual(await has('constructor'), ['protofacts']);
    assert.deepEqual(await has('__proto__'), ['protofacts']);
    assert.deepEqual(await has('hasOwnProperty'), []);
    assert.equal((await store.get('alpha'))!.facts['constructor'], undefined);
  });

  test('a long fact value is stored and found by equality', async () => {
    const long = `${'v'.repeat(REGISTRATION_LIMITS.factValueLength - 1)}!`;
    await store.record(update('longvalue', { facts: { motd: long } }));
    assert.equal((await store.get('longvalue'))!.facts['motd'], long);
    assert.deepEqual(await store.query({ filter: { fact: [{ fact: 'motd', operator: '==', value: long }] } }), ['longvalue']);
    assert.deepEqual(await store.query({ filter: { fact: [{ fact: 'motd', operator: '==', value: `${long.slice(0, -1)}?` }] } }), []);
    await store.record(update('shortvalue', { facts: { motd: 'hello!' } }));
    assert.deepEqual(await store.query({ filter: { fact: [{ fact: 'motd', operator: '=~', value: '!$' }] } }), ['longvalue', 'shortvalue']);
    assert.deepEqual(await store.query({ filter: { fact: [{ fact: 'motd', operator: '=~', value: '^v+!$' }] } }), ['longvalue']);
    assert.deepEqual(await store.query({ filter: { fact: [{ fact: 'motd', operator: '>', value: 'i' }] } }), ['longvalue']);
  });

  test('malformed registrations are refused with the reason, and nothing is stored', async () => {
    const cases: Array<[string, Partial<RegistrationUpdate> & { identity?: unknown }]> = [
      ['identity', { identity: '../etc/passwd' }],
      ['signer', { signer: 'alice' }],
      ['senderProof', { senderProof: '' }],
      ['agents\\[0\\]', { agents: ['Bad Agent'] }],
      ['classes\\[0\\]', { classes: ['has space'] }],
      ['collectives\\[0\\]', { collectives: ['bad/collective'] }],
      ['facts', { facts: { 'bad name': 'x' } }],
      ['facts.count', { facts: { count: 3 as unknown as string } }],
      ['facts.nul', { facts: { nul: 'a\u0000b' } }],
      ['facts.lone', { facts: { lone: '\uD800' } }],
      ['facts.big', { facts: { big: 'x'.repeat(REGISTRATION_LIMITS.factValueLength + 1) } }],
      ['facts: 10001 facts', { facts: Object.fromEntries(Array.from({ length: REGISTRATION_LIMITS.facts + 1 }, (_, i) => [`f${i}`, 'v'])) }],
      ['agents: 10001 entries', { agents: Array.from({ length: REGISTRATION_LIMITS.listLength + 1 }, (_, i) => `a${i}`) }],
      ['time', { time: -1 }],
    ];
    for (const [reason, fields] of cases) {
      const identity = typeof fields.identity === 'string' ? fields.identity : 'refused';
      await assert.rejects(store.record(update(identity, fields as Partial<RegistrationUpdate>)), (error: unknown) => isInvalid(error) && new RegExp(reason).test((error as Error).message), reason);
    }
    assert.equal(await store.get('refused'), undefined);
    await assert.rejects(store.get('../etc/passwd'), isInvalid);
  });

  test('count and query honour the collective and the last-seen time', async () => {
    await store.record(update('scope-new', { collectives: ['scoped', 'mcollective'], time: T0 + 10_000 }));
    await store.record(update('scope-old', { collectives: ['scoped'], time: T0 - 10_000 }));
    assert.deepEqual(await store.query({ collective: 'scoped' }), ['scope-new', 'scope-old']);
    assert.deepEqual(await store.query({ collective: 'scoped', seenSince: T0 }), ['scope-new']);
    assert.equal(await store.count({ collective: 'scoped' }), 2);
    assert.equal(await store.count({ collective: 'scoped', seenSince: T0 + 10_000, filter: { identity: ['/^scope-/'] } }), 1);
    assert.equal(await store.count({ collective: 'nosuch' }), 0);
    assert.equal(await store.count(), (await store.query()).length);
    await assert.rejects(store.query({ collective: 'bad collective' }), isFilterError);
    await assert.rejects(store.query({ seenSince: Number.NaN }), isFilterError);
  });

  test('find pages through the selected nodes, sorted, each with its signer, proof and last-seen time', async () => {
    const proofs = ['certificate', 'shared', 'key-name', 'mapping', 'unknown'];
    for (const [index, proof] of proofs.entries()) {
      await store.record(update(`page${index}`, { collectives: ['paged'], senderProof: proof, signer: index === 1 ? 'cert=fleet' : `cert=page${index}`, time: T0 + index }));
    }
    const query = { collective: 'paged' };
    const first = await store.find(query, { limit: 2 });
    assert.deepEqual(first, {
      nodes: [
        { identity: 'page0', signer: 'cert=page0', senderProof: 'certificate', lastSeen: T0 },
        { identity: 'page1', signer: 'cert=fleet', senderProof: 'shared', lastSeen: T0 + 1 },
      ],
      more: true,
    });
    const second = await store.find(query, { after: 'page1', limit: 2 });
    assert.deepEqual([second.nodes.map((n) => n.identity), second.more], [['page2', 'page3'], true]);
    const last = await store.find(query, { after: 'page3', limit: 2 });
    assert.deepEqual([last.nodes.map((n) => n.identity), last.more], [['page4'], false]);
    assert.deepEqual((await store.find(query)).nodes.map((n) => n.identity), await store.query(query));
    assert.deepEqual((await store.find({ ...query, seenSince: T0 + 3, filter: { identity: ['/^page/'] } }, { limit: 5 })).nodes.map((n) => n.identity), ['page3', 'page4']);
    for (const page of [{ limit: 0 }, { limit: 10_001 }, { limit: 1.5 }, { limit: 2, after: '../x' }]) {
      await assert.rejects(store.find(query, page), isInvalid, JSON.stringify(page));
    }
  });

  test('registrations arriving together are each recorded in order; a refused one fails alone', async () => {
    const results = await Promise.allSettled([
      store.record(update('together', { facts: { step: '1' }, time: T0 + 1 })),
      store.record(update('together', { facts: { step: '2' }, time: T0 + 2 })),
      store.record(update('together-bad', { agents: ['Not An Agent'] })),
      store.record(update('together-other', { time: T0 + 3 })),
      store.record(update('together', { facts: { step: '3' }, time: T0 + 4 })),
    ]);
    assert.deepEqual(results.map((result) => result.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    assert.ok(isInvalid((results[2] as PromiseRejectedResult).reason));
    const together = await store.get('together');
    assert.deepEqual([together!.registrations, together!.lastSeen, together!.facts['step']], [3, T0 + 4, '3']);
    assert.deepEqual((results[4] as PromiseFulfilledResult<unknown>).value, together);
    assert.equal((await store.get('together-other'))!.lastSeen, T0 + 3);
    assert.equal(await store.get('together-bad'), undefined);
  });

  test('malformed filters are refused with FilterSyntaxError, including patterns only a backtracking engine accepts', async () => {
    for (const filter of [
      { fact: [{ fact: 'os', operator: '=~', value: '/(/' }] },
      { fact: [{ fact: 'os', operator: '~~', value: 'x' }] },
      { fact: [{ fact: 'bad name', operator: '==', value: 'x' }] },
      { compound: ['country=uk and ('] },
      { cf_class: ['/(?=lookahead)/'] },
      { identity: Array.from({ length: 300 }, (_, i) => `n${i}`) },
    ]) {
      await assert.rejects(store.query({ filter: filter as never }), isFilterError, JSON.stringify(filter).slice(0, 80));
    }
  });

  test('stale nodes are listed and expired; others stay', async () => {
    await store.record(update('fresh', { time: T0 + 100_000 }));
    await store.record(update('stale1', { time: T0 - 1_000_000 }));
    const age = { interval: 60, intervals: 3, now: T0 + 100_000 };
    const cutoff = age.now - 180_000;
    const everyone = await store.query();
    const expected: string[] = [];
    for (const identity of everyone) if ((await store.get(identity))!.lastSeen < cutoff) expected.push(identity);
    assert.ok(expected.includes('stale1') && !expected.includes('fresh'));
    assert.deepEqual(await store.stale(age), expected);
    assert.deepEqual(await store.expire(age), expected);
    assert.deepEqual(await store.stale(age), []);
    assert.equal(await store.get('stale1'), undefined);
    assert.ok((await store.get('fresh')) !== undefined);
    assert.deepEqual(await store.query({ filter: { identity: ['stale1'] } }), []);
    await assert.rejects(store.stale({ interval: 0 }), isInvalid);
    await assert.rejects(store.expire({ interval: 60, intervals: -1 }), isInvalid);
  });

  test('remove forgets a node and its facts, classes and agents', async () => {
    await store.record(update('doomed', { facts: { role: 'doomed' }, classes: ['doomed'], agents: ['doomed_agent'] }));
    assert.equal(await store.remove('doomed'), true);
    assert.equal(await store.remove('doomed'), false);
    assert.equal(await store.get('doomed'), undefined);
    for (const filter of [{ fact: [{ fact: 'role', operator: '==' as const, value: 'doomed' }] }, { cf_class: ['doomed'] }, { agent: ['doomed_agent'] }, { cf_class: ['/doom/'] }]) {
      assert.deepEqual(await store.query({ filter }), []);
    }
    // A node registering again after removal starts afresh.
    await store.record(update('doomed', { time: T0 + 7 }));
    assert.deepEqual([(await store.get('doomed'))!.registrations, (await store.get('doomed'))!.firstSeen], [1, T0 + 7]);
  });

  test('history is taken for a node the store does not know, and ignored for one it knows', async () => {
    await store.record(update('imported', { time: T0, history: { firstSeen: T0 - 5000, registrations: 41 } }));
    assert.deepEqual([(await store.get('imported'))!.firstSeen, (await store.get('imported'))!.registrations], [T0 - 5000, 41]);
    await store.record(update('imported', { time: T0 + 1, history: { firstSeen: 1, registrations: 1 } }));
    assert.deepEqual([(await store.get('imported'))!.firstSeen, (await store.get('imported'))!.registrations], [T0 - 5000, 42]);
    await assert.rejects(store.record(update('imported', { history: { firstSeen: T0 + 1, registrations: 1 } })), isInvalid);
  });

  // Every backend, the directory one through src/filter's matcher, decides regexes with the one linear-time engine.
  test('a regex that backtracks exponentially elsewhere is decided in linear time', { timeout: 60_000 }, async () => {
    await store.record(update('redos', { facts: { path: `${'a'.repeat(40)}!` } }));
    assert.deepEqual(await store.query({ filter: { fact: [{ fact: 'path', operator: '=~', value: '/^(a+)+$/' }] } }), []);
    assert.deepEqual(await store.query({ filter: { compound: ['path=~/^(a|aa)+!$/'] } }), ['redos']);
  });

  test('a reader opens an existing store only: a missing one is refused, and nothing is created', async () => {
    const reader = await openRegistrationStore(place.settings, { existing: true });
    try {
      assert.deepEqual(await reader.query({ filter: { identity: ['alpha'] } }), ['alpha']);
    } finally {
      await reader.close();
    }
    const elsewhere = fixture(backend);
    try {
      await assert.rejects(openRegistrationStore(elsewhere.settings, { existing: true }), (error: unknown) => error instanceof RegistrationStoreError);
      const settings = elsewhere.settings;
      if (settings.backend === 'sqlite') assert.ok(!existsSync(settings.path));
      if (settings.backend === 'directory') assert.ok(!existsSync(settings.dir));
    } finally {
      await elsewhere.cleanup();
    }
  });

  test('the data survives closing and reopening the store', async () => {
    const before = await store.get('alpha');
    const identities = await store.query();
    await store.close();
    store = await place.open();
    assert.deepEqual(await store.get('alpha'), before);
    assert.deepEqual(await store.query(), identities);
  });
});
