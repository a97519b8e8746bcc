/** What docs/daemon.md promises of one backend: file modes, schema versions, shared PostgreSQL stores, redaction. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { FilterSyntaxError, RegistrationStoreError } from '../../src/errors.js';
import type { RegistrationUpdate } from '../../src/inter/registration.js';
import { PostgresRegistrationStore } from '../../src/registration/stores/postgresql.js';
import { SqliteRegistrationStore } from '../../src/registration/stores/sqlite.js';
import { POSTGRES_URL, dropSchema, forEachBackend, uniqueSchema } from './backends.js';

const dirs: string[] = [];
after(() => { for (const dir of dirs) rmSync(dir, { recursive: true, force: true }); });
function temp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsco-registration-specific-'));
  dirs.push(dir);
  return dir;
}

const update = (identity: string, facts: Record<string, string> = {}): RegistrationUpdate => ({
  identity, collective: 'mcollective', signer: `cert=${identity}`, senderProof: 'certificate', agents: ['rpcutil'], facts,
});

test('sqlite: the database is created mode 0600 in a directory created mode 0700', async () => {
  const path = join(temp(), 'state', 'registration.sqlite');
  const store = SqliteRegistrationStore.open({ path });
  await store.record(update('web1'));
  await store.close();
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.equal(statSync(join(path, '..')).mode & 0o777, 0o700);
});

test('sqlite: WAL mode, synchronous NORMAL, checkpoints every 10,000 pages, WAL truncated to 64 MB, 32 MB cache', async () => {
  const store = SqliteRegistrationStore.open({ path: join(temp(), 'registration.sqlite') });
  const db = (store as unknown as { db: Database.Database }).db;
  const pragma = (name: string): unknown => db.pragma(name, { simple: true });
  assert.deepEqual(
    [pragma('journal_mode'), pragma('synchronous'), pragma('wal_autocheckpoint'), pragma('journal_size_limit'), pragma('cache_size')],
    ['wal', 1, 10_000, 67_108_864, -32_768],
  );
  await store.close();
});

test('sqlite: a re-registration writes only what changed', async () => {
  const path = join(temp(), 'registration.sqlite');
  const store = SqliteRegistrationStore.open({ path });
  const facts = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`fact${i}`, String(i)]));
  await store.record(update('web1', facts));
  const db = (store as unknown as { db: Database.Database }).db;
  const changes = (): number => db.prepare('SELECT total_changes()').pluck().get() as number;
  const before = changes();
  await store.record(update('web1', { ...facts, fact7: 'changed' }));
  assert.equal(changes() - before, 2, 'the node row and one fact');
  await store.close();
});

test('sqlite: a database written by a newer schema version is refused, and so is a file that is not a database', async () => {
  const path = join(temp(), 'registration.sqlite');
  await SqliteRegistrationStore.open({ path }).close();
  const db = new Database(path);
  db.pragma('user_version = 99');
  db.close();
  assert.throws(() => SqliteRegistrationStore.open({ path }), (error: unknown) => error instanceof RegistrationStoreError && /newer tscollective \(schema version 99/.test(error.message) && error.message.includes(path));
  const notDb = join(temp(), 'text.sqlite');
  rmSync(notDb, { force: true });
  (await import('node:fs')).writeFileSync(notDb, 'this is not a database, it is a plain text file of some length to look like one\n'.repeat(20));
  assert.throws(() => SqliteRegistrationStore.open({ path: notDb }), RegistrationStoreError);
});

forEachBackend('shared store', () => {
  const schemas: string[] = [];
  after(async () => { for (const schema of schemas) await dropSchema(schema); });
  const schema = (): string => {
    const name = uniqueSchema('specific');
    schemas.push(name);
    return name;
  };

  test('collectors opening one new store together all succeed, and share it', async () => {
    const shared = schema();
    const stores = await Promise.all([1, 2, 3].map(() => PostgresRegistrationStore.open({ url: POSTGRES_URL, schema: shared })));
    try {
      await stores[0]!.record(update('web1', { country: 'uk' }));
      const second = await stores[1]!.record(update('web1', { country: 'uk' }));
      assert.equal(second.registrations, 2, 'each collector that receives a registration records it');
      assert.deepEqual(await stores[2]!.query({ filter: { fact: [{ fact: 'country', operator: '==', value: 'uk' }] } }), ['web1']);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });

  test('a regex over a fact with more distinct values than the index skip reads still sees every value', async () => {
    const store = await PostgresRegistrationStore.open({ url: POSTGRES_URL, schema: schema() });
    try {
      for (let i = 0; i < 1100; i++) await store.record(update(`n${String(i).padStart(4, '0')}`, { serial: `s${i}`, os: i % 2 ? 'debian' : 'centos' }));
      assert.deepEqual(await store.query({ filter: { fact: [{ fact: 'serial', operator: '=~', value: '^s10[0-9]{2}$' }] } }), Array.from({ length: 100 }, (_, i) => `n${1000 + i}`));
      assert.equal(await store.count({ filter: { fact: [{ fact: 'os', operator: '=~', value: 'deb' }] } }), 550);
    } finally {
      await store.close();
    }
  });

  test('sessions run with synchronous_commit off', async () => {
    const store = await PostgresRegistrationStore.open({ url: POSTGRES_URL, schema: schema() });
    try {
      const pools = store as unknown as { pool: pg.Pool; queryPool: pg.Pool };
      for (const pool of [pools.pool, pools.queryPool]) assert.equal((await pool.query('SHOW synchronous_commit')).rows[0].synchronous_commit, 'off');
    } finally {
      await store.close();
    }
  });

  test('a store written by a newer schema version is refused', async () => {
    const name = schema();
    await (await PostgresRegistrationStore.open({ url: POSTGRES_URL, schema: name })).close();
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    await client.query(`UPDATE "${name}".meta SET value = '99' WHERE key = 'version'`);
    await client.end();
    await assert.rejects(PostgresRegistrationStore.open({ url: POSTGRES_URL, schema: name }), (error: unknown) => error instanceof RegistrationStoreError && /schema version 99/.test(error.message));
  });
}, ['postgresql']);

test('an unreachable PostgreSQL is a RegistrationStoreError whose message never shows the password', async () => {
  const url = 'postgresql://fleet:hunter2-secret@127.0.0.1:1/test';
  await assert.rejects(PostgresRegistrationStore.open({ url, schema: 'tsco_unreachable' }), (error: unknown) =>
    error instanceof RegistrationStoreError && /fleet:\*\*\*@127\.0\.0\.1:1/.test(error.message) && !error.message.includes('hunter2'));
});

test('filters with too many conditions or backreferences are refused', async () => {
  const store = SqliteRegistrationStore.open({ path: join(temp(), 'registration.sqlite') });
  try {
    // Each expression is within the 4,096-character bound; together they hold 1,200 conditions.
    const expression = Array.from({ length: 400 }, (_, i) => `f${i}=x`).join(' or ');
    assert.ok(expression.length <= 4096);
    await assert.rejects(store.query({ filter: { compound: [expression, expression, expression] } }), (error: unknown) => error instanceof FilterSyntaxError && /more than 1024 conditions/.test((error as Error).message));
    assert.deepEqual(await store.query({ filter: { compound: [expression, expression] } }), []);
    await assert.rejects(store.query({ filter: { cf_class: ['/(a)\\1/'] } }), FilterSyntaxError);
  } finally {
    await store.close();
  }
});
