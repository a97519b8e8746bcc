/**
 * The statement the postgresql backend records registrations with: a batch of nodes (group commit) in one
 * statement and one round trip. Each node is upserted (in identity order, so collectors sharing the store lock
 * nodes in the same order); only facts and names that changed are written, and a fact that did not change is
 * neither rewritten nor locked (a lock alone would dirty its page).
 */
import type { RegisteredNode } from '../../inter/registration.js';
import { factNumber, recordOf, type NormalizedUpdate } from './record.js';

const LISTS = ['agents', 'classes', 'collectives'] as const;

/** The parameters of the list tables: for each, $n the node's position in the batch, $n+1 the name. */
const LIST_PARAMS: Record<(typeof LISTS)[number], number> = { agents: 12, classes: 14, collectives: 16 };

/**
 * The statement: $1..$7 one entry per node (identity, collective, signer, proof, lastSeen, and firstSeen and
 * count of a node not yet known), $8..$11 one entry per fact (the node's 1-based position in the batch, name,
 * value, number), then position and name for agents, classes and collectives.
 *
 * Its plan is made once per connection (generic plans), possibly while the tables are still empty, so it is
 * written to have one sensible plan whatever the statistics say: node ids are looked up by position in an array
 * (no join between the batch's rows), the batch's existing rows are read once through `node_id = ANY(ids)` (the
 * primary key, never a scan of a table), and both what changed and what a node no longer has are found by
 * hashed `NOT IN` lookups between those rows and the batch's.
 */
export function recordBatchStatement(schema: string): string {
  const t = (name: string): string => `"${schema}".${name}`;
  const ids = '(SELECT ids FROM idmap)';
  // A scalar: `= ANY(ids)` would otherwise read the subquery as a set of rows.
  const idArray = `${ids}::bigint[]`;
  const lists = LISTS.map((table) => {
    const ord = LIST_PARAMS[table];
    return `${table}_rows AS (SELECT ${ids}[v.ord] AS node_id, v.name FROM unnest($${ord}::int[], $${ord + 1}::text[]) AS v(ord, name)),
    gone_${table} AS (DELETE FROM ${t(table)} x WHERE x.node_id = ANY(${idArray}) AND (x.node_id, x.name) NOT IN (SELECT node_id, name FROM ${table}_rows)),
    new_${table} AS (INSERT INTO ${t(table)} (node_id, name) SELECT node_id, name FROM ${table}_rows
      WHERE (node_id, name) NOT IN (SELECT node_id, name FROM ${t(table)} WHERE node_id = ANY(${idArray})) ON CONFLICT DO NOTHING)`;
  });
  return `WITH input AS (
      SELECT i.identity, i.collective, i.signer, i.sender_proof, i.last_seen, i.first_seen, i.registrations, i.ord::int AS ord
      FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::int[])
        WITH ORDINALITY AS i(identity, collective, signer, sender_proof, last_seen, first_seen, registrations, ord)),
    node AS (
      INSERT INTO ${t('nodes')} AS n (identity, collective, signer, sender_proof, first_seen, last_seen, registrations)
      SELECT identity, collective, signer, sender_proof, first_seen, last_seen, registrations FROM input ORDER BY identity COLLATE "C"
      ON CONFLICT (identity) DO UPDATE SET collective = EXCLUDED.collective, signer = EXCLUDED.signer,
        sender_proof = EXCLUDED.sender_proof, last_seen = EXCLUDED.last_seen, registrations = n.registrations + 1
      RETURNING id, identity, first_seen, registrations),
    idmap AS (SELECT array_agg(node.id ORDER BY input.ord) AS ids FROM node JOIN input USING (identity)),
    fact_rows AS (SELECT ${ids}[v.ord] AS node_id, v.name, v.value, v.num FROM unnest($8::int[], $9::text[], $10::text[], $11::float8[]) AS v(ord, name, value, num)),
    gone_facts AS (DELETE FROM ${t('facts')} f WHERE f.node_id = ANY(${idArray}) AND (f.node_id, f.name) NOT IN (SELECT node_id, name FROM fact_rows)),
    new_facts AS (
      INSERT INTO ${t('facts')} AS f (node_id, name, value, num) SELECT r.node_id, r.name, r.value, r.num FROM fact_rows r
      WHERE (r.node_id, r.name, r.value) NOT IN (SELECT node_id, name, value FROM ${t('facts')} WHERE node_id = ANY(${idArray}))
      ON CONFLICT (node_id, name) DO UPDATE SET value = EXCLUDED.value, num = EXCLUDED.num WHERE f.value IS DISTINCT FROM EXCLUDED.value),
    ${lists.join(',\n    ')}
    SELECT identity, first_seen, registrations FROM node`;
}

/** The parameters of recordBatchStatement for `updates` (distinct identities). */
export function recordBatchParams(updates: readonly NormalizedUpdate[]): unknown[] {
  const column = <T>(read: (update: NormalizedUpdate) => T): T[] => updates.map(read);
  const factOrd: number[] = [];
  const factName: string[] = [];
  const factValue: string[] = [];
  const factNum: Array<number | null> = [];
  const lists = Object.fromEntries(LISTS.map((table) => [table, { ord: [] as number[], name: [] as string[] }])) as Record<(typeof LISTS)[number], { ord: number[]; name: string[] }>;
  updates.forEach((update, index) => {
    for (const [name, value] of update.facts) {
      factOrd.push(index + 1);
      factName.push(name);
      factValue.push(value);
      factNum.push(factNumber(value));
    }
    for (const table of LISTS) {
      for (const name of update[table]) {
        lists[table].ord.push(index + 1);
        lists[table].name.push(name);
      }
    }
  });
  return [
    column((u) => u.identity), column((u) => u.collective), column((u) => u.signer), column((u) => u.senderProof),
    column((u) => u.time), column((u) => u.firstSeen), column((u) => u.registrations),
    factOrd, factName, factValue, factNum,
    ...LISTS.flatMap((table) => [lists[table].ord, lists[table].name]),
  ];
}

/** The stored records of a batch, in the order of `updates`, from the statement's rows. */
export function recordBatchResult(updates: readonly NormalizedUpdate[], rows: ReadonlyArray<{ identity: string; first_seen: string; registrations: number }>): RegisteredNode[] {
  const byIdentity = new Map(rows.map((row) => [row.identity, row]));
  return updates.map((update) => {
    const row = byIdentity.get(update.identity);
    if (!row) throw new Error(`the database returned no row for ${update.identity}`);
    return recordOf(update, Number(row.first_seen), row.registrations);
  });
}
