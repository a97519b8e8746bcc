/**
 * The `sqlite` registration backend (the default): one embedded database file (better-sqlite3, WAL mode), tables
 * for nodes, facts (name, value and the numeric reading of the value), agents, classes and collectives, each
 * indexed by name, so filters run as indexed queries. A re-registration rewrites only what changed; registrations
 * arriving together are written in one transaction (group-commit.ts), which shares the index pages they dirty.
 */
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { FilterSyntaxError, InvalidArgumentError, RegistrationStoreError } from '../../errors.js';
import type {
  RegisteredIdentity, RegisteredNode, RegistrationPage, RegistrationPageRequest, RegistrationQuery, RegistrationStore, RegistrationUpdate, StaleAge,
} from '../../inter/registration.js';
import { planQuery } from '../query/plan.js';
import { buildWhere, type RowSource, type SqlDialect } from '../query/sql.js';
import { GroupCommit } from './group-commit.js';
import { checkIdentity, checkPage, factNumber, factsObject, normalizeUpdate, pageOf, recordOf, staleCutoff, type NormalizedUpdate } from './record.js';

/** The schema version this code writes (PRAGMA user_version). */
const SCHEMA_VERSION = 1;
/** The most registrations one transaction writes. */
const MAX_BATCH = 256;
const LISTS = ['agents', 'classes', 'collectives'] as const;
type ListTable = (typeof LISTS)[number];

const SCHEMA = `
CREATE TABLE IF NOT EXISTS nodes (
  id INTEGER PRIMARY KEY,
  identity TEXT NOT NULL UNIQUE,
  collective TEXT NOT NULL,
  signer TEXT NOT NULL,
  sender_proof TEXT NOT NULL,
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  registrations INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS nodes_last_seen ON nodes (last_seen);
CREATE TABLE IF NOT EXISTS facts (
  node_id INTEGER NOT NULL,
  name TEXT NOT NULL,
  value TEXT NOT NULL,
  num REAL,
  PRIMARY KEY (node_id, name)
) WITHOUT ROWID;
-- One index serves equality on value, numeric comparisons (within the fact's entries) and distinct values: each
-- more index on facts would add a page write per fact of every new node.
CREATE INDEX IF NOT EXISTS facts_name_value ON facts (name, value, num);
${LISTS.map((table) => `
CREATE TABLE IF NOT EXISTS ${table} (node_id INTEGER NOT NULL, name TEXT NOT NULL, PRIMARY KEY (node_id, name)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ${table}_name ON ${table} (name);`).join('')}
`;

const SET_DIALECT: SqlDialect = {
  style: 'set',
  placeholder: () => '?',
  idSet: (placeholder) => `SELECT value AS id FROM json_each(${placeholder})`,
  number: (placeholder) => placeholder,
  inList: (column, placeholder) => `${column} IN (SELECT value FROM json_each(${placeholder}))`,
  list: (values) => JSON.stringify(values),
  valueIs: (placeholder, _values, list) => (list ? `value IN (SELECT value FROM json_each(${placeholder}))` : `value = ${placeholder}`),
  table: (name) => name,
};

interface NodeRow { id: number; identity: string; collective: string; signer: string; sender_proof: string; first_seen: number; last_seen: number; registrations: number }

const PREDICATE_DIALECT: SqlDialect = { ...SET_DIALECT, style: 'predicate' };

/** Options of the sqlite backend. */
export interface SqliteStoreOptions {
  /** The database file; its directory is created (mode 0700) when missing, the file is created mode 0600. */
  path: string;
  /**
   * How filter conditions are combined: `set` (INTERSECT/UNION/EXCEPT, the default: about twice as fast here)
   * or `predicate` (IN/AND/OR/NOT, PostgreSQL's form). Both select the same nodes; the tests run both.
   */
  combine?: 'set' | 'predicate';
  /** Refuse to create the database: it must exist (a reader, such as the local `--dm registration` path). */
  existing?: boolean;
}

/** The `sqlite` backend. Open it with openSqliteStore. */
export class SqliteRegistrationStore implements RegistrationStore {
  readonly backend = 'sqlite';
  private readonly statements;
  private readonly rows: RowSource;
  private readonly writes: GroupCommit;

  private constructor(private readonly db: Database.Database, readonly location: string, private readonly dialect: SqlDialect) {
    const prepare = (sql: string): Database.Statement => db.prepare(sql);
    const lists = (build: (table: ListTable) => string): Record<ListTable, Database.Statement> =>
      Object.fromEntries(LISTS.map((table) => [table, prepare(build(table))])) as Record<ListTable, Database.Statement>;
    this.statements = {
      node: prepare('SELECT * FROM nodes WHERE identity = ?'),
      insertNode: prepare('INSERT INTO nodes (identity, collective, signer, sender_proof, first_seen, last_seen, registrations) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      updateNode: prepare('UPDATE nodes SET collective = ?, signer = ?, sender_proof = ?, last_seen = ?, registrations = registrations + 1 WHERE id = ?'),
      deleteNode: prepare('DELETE FROM nodes WHERE id = ?'),
      facts: prepare('SELECT name, value FROM facts WHERE node_id = ?').raw(),
      insertFact: prepare('INSERT INTO facts (node_id, name, value, num) VALUES (?, ?, ?, ?)'),
      updateFact: prepare('UPDATE facts SET value = ?, num = ? WHERE node_id = ? AND name = ?'),
      deleteFact: prepare('DELETE FROM facts WHERE node_id = ? AND name = ?'),
      deleteFacts: prepare('DELETE FROM facts WHERE node_id = ?'),
      list: lists((table) => `SELECT name FROM ${table} WHERE node_id = ? ORDER BY name`),
      insertMember: lists((table) => `INSERT INTO ${table} (node_id, name) VALUES (?, ?)`),
      deleteMember: lists((table) => `DELETE FROM ${table} WHERE node_id = ? AND name = ?`),
      deleteMembers: lists((table) => `DELETE FROM ${table} WHERE node_id = ?`),
      stale: prepare('SELECT id, identity FROM nodes WHERE last_seen < ? ORDER BY identity'),
      factValues: prepare('SELECT DISTINCT value FROM facts WHERE name = ?'),
      nonNumericFactValues: prepare('SELECT DISTINCT value FROM facts WHERE name = ? AND num IS NULL'),
      memberNames: lists((table) => `SELECT DISTINCT name FROM ${table}`),
      identities: prepare('SELECT id, identity FROM nodes'),
    };
    for (const table of LISTS) this.statements.list[table].pluck();
    for (const table of LISTS) this.statements.memberNames[table].pluck();
    this.statements.factValues.pluck();
    this.statements.nonNumericFactValues.pluck();
    const s = this.statements;
    this.rows = {
      factValues: async (fact, nonNumericOnly) => (nonNumericOnly ? s.nonNumericFactValues : s.factValues).all(fact) as string[],
      memberNames: async (set) => s.memberNames[set].all() as string[],
      identities: async () => s.identities.all() as Array<{ id: number; identity: string }>,
    };
    this.writes = new GroupCommit((updates) => this.db.transaction(() => updates.map((update) => this.write(update)))(), { maxBatch: MAX_BATCH, repeatsAllowed: true });
  }

  /** Opens (creating when missing) the database at `options.path`. Throws RegistrationStoreError. */
  static open(options: SqliteStoreOptions): SqliteRegistrationStore {
    const { path } = options;
    if (typeof path !== 'string' || path === '') throw new InvalidArgumentError('sqlite store: expected a database file path');
    let db: Database.Database | undefined;
    try {
      const created = !existsSync(path);
      if (created && options.existing) throw new Error('there is no database at this path');
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      db = new Database(path, { timeout: 5000 });
      if (created) chmodSync(path, 0o600);
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal') throw new Error(`the file system does not allow WAL mode (journal_mode is ${String(mode)})`);
      // A crash may lose the last registrations (they are repeated every interval), never consistency.
      db.pragma('synchronous = NORMAL');
      // A new node dirties a page of the fact index per fact: checkpoint (copy back and fsync) every ~40 MB of
      // WAL rather than every 4 MB, keep the hot index pages in a 32 MB cache, and truncate the WAL after.
      db.pragma('wal_autocheckpoint = 10000');
      db.pragma('journal_size_limit = 67108864');
      db.pragma('cache_size = -32768');
      const version = db.pragma('user_version', { simple: true }) as number;
      if (version > SCHEMA_VERSION) throw new Error(`it was written by a newer tscollective (schema version ${version}, this one knows ${SCHEMA_VERSION})`);
      db.exec(SCHEMA);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
      // Planner statistics for a long-lived connection (SQLite's advice): analyses the tables that need it.
      db.pragma('optimize = 0x10002');
      return new SqliteRegistrationStore(db, path, options.combine === 'predicate' ? PREDICATE_DIALECT : SET_DIALECT);
    } catch (error) {
      db?.close();
      throw new RegistrationStoreError(`cannot open the registration database ${path}: ${(error as Error).message}`, { cause: error });
    }
  }

  private async run<T>(what: string, work: () => T | Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof InvalidArgumentError || error instanceof FilterSyntaxError || error instanceof RegistrationStoreError) throw error;
      throw new RegistrationStoreError(`registration database ${this.location}: cannot ${what}: ${(error as Error).message}`, { cause: error });
    }
  }

  record(update: RegistrationUpdate): Promise<RegisteredNode> {
    return this.run('record a registration', () => this.writes.submit(normalizeUpdate(update)));
  }

  private write(update: NormalizedUpdate): RegisteredNode {
    const s = this.statements;
    const existing = s.node.get(update.identity) as NodeRow | undefined;
    if (!existing) {
      const id = Number(s.insertNode.run(update.identity, update.collective, update.signer, update.senderProof, update.firstSeen, update.time, update.registrations).lastInsertRowid);
      for (const [name, value] of update.facts) s.insertFact.run(id, name, value, factNumber(value));
      for (const table of LISTS) for (const name of update[table]) s.insertMember[table].run(id, name);
      return recordOf(update, update.firstSeen, update.registrations);
    }
    const id = existing.id;
    s.updateNode.run(update.collective, update.signer, update.senderProof, update.time, id);
    const old = new Map(s.facts.all(id) as Array<[string, string]>);
    for (const [name, value] of update.facts) {
      const previous = old.get(name);
      if (previous === undefined) s.insertFact.run(id, name, value, factNumber(value));
      else if (previous !== value) s.updateFact.run(value, factNumber(value), id, name);
      old.delete(name);
    }
    for (const name of old.keys()) s.deleteFact.run(id, name);
    for (const table of LISTS) {
      const members = new Set(s.list[table].all(id) as string[]);
      for (const name of update[table]) if (!members.delete(name)) s.insertMember[table].run(id, name);
      for (const name of members) s.deleteMember[table].run(id, name);
    }
    return recordOf(update, existing.first_seen, existing.registrations + 1);
  }

  get(identity: string): Promise<RegisteredNode | undefined> {
    return this.run('read a node', () => {
      const s = this.statements;
      const row = s.node.get(checkIdentity(identity)) as NodeRow | undefined;
      if (!row) return undefined;
      return {
        identity: row.identity,
        collective: row.collective,
        signer: row.signer,
        senderProof: row.sender_proof,
        agents: s.list.agents.all(row.id) as string[],
        facts: factsObject(s.facts.all(row.id) as Array<[string, string]>),
        classes: s.list.classes.all(row.id) as string[],
        collectives: s.list.collectives.all(row.id) as string[],
        firstSeen: row.first_seen,
        lastSeen: row.last_seen,
        registrations: row.registrations,
      };
    });
  }

  private async select(columns: string, query: RegistrationQuery, order: string): Promise<Database.Statement> {
    const { scope, condition } = planQuery(query);
    const where = await buildWhere(scope, condition, this.dialect, this.rows);
    return this.db.prepare(`SELECT ${columns} FROM nodes n WHERE ${where.sql}${order}`).bind(...where.params);
  }

  query(query: RegistrationQuery = {}): Promise<string[]> {
    return this.run('query nodes', async () => (await this.select('n.identity', query, ' ORDER BY n.identity')).pluck().all() as string[]);
  }

  find(query: RegistrationQuery = {}, page?: RegistrationPageRequest): Promise<RegistrationPage> {
    return this.run('find nodes', async () => {
      const { after, limit } = checkPage(page);
      const { scope, condition } = planQuery(query);
      const where = await buildWhere(scope, condition, this.dialect, this.rows);
      const from = after === undefined ? '' : ' AND n.identity > ?';
      const rows = this.db.prepare(`SELECT n.identity, n.signer, n.sender_proof AS senderProof, n.last_seen AS lastSeen FROM nodes n WHERE ${where.sql}${from} ORDER BY n.identity LIMIT ?`)
        .all(...where.params, ...(after === undefined ? [] : [after]), limit + 1) as RegisteredIdentity[];
      return pageOf(rows, limit);
    });
  }

  count(query: RegistrationQuery = {}): Promise<number> {
    return this.run('count nodes', async () => (await this.select('count(*)', query, '')).pluck().get() as number);
  }

  stale(age: StaleAge): Promise<string[]> {
    return this.run('list stale nodes', () => (this.statements.stale.all(staleCutoff(age)) as Array<{ identity: string }>).map((row) => row.identity));
  }

  expire(age: StaleAge): Promise<string[]> {
    return this.run('expire stale nodes', () => {
      const cutoff = staleCutoff(age);
      return this.db.transaction(() => {
        const rows = this.statements.stale.all(cutoff) as Array<{ id: number; identity: string }>;
        for (const row of rows) this.forget(row.id);
        return rows.map((row) => row.identity);
      })();
    });
  }

  private forget(id: number): void {
    const s = this.statements;
    s.deleteFacts.run(id);
    for (const table of LISTS) s.deleteMembers[table].run(id);
    s.deleteNode.run(id);
  }

  remove(identity: string): Promise<boolean> {
    return this.run('remove a node', () => {
      const name = checkIdentity(identity);
      return this.db.transaction(() => {
        const row = this.statements.node.get(name) as NodeRow | undefined;
        if (row) this.forget(row.id);
        return row !== undefined;
      })();
    });
  }

  async close(): Promise<void> {
    await this.writes.idle();
    if (!this.db.open) return;
    try {
      this.db.pragma('optimize');
    } finally {
      this.db.close();
    }
  }
}
