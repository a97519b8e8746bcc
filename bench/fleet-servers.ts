/**
 * A server process of the fleet bench (forked by fleet.ts): starts one daemon instance per node it is given,
 * each with its own configuration, key, connection and queues (startDaemon with an injected configuration), tells
 * its parent when all of them are subscribed, and stops them when told to.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configFromObject } from '../src/config/index.js';
import { startDaemon, type DaemonHandle } from '../src/daemon/index.js';
import { loadBuiltinPlugins } from '../src/runtime/builtin-plugins.js';
import { createLogger } from '../src/util/log.js';
import type { ServersMessage, ServersSpec } from './fleet-spec.js';

/** Daemons started (and stopped) at once: enough to overlap the broker round trips, few enough not to flood it. */
const CONCURRENCY = 16;

function send(message: ServersMessage): void {
  process.send?.(message);
}

/** Runs `work` on every item, `limit` at a time. */
async function each<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let index = next++; index < items.length; index = next++) await work(items[index]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

async function start(spec: ServersSpec): Promise<DaemonHandle[]> {
  const plugins = await loadBuiltinPlugins();
  if (plugins.failed.length > 0) throw new Error(`plugins failed to load: ${plugins.failed.join('; ')}`);
  mkdirSync(spec.stateDir, { recursive: true });
  const facts = join(spec.runDir, 'facts.yaml');
  writeFileSync(facts, 'role: fleet\n');
  writeFileSync(join(spec.runDir, 'classes.txt'), '');
  const logger = createLogger({ level: spec.loglevel, file: join(spec.runDir, `servers-${process.pid}.log`), name: 'fleet-servers' });
  const daemons: DaemonHandle[] = [];
  await each(spec.nodes, CONCURRENCY, async (node) => {
    const config = configFromObject({
      identity: node.name, collectives: spec.collective, main_collective: spec.collective, securityprovider: 'aes_security', ...spec.connector,
      'plugin.aes.server_private': node.privatePath, 'plugin.aes.server_public': node.publicPath, 'plugin.aes.client_cert_dir': spec.clientCertDir,
      'plugin.yaml': facts, classesfile: join(spec.runDir, 'classes.txt'), statedir: spec.stateDir, loglevel: spec.loglevel,
      registerinterval: 0,
    }, { source: `fleet ${node.name}` });
    daemons.push(await startDaemon(config, { logger }));
  });
  return daemons;
}

let daemons: DaemonHandle[] = [];
process.on('message', (message: { type: 'start'; spec: ServersSpec } | { type: 'stop' }) => {
  if (message.type === 'start') {
    start(message.spec).then(
      (started) => {
        daemons = started;
        send({ type: 'ready', started: started.length, rss_mb: Math.round(process.memoryUsage().rss / 2 ** 20) });
      },
      (error: unknown) => send({ type: 'error', message: (error as Error).stack ?? String(error) }),
    );
  } else {
    each(daemons, 64, (daemon) => daemon.stop()).then(
      // Exits once the parent has the message: the log destination would otherwise keep the process alive.
      () => process.send?.({ type: 'stopped' } satisfies ServersMessage, () => process.exit(0)),
      (error: unknown) => send({ type: 'error', message: `stopping: ${(error as Error).message}` }),
    );
  }
});
