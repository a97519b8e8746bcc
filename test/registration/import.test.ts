/** Importing a directory store (today's files, and files from before signers were kept) into every backend, and the CLI. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RegistrationStore } from '../../src/inter/registration.js';
import { importDirectory } from '../../src/registration/import.js';
import { RecordFiles } from '../../src/registration/record-files.js';
import { SqliteRegistrationStore } from '../../src/registration/stores/sqlite.js';
import { POSTGRES_URL, dropSchema, fixture, forEachBackend, uniqueSchema, POSTGRES_UNAVAILABLE, type BackendFixture } from './backends.js';

const TSCO = new URL('../../src/cli/tsco.js', import.meta.url).pathname;
const T0 = 1_700_000_000_000;

/** A directory store: two current records, one written before signers were kept, one corrupt file, one refused record. */
function sourceDirectory(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsco-import-src-'));
  const files = RecordFiles.open(dir);
  files.record({ identity: 'web1', collective: 'mcollective', signer: 'cert=web1', senderProof: 'certificate', agents: ['rpcutil'], facts: { country: 'uk' }, classes: ['webserver'], collectives: ['mcollective', 'uk'], time: T0 });
  files.record({ identity: 'web1', collective: 'mcollective', signer: 'cert=web1', senderProof: 'certificate', agents: ['rpcutil'], facts: { country: 'uk', uptime: '10' }, classes: ['webserver'], collectives: ['mcollective', 'uk'], time: T0 + 1000 });
  files.record({ identity: 'db1', collective: 'ops', callerid: 'cert=db1', agents: ['rpcutil', 'mysql'], facts: { role: 'db' }, time: T0 - 50 });
  // The format written before signers and proofs were kept: callerid only.
  writeFileSync(join(dir, 'legacy.json'), JSON.stringify({
    identity: 'legacy', callerid: 'cert=legacy', collective: 'mcollective', agents: ['rpcutil'], facts: { os: 'debian', constructor: 'c' },
    classes: [], collectives: ['mcollective'], firstSeen: T0 - 9000, lastSeen: T0 - 10, registrations: 7,
  }));
  writeFileSync(join(dir, 'broken.json'), '{"identity": "broken", ');
  writeFileSync(join(dir, 'badfact.json'), JSON.stringify({
    identity: 'badfact', callerid: 'cert=badfact', collective: 'mcollective', agents: ['rpcutil'], facts: { 'has space': 'x' },
    classes: [], collectives: ['mcollective'], firstSeen: T0, lastSeen: T0, registrations: 1,
  }));
  return dir;
}

forEachBackend('import from a directory store', (backend) => {
  let place: BackendFixture;
  let store: RegistrationStore;
  let source: string;

  before(async () => {
    source = sourceDirectory();
    place = fixture(backend);
    store = await place.open();
  });
  after(async () => {
    await store.close();
    await place.cleanup();
    rmSync(source, { recursive: true, force: true });
  });

  test('every readable record arrives whole; the unreadable and the refused are reported', async () => {
    const report = await importDirectory(source, store);
    assert.equal(report.imported, 3);
    assert.deepEqual(report.failed.map((failure) => failure.source.replace(/.*\//, '')).sort(), ['badfact', 'broken.json']);
    assert.match(report.failed.find((failure) => failure.source === 'badfact')!.reason, /has space/);
    assert.deepEqual(await store.query(), ['db1', 'legacy', 'web1']);
    const web1 = (await store.get('web1'))!;
    assert.deepEqual({ ...web1, facts: { ...web1.facts } }, {
      identity: 'web1', collective: 'mcollective', signer: 'cert=web1', senderProof: 'certificate', agents: ['rpcutil'],
      facts: { country: 'uk', uptime: '10' }, classes: ['webserver'], collectives: ['mcollective', 'uk'], firstSeen: T0, lastSeen: T0 + 1000, registrations: 2,
    });
    const legacy = (await store.get('legacy'))!;
    assert.deepEqual([legacy.signer, legacy.senderProof, legacy.firstSeen, legacy.lastSeen, legacy.registrations], ['cert=legacy', 'unknown', T0 - 9000, T0 - 10, 7]);
    assert.equal(Object.getPrototypeOf(legacy.facts), null);
    assert.equal((await store.get('db1'))!.senderProof, 'unknown');
    assert.deepEqual((await store.get('db1'))!.collectives, ['ops']);
    assert.deepEqual(await store.query({ filter: { fact: [{ fact: 'constructor', operator: '==', value: 'c' }] } }), ['legacy']);
    assert.deepEqual(await store.query({ filter: { fact: [{ fact: 'constructor', operator: '=~', value: '.' }], cf_class: ['webserver'] } }), []);
  });

  test('importing again counts one more registration and keeps firstSeen', async () => {
    await importDirectory(source, store);
    assert.deepEqual([(await store.get('legacy'))!.registrations, (await store.get('legacy'))!.firstSeen], [8, T0 - 9000]);
  });
});

test('tsco registration import DIR fills the configured sqlite store and reports what it could not import', async () => {
  const source = sourceDirectory();
  const dir = mkdtempSync(join(tmpdir(), 'tsco-import-cli-'));
  try {
    const cfg = join(dir, 'server.cfg');
    writeFileSync(cfg, `statedir = ${join(dir, 'state')}\n`);
    const result = spawnSync(process.execPath, [TSCO, '--config', cfg, 'registration', 'import', source], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stdout, new RegExp(`imported 3 node\\(s\\) from .* into the sqlite store ${join(dir, 'state', 'registration.sqlite')}`));
    assert.match(result.stderr, /not imported: badfact: .*has space/);
    assert.match(result.stderr, /not imported: .*broken\.json/);
    const store = SqliteRegistrationStore.open({ path: join(dir, 'state', 'registration.sqlite') });
    try {
      assert.deepEqual(await store.query(), ['db1', 'legacy', 'web1']);
    } finally {
      await store.close();
    }
    rmSync(join(source, 'broken.json'));
    rmSync(join(source, 'badfact.json'));
    const clean = spawnSync(process.execPath, [TSCO, '--config', cfg, 'registration', 'import', source], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(clean.status, 0, clean.stderr);
    // The configured directory store cannot be imported into itself.
    writeFileSync(cfg, `plugin.registration.store_dir = ${source}\n`);
    const self = spawnSync(process.execPath, [TSCO, '--config', cfg, 'registration', 'import', source], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(self.status, 1);
    assert.match(self.stderr, /is the configured store itself/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(source, { recursive: true, force: true });
  }
});

test('tsco registration import DIR into postgresql', { skip: POSTGRES_UNAVAILABLE && process.env['CI'] !== 'true' ? POSTGRES_UNAVAILABLE : false }, async () => {
  const source = sourceDirectory();
  const dir = mkdtempSync(join(tmpdir(), 'tsco-import-pg-'));
  const schema = uniqueSchema('cli');
  try {
    const cfg = join(dir, 'server.cfg');
    writeFileSync(cfg, `plugin.registration.store = postgresql\nplugin.registration.postgresql.url = ${POSTGRES_URL}\nplugin.registration.postgresql.schema = ${schema}\n`);
    const result = spawnSync(process.execPath, [TSCO, '--config', cfg, 'registration', 'import', source], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stdout, new RegExp(`imported 3 node\\(s\\) .* into the postgresql store .*schema ${schema}`));
  } finally {
    await dropSchema(schema).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    rmSync(source, { recursive: true, force: true });
  }
});
