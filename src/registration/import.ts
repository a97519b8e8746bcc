/**
 * One-shot import of a `directory` store (one JSON file per node) into any registration store, for moving a
 * collector to sqlite or postgresql. Every record keeps its identity, signer, facts, classes, agents,
 * collectives and lastSeen; files from before signers were kept take senderProof `unknown`. Unreadable files and
 * records the target refuses are reported, never fatal, and never silently dropped.
 */
import type { RegistrationStore } from '../inter/registration.js';
import { RecordFiles } from './record-files.js';

/** What an import did. */
export interface ImportReport {
  /** Records written to the target. */
  imported: number;
  /** Files or records that could not be imported, each with its reason. */
  failed: Array<{ source: string; reason: string }>;
}

/**
 * Copies every record of the directory `dir` into `target`, with its own lastSeen (stale nodes stay stale),
 * firstSeen and registration count. A node the target already knows is updated like any registration. Rejects
 * only when `dir` cannot be read at all.
 */
export async function importDirectory(dir: string, target: RegistrationStore, options: { onRecord?: (identity: string) => void } = {}): Promise<ImportReport> {
  const report: ImportReport = { imported: 0, failed: [] };
  const files = RecordFiles.open(dir, { onCorrupt: (path, error) => report.failed.push({ source: path, reason: error.message }) });
  for (const record of files.list()) {
    try {
      await target.record({
        identity: record.identity,
        collective: record.collective,
        signer: record.signer,
        senderProof: record.senderProof,
        agents: record.agents,
        facts: record.facts,
        classes: record.classes,
        collectives: record.collectives,
        time: record.lastSeen,
        history: { firstSeen: record.firstSeen, registrations: record.registrations },
      });
      report.imported++;
      options.onRecord?.(record.identity);
    } catch (error) {
      report.failed.push({ source: record.identity, reason: (error as Error).message });
    }
  }
  return report;
}
