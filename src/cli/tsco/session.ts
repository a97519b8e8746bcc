/**
 * What the network commands share: a connected client built from the configuration (closed afterwards), the
 * discovery source the options ask for (`--nodes FILE`, `--nodes -` for standard input, `--dm`), and the run of
 * one RPC call with the discovery line and progress bar on a terminal.
 */
import {
  FlatFileDiscoverer, NODE_LIST_MAX_BYTES, RegistrationDiscoverer, RegistrationQueryDiscoverer, connectClient,
  type ClientSession, type Discoverer, type RpcCallOptions, type RpcReply, type RpcResult,
} from '../../client/index.js';
import { ConfigError, InvalidArgumentError } from '../../errors.js';
import type { ConfigView } from '../../inter/config.js';
import { readClientSettings } from '../../client/settings.js';
import { registrationAges, storeConfigured } from '../../registration/settings.js';
import { loadClientConfig, type GlobalOptions } from './context.js';
import { clientLogger } from './log.js';
import type { CommonOptions } from './options.js';
import { OutputFile, type Streams } from './output.js';
import { progress } from './terminal.js';

/**
 * Runs `body` with a connected client built from the configuration, closing it afterwards. Connecting gives up
 * within the connector's connect_timeout, or `-t` seconds when that is shorter (BrokerUnavailableError).
 */
export async function withClient(
  globals: GlobalOptions, streams: Streams, options: Pick<CommonOptions, 'timeout'>, body: (session: ClientSession, config: ConfigView) => Promise<number>,
): Promise<number> {
  const config = await loadClientConfig(globals, streams);
  const logger = clientLogger(readClientSettings(config).settings, Boolean(globals.logJson), streams.err);
  const session = await connectClient(config, { logger, ...(options.timeout !== undefined ? { connectBudgetMs: options.timeout * 1000 } : {}) });
  try {
    return await body(session, config);
  } finally {
    await session.close();
  }
}

/**
 * The discoverer the options and configuration ask for: `--nodes FILE` (flatfile: one identity per line, or the
 * JSON `tsco discover --json` prints; `-` reads it from standard input), `--dm registration` (the store the
 * configuration names — plugin.registration.store, store_dir, sqlite.path or postgresql.url: the fast path — else
 * the collectors over the network, `registration_query#find` through `session`'s client), or broadcast (`mc`,
 * undefined).
 */
export function discovererFor(
  options: CommonOptions, config: ConfigView, streams: Streams, session?: Pick<ClientSession, 'client' | 'logger'>,
): Discoverer | undefined {
  const method = options.dm ?? (options.nodes ? 'flatfile' : config.raw('default_discovery_method') ?? 'mc');
  switch (method) {
    case 'mc':
      if (options.nodes) throw new InvalidArgumentError('--nodes: conflicts with --dm mc');
      return undefined;
    case 'flatfile': {
      if (!options.nodes) throw new InvalidArgumentError('--dm flatfile: give the node list with --nodes FILE (or - for standard input)');
      if (options.nodes !== '-') return new FlatFileDiscoverer(options.nodes);
      const read = streams.readStdin;
      if (!read) throw new InvalidArgumentError('--nodes -: standard input cannot be read here');
      // Read once: fetching a description and the call itself may both discover.
      let text: Promise<string> | undefined;
      return new FlatFileDiscoverer('standard input', () => (text ??= read(NODE_LIST_MAX_BYTES)));
    }
    case 'registration': {
      if (storeConfigured(config)) {
        const problems: string[] = [];
        const { staleAfterSeconds } = registrationAges(config, problems);
        if (problems.length > 0) throw new ConfigError(problems);
        // The store's client library (better-sqlite3, pg) loads only when this path is taken.
        const open = async () => (await import('../../registration/stores/index.js')).openConfiguredRegistrationStore(config, {
          existing: true, onError: (error) => session?.logger.warn({ err: error }, `registration store connection: ${error.message}`),
        });
        return new RegistrationDiscoverer(open, { staleAfterSeconds });
      }
      if (!session) throw new InvalidArgumentError('--dm registration: discovery over the network needs a connected client');
      return new RegistrationQueryDiscoverer(session.client, { logger: session.logger });
    }
    default:
      throw new InvalidArgumentError(`discovery method ${JSON.stringify(method)}: expected mc, flatfile or registration`);
  }
}

/**
 * Runs one call with the discovery line and progress bar on a terminal (unless `--np`); `show` prints a reply as
 * it arrives (the bar is cleared first and redrawn after). Resolves to the call's result.
 */
export async function callWithProgress(
  client: ClientSession['client'], agent: string, action: string, data: Record<string, unknown>,
  call: RpcCallOptions, options: Pick<CommonOptions, 'progress'>, streams: Streams, show?: (reply: RpcReply) => void,
): Promise<RpcResult> {
  const meter = progress(streams, options.progress !== false);
  try {
    return await client.call(agent, action, data, {
      ...call,
      onDiscovery: (event) => meter.discovery(event),
      onReply: (reply, p) => {
        if (show) {
          meter.clear();
          show(reply);
        }
        meter.update(p.received, p.expected);
      },
    });
  } finally {
    meter.done();
  }
}

/** Runs `body` with the `-o/--output-file` file (opened first, so a bad path fails before anything is sent), closing it afterwards. */
export async function withOutputFile<T>(options: Pick<CommonOptions, 'outputFile'>, body: (file: OutputFile | undefined) => Promise<T>): Promise<T> {
  const file = OutputFile.open(options.outputFile);
  try {
    return await body(file);
  } finally {
    file?.close();
  }
}

/** Replies sorted by sender (`--sort`), ties in arrival order. */
export function sortBySender(items: readonly RpcReply[]): RpcReply[] {
  return [...items].sort((a, b) => (a.sender < b.sender ? -1 : a.sender > b.sender ? 1 : 0));
}
