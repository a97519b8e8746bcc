/**
 * The registration backends under test, each opened in a place of its own (a temporary file or directory, or a
 * PostgreSQL schema named after this process), and the rule for PostgreSQL: when it is unreachable its tests
 * are skipped with the reason locally and fail under CI=true, like the broker tests.
 */
import { after, before, describe, test } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { RegistrationBackend, RegistrationStore, RegistrationUpdate } from '../../src/inter/registration.js';
import { openRegistrationStore, type RegistrationStoreSettings } from '../../src/registration/stores/index.js';
import { SqliteRegistrationStore } from '../../src/registration/stores/sqlite.js';

/** The backends under test: the three, and sqlite combining conditions in PostgreSQL's predicate style. */
export type TestBackend = RegistrationBackend | 'sqlite-predicate';

/** The PostgreSQL of development and CI machines (trust auth, database `test`). */
export const POSTGRES_URL = process.env['TSCO_TEST_POSTGRES_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/test';

async function postgresProblem(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    return `PostgreSQL not reachable at ${POSTGRES_URL}: ${(error as Error).message}`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Why PostgreSQL tests cannot run here, or undefined when they can. */
export const POSTGRES_UNAVAILABLE = await postgresProblem();

/** A schema name no other test run uses. */
export function uniqueSchema(purpose: string): string {
  return `tsco_${purpose}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

/** Drops a test schema and everything in it. */
export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

/** One backend, opened in a fresh place; `open` again reaches the same data; `cleanup` removes it all. */
export interface BackendFixture {
  readonly backend: RegistrationBackend;
  readonly variant: TestBackend;
  readonly settings: RegistrationStoreSettings;
  open(): Promise<RegistrationStore>;
  cleanup(): Promise<void>;
}

/** A fresh place for `variant`. */
export function fixture(variant: TestBackend): BackendFixture {
  const backend: RegistrationBackend = variant === 'sqlite-predicate' ? 'sqlite' : variant;
  let settings: RegistrationStoreSettings;
  let cleanup: () => Promise<void>;
  if (backend === 'postgresql') {
    const schema = uniqueSchema('test');
    settings = { backend, url: POSTGRES_URL, schema };
    cleanup = () => dropSchema(schema);
  } else {
    const dir = mkdtempSync(join(tmpdir(), `tsco-registration-${backend}-`));
    settings = backend === 'sqlite' ? { backend, path: join(dir, 'registration.sqlite') } : { backend, dir: join(dir, 'store') };
    cleanup = async () => rmSync(dir, { recursive: true, force: true });
  }
  const open = variant === 'sqlite-predicate' && settings.backend === 'sqlite'
    ? async () => SqliteRegistrationStore.open({ path: settings.path, combine: 'predicate' })
    : () => openRegistrationStore(settings);
  return { backend, variant, settings, open, cleanup };
}

/**
 * In a describe block: opens `variant` in a fresh place before its tests with every node of `nodes` recorded, and
 * closes and removes it after them. Returns the store, for the tests to call once the hooks ran.
 */
export function seededStore(variant: TestBackend, nodes: readonly RegistrationUpdate[]): () => RegistrationStore {
  let place: BackendFixture | undefined;
  let store: RegistrationStore | undefined;
  before(async () => {
    place = fixture(variant);
    store = await place.open();
    for (const node of nodes) await store.record(node);
  });
  after(async () => {
    await store?.close();
    await place?.cleanup();
  });
  return () => store!;
}

/** Every backend. */
export const BACKENDS: readonly TestBackend[] = ['sqlite', 'sqlite-predicate', 'postgresql', 'directory'];

/**
 * Declares `body` once per backend, in a describe block named after it. PostgreSQL's block is skipped with the
 * reason when the server is unreachable, and replaced by a failing test when CI=true.
 */
export function forEachBackend(title: string, body: (backend: TestBackend) => void, backends: readonly TestBackend[] = BACKENDS): void {
  for (const backend of backends) {
    if (backend === 'postgresql' && POSTGRES_UNAVAILABLE) {
      if (process.env['CI'] === 'true') {
        test(`${title} [postgresql]`, () => { throw new Error(`${POSTGRES_UNAVAILABLE} (CI=true requires it)`); });
      } else {
        console.error(`!!! ${POSTGRES_UNAVAILABLE}: ${title} [postgresql] NOT RUN !!!`);
        describe(`${title} [postgresql]`, { skip: POSTGRES_UNAVAILABLE }, () => {});
      }
      continue;
    }
    describe(`${title} [${backend}]`, () => body(backend));
  }
}
