/** plugin.registration.*: the schema, who collects, the ages, the backend a configuration selects, every problem at once, and the docs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../../src/errors.js';
import { configFromObject, registeredSchemas } from '../../src/config/index.js';
import { registrationConfigSchema } from '../../src/registration/schema.js';
import { openConfiguredRegistrationStore, registrationStoreSettings } from '../../src/registration/stores/index.js';
import { redactUrl } from '../../src/registration/stores/postgresql-names.js';
import { collectorConfigured, registrationAges } from '../../src/registration/settings.js';

const settingsOf = (values: Record<string, string>) => registrationStoreSettings(configFromObject(values));

test('the registration namespace is registered, so a misspelt key is reported', () => {
  assert.ok(registeredSchemas().some((schema) => schema.namespace === 'registration'));
  const config = configFromObject({ 'plugin.registration.stor': 'sqlite' });
  assert.ok(config.warnings.some((warning) => /plugin\.registration\.stor.*did you mean plugin\.registration\.store\?/.test(warning)), config.warnings.join('\n'));
  assert.throws(() => configFromObject({ 'plugin.registration.store': 'mongodb' }), (error: unknown) => error instanceof ConfigError && /plugin\.registration\.store/.test(error.message));
});

test('sqlite is the default, under statedir unless sqlite.path says otherwise', () => {
  assert.deepEqual(settingsOf({ statedir: '/srv/state' }), { settings: { backend: 'sqlite', path: '/srv/state/registration.sqlite' }, problems: [] });
  assert.deepEqual(settingsOf({ 'plugin.registration.sqlite.path': '/data/reg.db' }).settings, { backend: 'sqlite', path: '/data/reg.db' });
  assert.deepEqual(settingsOf({}).settings, { backend: 'sqlite', path: '/var/lib/tscollective/registration.sqlite' });
});

test('a configuration with store_dir only keeps its directory store', () => {
  assert.deepEqual(settingsOf({ 'plugin.registration.store_dir': '/var/lib/reg' }).settings, { backend: 'directory', dir: '/var/lib/reg' });
  assert.deepEqual(settingsOf({ 'plugin.registration.store': 'directory', 'plugin.registration.store_dir': '/r' }).settings, { backend: 'directory', dir: '/r' });
});

test('postgresql takes the URL and the schema', () => {
  assert.deepEqual(settingsOf({ 'plugin.registration.store': 'postgresql', 'plugin.registration.postgresql.url': 'postgresql://postgres@127.0.0.1:5432/test' }).settings, {
    backend: 'postgresql', url: 'postgresql://postgres@127.0.0.1:5432/test', schema: 'tscollective_registration',
  });
  assert.equal(settingsOf({
    'plugin.registration.store': 'postgresql', 'plugin.registration.postgresql.url': 'postgres://db/reg', 'plugin.registration.postgresql.schema': 'fleet_a',
  }).settings?.backend, 'postgresql');
});

test('every problem is reported at once, naming the key; settings another backend would use are refused', () => {
  const problems = (values: Record<string, string>): string[] => {
    const result = settingsOf(values);
    assert.equal(result.settings, undefined);
    return result.problems;
  };
  assert.match(problems({ 'plugin.registration.store': 'directory' }).join('\n'), /store: directory needs plugin\.registration\.store_dir/);
  assert.match(problems({ 'plugin.registration.store': 'postgresql' }).join('\n'), /postgresql needs plugin\.registration\.postgresql\.url/);
  const many = problems({
    'plugin.registration.store': 'postgresql', 'plugin.registration.postgresql.url': 'mysql://x/y', 'plugin.registration.postgresql.schema': 'Bad-Schema',
    'plugin.registration.store_dir': '/r', 'plugin.registration.sqlite.path': '/x.db',
  });
  assert.equal(many.length, 4, many.join('\n'));
  assert.match(many.join('\n'), /postgresql\.url: expected postgresql:\/\//);
  assert.match(many.join('\n'), /postgresql\.schema: "Bad-Schema" is not a plain lower-case identifier/);
  assert.match(many.join('\n'), /store_dir: applies to store = directory only, and the store is postgresql/);
  assert.match(many.join('\n'), /sqlite\.path: applies to store = sqlite only/);
  assert.match(problems({ 'plugin.registration.store_dir': '/r', 'plugin.registration.postgresql.url': 'postgresql://h/d' }).join('\n'), /postgresql\.url: applies to store = postgresql only, and the store is directory/);
});

test('openConfiguredRegistrationStore refuses a bad configuration with ConfigError before opening anything', async () => {
  await assert.rejects(openConfiguredRegistrationStore(configFromObject({ 'plugin.registration.store': 'postgresql' })), (error: unknown) => error instanceof ConfigError && /postgresql\.url/.test(error.message));
});

test('a password in the PostgreSQL URL never reaches logs or errors', () => {
  assert.equal(redactUrl('postgresql://fleet:s3cret@db.example:5432/reg'), 'postgresql://fleet:***@db.example:5432/reg');
  assert.equal(redactUrl('postgresql://postgres@127.0.0.1:5432/test'), 'postgresql://postgres@127.0.0.1:5432/test');
});

test('every plugin.registration key is documented in docs/configuration.md and the backends in docs/daemon.md', () => {
  const configuration = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');
  for (const key of Object.keys(registrationConfigSchema.keys)) assert.ok(configuration.includes(`\`plugin.registration.${key}\``), `docs/configuration.md lacks plugin.registration.${key}`);
  const daemon = readFileSync(new URL('../../../docs/daemon.md', import.meta.url), 'utf8');
  for (const backend of ['sqlite', 'postgresql', 'directory']) assert.match(daemon, new RegExp(`store = ${backend}`));
});

test('stale_after defaults to 3 registration intervals (900 s without registration); expire_after to never', () => {
  const ages = (values: Record<string, string>) => registrationAges(configFromObject(values));
  assert.deepEqual(ages({}), { staleAfterSeconds: 900, expireAfterSeconds: undefined });
  assert.deepEqual(ages({ registerinterval: '60' }), { staleAfterSeconds: 180, expireAfterSeconds: undefined });
  assert.deepEqual(ages({ registerinterval: '60', 'plugin.registration.stale_after': '50', 'plugin.registration.expire_after': '86400' }), { staleAfterSeconds: 50, expireAfterSeconds: 86400 });
});

test('a daemon collects only when it opts in or names a store', () => {
  const collects = (values: Record<string, string>) => collectorConfigured(configFromObject(values));
  assert.equal(collects({}), false);
  assert.equal(collects({ 'plugin.registration.postgresql.schema': 'x', 'plugin.registration.stale_after': '60' }), false, 'settings that name no store');
  assert.equal(collects({ 'plugin.registration.activate_agent': '1' }), true);
  assert.equal(collects({ 'plugin.registration.activate_agent': '0' }), false);
  for (const key of ['store', 'store_dir', 'sqlite.path', 'postgresql.url']) {
    const value = key === 'store' ? 'sqlite' : key === 'postgresql.url' ? 'postgresql://h/d' : '/x';
    assert.equal(collects({ [`plugin.registration.${key}`]: value }), true, key);
  }
});
