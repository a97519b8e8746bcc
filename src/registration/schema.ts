/** The `plugin.registration.*` keys: whether a daemon collects registrations, where it keeps them, and for how long. */
import type { ConfigSchema } from '../inter/config.js';

/** The registration store backends, as `plugin.registration.store` spells them. */
export const REGISTRATION_BACKENDS = ['sqlite', 'postgresql', 'directory'] as const;

/** The schema PostgreSQL tables go to unless `plugin.registration.postgresql.schema` says otherwise. */
export const DEFAULT_POSTGRESQL_SCHEMA = 'tscollective_registration';

/** The file name of the sqlite store under `statedir` unless `plugin.registration.sqlite.path` says otherwise. */
export const DEFAULT_SQLITE_FILE = 'registration.sqlite';

/** Declaration of every `plugin.registration.` key, registered with the configuration loader. */
export const registrationConfigSchema: ConfigSchema = {
  namespace: 'registration',
  keys: {
    store: {
      type: 'enum', values: REGISTRATION_BACKENDS,
      doc: 'Where registrations are kept: sqlite (the default; directory when only store_dir is set), postgresql (one store for several collectors) or directory (one JSON file per node).',
    },
    store_dir: { type: 'path', doc: 'The directory of one JSON file per node, for store = directory.' },
    'sqlite.path': { type: 'path', doc: `The database file of store = sqlite; default <statedir>/${DEFAULT_SQLITE_FILE}.` },
    'postgresql.url': { type: 'string', doc: 'postgresql://user@host:port/database for store = postgresql; logs and errors show it without its password.' },
    'postgresql.schema': { type: 'string', default: DEFAULT_POSTGRESQL_SCHEMA, doc: 'The PostgreSQL schema holding the tables of store = postgresql; created when missing.' },
    activate_agent: {
      type: 'boolean',
      doc: 'Whether this daemon collects registrations: 1 hosts the registration and registration_query agents (with the default sqlite store); unset, a daemon collects only when it names a store (store, store_dir, sqlite.path or postgresql.url); 0 never hosts the registration agent (a store named keeps registration_query).',
    },
    stale_after: {
      type: 'integer', min: 1,
      doc: 'Seconds after its last registration a node is stale: registration_query#find and the local --dm registration path leave it out. Default: 3 x registerinterval, or 900 when registerinterval is 0.',
    },
    expire_after: {
      type: 'integer', min: 1,
      doc: 'Seconds after its last registration a collector removes a node from the store (checked every expire_after / 4, at least every second and at most every 5 minutes); unset: never.',
    },
  },
};
