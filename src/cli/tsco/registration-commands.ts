/**
 * `tsco registration import DIR`: copies a `directory` registration store (one JSON file per node) into the store
 * the configuration names (`plugin.registration.store`, usually the collecting daemon's server.cfg given with
 * `--config`). Exit 0 when every record was imported, 2 when some were not (each is listed with its reason).
 */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { InvalidArgumentError } from '../../errors.js';
import { importDirectory } from '../../registration/import.js';
import { openConfiguredRegistrationStore } from '../../registration/stores/index.js';
import { loadClientConfig, type GlobalOptions } from './context.js';
import type { Streams } from './output.js';

/** `registration import DIR`: the import, with a summary on standard output and failures on standard error. */
export async function importCommand(dir: string, globals: GlobalOptions, streams: Streams): Promise<number> {
  const config = await loadClientConfig(globals, streams);
  const store = await openConfiguredRegistrationStore(config, {
    onError: (error) => streams.err(`tsco: warning: registration store connection: ${error.message}\n`),
  });
  try {
    if (store.backend === 'directory' && resolve(store.location) === resolve(dir)) {
      throw new InvalidArgumentError(`${dir}: is the configured store itself; set plugin.registration.store to sqlite or postgresql to import into a database`);
    }
    const report = await importDirectory(dir, store);
    streams.out(`imported ${report.imported} node(s) from ${dir} into the ${store.backend} store ${store.location}\n`);
    for (const failure of report.failed) streams.err(`tsco: not imported: ${failure.source}: ${failure.reason}\n`);
    if (report.failed.length > 0) streams.err(`tsco: ${report.failed.length} record(s) not imported\n`);
    return report.failed.length > 0 ? 2 : 0;
  } finally {
    await store.close();
  }
}

/** Adds `registration import` to the program. */
export function registerRegistrationCommands(program: Command, streams: Streams, run: (work: Promise<number>) => void): void {
  const globals = (): GlobalOptions => program.opts<GlobalOptions>();
  const registration = program.command('registration').description('manage the registration store of a collecting daemon');
  registration.command('import')
    .description('copy a directory store (one JSON file per node) into the configured plugin.registration.store')
    .argument('<dir>', 'the directory of <identity>.json records (the former plugin.registration.store_dir)')
    .action((dir: string) => run(importCommand(dir, globals(), streams)));
}
