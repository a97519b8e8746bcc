/**
 * The `directory` registration backend: today's one-JSON-file-per-node store (src/registration/store.ts) behind
 * the RegistrationStore interface (RecordFiles, src/registration/record-files.ts). Queries read every record and evaluate the filter with the daemon's own
 * matcher (src/filter/match.ts); fine for small setups, linear in the number of nodes.
 */
import { existsSync } from 'node:fs';
import { RegistrationStoreError } from '../../errors.js';
import { compileFilter } from '../../filter/match.js';
import type {
  RegisteredNode, RegistrationPage, RegistrationPageRequest, RegistrationQuery, RegistrationStore, RegistrationUpdate, StaleAge,
} from '../../inter/registration.js';
import type { RequestFilter } from '../../inter/message.js';
import { planQuery } from '../query/plan.js';
import { RecordFiles, type NodeRecord } from '../record-files.js';
import { checkPage, pageOf, staleCutoff } from './record.js';

/** Options of the directory backend. */
export interface DirectoryStoreOptions {
  /** The directory of record files; created mode 0700 when missing. */
  dir: string;
  /** Hears about unreadable record files (they are skipped). */
  onCorrupt?: (path: string, error: Error) => void;
  /** Refuse to create the directory: it must exist (a reader). */
  existing?: boolean;
}

function withoutCallerid(record: NodeRecord): RegisteredNode {
  const { callerid: _callerid, ...node } = record;
  return node;
}

/** The `directory` backend. */
export class DirectoryRegistrationStore implements RegistrationStore {
  readonly backend = 'directory';
  readonly location: string;

  private constructor(private readonly files: RecordFiles) {
    this.location = files.dir;
  }

  /** Opens (creating) the directory; throws RegistrationStoreError. */
  static open(options: DirectoryStoreOptions): DirectoryRegistrationStore {
    if (options.existing && !existsSync(options.dir)) throw new RegistrationStoreError(`cannot open the registration store ${options.dir}: there is no such directory`);
    return new DirectoryRegistrationStore(RecordFiles.open(options.dir, options.onCorrupt ? { onCorrupt: options.onCorrupt } : {}));
  }

  async record(update: RegistrationUpdate): Promise<RegisteredNode> {
    return withoutCallerid(this.files.record(update));
  }

  async get(identity: string): Promise<RegisteredNode | undefined> {
    const record = this.files.get(identity);
    return record && withoutCallerid(record);
  }

  /** Every record, by identity (file names sort differently: `a-b.json` comes before `a.json`). */
  private list(): NodeRecord[] {
    return this.files.list().sort((a, b) => (a.identity < b.identity ? -1 : a.identity > b.identity ? 1 : 0));
  }

  private select(query: RegistrationQuery): NodeRecord[] {
    const { scope } = planQuery(query);
    const matches = query.filter ? compileFilter(query.filter as RequestFilter) : () => true;
    return this.list().filter((record) =>
      (scope.seenSince === undefined || record.lastSeen >= scope.seenSince) &&
      (scope.collective === undefined || record.collectives.includes(scope.collective)) &&
      matches(record));
  }

  async query(query: RegistrationQuery = {}): Promise<string[]> {
    return this.select(query).map((record) => record.identity);
  }

  async find(query: RegistrationQuery = {}, page?: RegistrationPageRequest): Promise<RegistrationPage> {
    const { after, limit } = checkPage(page);
    const selected = this.select(query).filter((record) => after === undefined || record.identity > after);
    return pageOf(selected.slice(0, limit + 1).map(({ identity, signer, senderProof, lastSeen }) => ({ identity, signer, senderProof, lastSeen })), limit);
  }

  async count(query: RegistrationQuery = {}): Promise<number> {
    return this.select(query).length;
  }

  async stale(age: StaleAge): Promise<string[]> {
    const cutoff = staleCutoff(age);
    return this.list().filter((record) => record.lastSeen < cutoff).map((record) => record.identity);
  }

  async expire(age: StaleAge): Promise<string[]> {
    const stale = await this.stale(age);
    for (const identity of stale) this.files.remove(identity);
    return stale;
  }

  async remove(identity: string): Promise<boolean> {
    return this.files.remove(identity);
  }

  async close(): Promise<void> {}
}
