/**
 * startDaemon: the programmatic tscollectived, composed of its parts: the security provider (role server) and
 * connector (src/runtime/plugins.ts), the hosted agents (AgentHost), the node view and pipeline host (host.ts),
 * the subscriptions (SubscriptionSet), the request pipeline (pipeline.ts), the lifecycle (serialized reload/stop,
 * in-flight work, soft shutdown), the rate-limited refusal log (LogLimiter), the registration publisher, on a
 * collecting daemon the registration store (RegistrationCollector), the log file (rotated by size, reopened by
 * reopenLogs()) and the optional Prometheus endpoint (src/metrics/). The CLI (src/cli/tscollectived.ts) is a thin
 * wrapper; tests and the demo run daemons in-process.
 */
import { readFileSync } from 'node:fs';
import { agentDirectories } from '../agent/loader.js';
import type { Agent } from '../agent/types.js';
import { ActionPolicyAuthorizer } from '../authz/actionpolicy.js';
import { AuditLog } from '../audit/logfile.js';
import { ConfigError } from '../errors.js';
import { NodeFactSource } from '../facts/index.js';
import type { ConfigView } from '../inter/config.js';
import type { Connector } from '../inter/connector.js';
import type { Counters, Logger } from '../inter/logger.js';
import type { SecurityProvider } from '../inter/security.js';
import { RegistrationCollector, STORE_AGENTS, collectorSettings } from '../registration/collector.js';
import { collectorConfigured } from '../registration/settings.js';
import { buildRuntimePlugins } from '../runtime/plugins.js';
import { MemoryCounters } from '../util/counters.js';
import { startMetricsServer, type MetricsServer } from '../metrics/index.js';
import { CapturingLogger, createLogger, openLog, type LogFile } from '../util/log.js';
import { LogLimiter } from '../util/log-limiter.js';
import { AgentHost } from './agent-host.js';
import { buildHost } from './host.js';
import { Lifecycle } from './lifecycle.js';
import { handleRequest } from './pipeline.js';
import { registrationPublisher } from './registration.js';
import { readDaemonSettings, type DaemonSettings } from './settings.js';
import type { DaemonStats } from './stats.js';
import { SubscriptionSet } from './subscriptions.js';

/** The version daemon_stats and inventory report (package.json's). */
export const DAEMON_VERSION: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
})();

/** Collaborators a caller may inject instead of having them built from the configuration. */
export interface DaemonOptions {
  logger?: Logger;
  counters?: Counters;
  /** A connector to use instead of `createConnector(config connector)`. */
  connector?: Connector;
  /** A security provider to use instead of `createSecurityProvider(securityprovider, role server)`. */
  provider?: SecurityProvider;
  /** Agent module directories; default: the built-in agents, then `<libdir>/agent` for each libdir. */
  agentDirs?: string[];
  /** Agents defined in-process (the demo, tests), hosted in addition to loaded ones (these win on a name clash). */
  agents?: Agent[];
  /** Injected clock in milliseconds for the security provider. */
  now?: () => number;
}

/** The outcome of a reload. */
export interface ReloadResult {
  agents: string[];
  /** Agent modules that failed to load (also logged). */
  problems: string[];
}

/** A running daemon. */
export interface DaemonHandle {
  readonly identity: string;
  readonly settings: DaemonSettings;
  readonly counters: Counters;
  /**
   * Stops taking requests, lets in-flight ones finish and reply (bounded by soft_shutdown_timeout
   * when set; each action is bounded by its agent's timeout regardless), then disconnects.
   */
  stop(): Promise<void>;
  /** SIGHUP: drops cached keys (provider.reload), re-reads facts, policies and agents, resubscribes. */
  reload(): Promise<ReloadResult>;
  stats(): DaemonStats;
  /** Names of the hosted agents. */
  agents(): string[];
  /** Requests currently being processed. */
  inFlight(): number;
  /** The Prometheus endpoint's URL (`plugin.prometheus.port`), undefined when it is off. */
  readonly metricsUrl: string | undefined;
  /** Reopens the log file after an outside rotation (SIGUSR2 from logrotate; reload() does it too). */
  reopenLogs(): void;
}

function build<T>(what: string, problems: string[], factory: () => T): T | undefined {
  try {
    return factory();
  } catch (error) {
    problems.push(`${what}: ${(error as Error).message}`);
    return undefined;
  }
}

/** What start-up builds before it touches the network, and every problem found doing so. */
function prepare(config: ConfigView, options: DaemonOptions) {
  const { settings, problems } = readDaemonSettings(config);
  const log = options.logger ? undefined : build('logfile', problems, () => openLog({ level: settings.loglevel, file: settings.logfile, rotation: settings.logRotation, name: 'tscollectived' }));
  const logFile: LogFile | undefined = log?.file;
  const logger = (options.logger ?? log?.logger ?? createLogger({ level: settings.loglevel, name: 'tscollectived' })).child({ identity: settings.identity });
  const counters = options.counters ?? new MemoryCounters();
  const { provider, connector } = buildRuntimePlugins({
    config, role: 'server', identity: settings.identity, securityProvider: settings.securityProvider, connector: settings.connector,
    logger, counters, ...(options.provider ? { provider: options.provider } : {}), ...(options.connector ? { connectorInstance: options.connector } : {}),
    ...(options.now ? { now: options.now } : {}),
  }, problems);
  const audit = settings.audit && settings.auditLogfile ? build('plugin.rpcaudit.logfile', problems, () => new AuditLog(settings.auditLogfile!, logger, counters, settings.auditMaxDataBytes)) : undefined;
  if (collectorConfigured(config)) problems.push(...collectorSettings(config).problems);
  return { settings, problems, logger, logFile, counters, provider, connector, audit };
}

/**
 * Every problem that would stop a daemon from starting with `config` (settings, provider.validate(),
 * connector.validate(), audit log), without connecting to anything. Used to report a configuration's
 * problems all at once, including when the file itself already had invalid values.
 */
export function validateDaemonConfig(config: ConfigView): string[] {
  return prepare(config, { logger: new CapturingLogger() }).problems;
}

/**
 * Starts a daemon. Throws ConfigError listing every problem (settings, provider.validate(),
 * connector.validate()) before touching the network; throws ConnectionError when the broker
 * cannot be reached.
 */
export async function startDaemon(config: ConfigView, options: DaemonOptions = {}): Promise<DaemonHandle> {
  const { settings, problems, logger, logFile, counters, provider, connector, audit } = prepare(config, options);
  if (problems.length > 0 || !provider || !connector) {
    void logFile?.close();
    throw new ConfigError(problems);
  }

  const facts = NodeFactSource.fromConfig(config, logger, counters);
  const authorizer = settings.authorization ? ActionPolicyAuthorizer.fromConfig(config, logger.child({ component: 'authz' })) : undefined;
  const lifecycle = new Lifecycle(logger);
  const agents = new AgentHost({
    config, activateAgents: settings.activateAgents, agentDirs: options.agentDirs ?? agentDirectories(settings.libdirs),
    extraAgents: options.agents ?? [], logger,
  });
  // Per-message refusal lines: a burst per kind and minute, then a summary; flushed on stop.
  const limiter = new LogLimiter(logger);
  let collector: RegistrationCollector | undefined;
  const { host, stats } = buildHost({
    config, settings, version: DAEMON_VERSION, logger, counters, limiter, provider, connector, facts, agents, authorizer, audit, lifecycle,
    registration: () => collector,
  });
  // The store is opened once an agent that uses it is hosted (at start-up, or by a reload that adds one).
  const openStoreIfNeeded = async (): Promise<void> => {
    if (!collector && STORE_AGENTS.some((name) => agents.get(name))) collector = await RegistrationCollector.open(config, { logger, counters });
  };
  const subscriptions = new SubscriptionSet({
    connector, identity: settings.identity, collectives: settings.collectives, logger,
    handler: (message) => lifecycle.track(handleRequest(host, message).catch((error: unknown) => {
      logger.error({ err: error }, `unexpected failure handling a request: ${(error as Error).message}`);
    })),
  });

  const publisher = registrationPublisher(settings, {
    provider, connector, logger, counters, limiter, agents: () => agents.names(), facts: () => facts.facts(), classes: () => facts.classes(),
  });
  await agents.load();
  let metrics: MetricsServer | undefined;
  try {
    if (settings.metrics) {
      metrics = await startMetricsServer({
        settings: settings.metrics, logger, counters, limiter,
        snapshot: () => ({
          counters: counters.snapshot(), identity: settings.identity, version: DAEMON_VERSION, starttime: stats().starttime,
          agents: agents.names().length, inFlight: lifecycle.inFlight,
        }),
      });
    }
    await openStoreIfNeeded();
    await connector.connect();
    await subscriptions.sync(agents.names());
    await publisher?.start();
  } catch (error) {
    await publisher?.stop();
    await connector.disconnect().catch(() => {});
    await metrics?.close();
    await collector?.close().catch(() => {});
    limiter.close();
    void logFile?.close();
    throw error;
  }
  logger.info({ agents: agents.names(), collectives: settings.collectives, connector: connector.name, securityprovider: provider.name }, 'tscollectived started');

  const stop = async (): Promise<void> => {
    await publisher?.stop();
    await subscriptions.clear();
    await lifecycle.drain(settings.softShutdownTimeout);
    await connector.disconnect();
    await metrics?.close();
    await collector?.close().catch((error: unknown) => logger.error({ err: error }, `closing the registration store failed: ${(error as Error).message}`));
    limiter.close();
    logger.info({}, 'tscollectived stopped');
    await logFile?.close();
  };
  const reopenLogs = (): void => {
    if (!logFile) return;
    logFile.reopen();
    logger.info({ logfile: logFile.path }, 'log file reopened');
  };
  const reload = async (): Promise<ReloadResult> => {
    if (lifecycle.isStopping) return { agents: agents.names(), problems: ['the daemon is stopping'] };
    reopenLogs();
    provider.reload();
    facts.invalidate();
    authorizer?.reload();
    const problems = await agents.load();
    await openStoreIfNeeded().catch((error: unknown) => {
      problems.push(`registration store: ${(error as Error).message}`);
      logger.error({ err: error }, `could not open the registration store: ${(error as Error).message}`);
    });
    await subscriptions.sync(agents.names());
    logger.info({ agents: agents.names(), problems: problems.length }, 'reloaded keys, facts, policies and agents');
    return { agents: agents.names(), problems };
  };

  return {
    identity: settings.identity,
    settings,
    counters,
    stop: () => lifecycle.stop(stop),
    reload: () => lifecycle.serially(reload),
    stats,
    agents: () => agents.names(),
    inFlight: () => lifecycle.inFlight,
    metricsUrl: metrics?.url,
    reopenLogs,
  };
}
