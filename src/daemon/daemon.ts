/**
 * startDaemon: the programmatic tscollectived. Builds the security provider (role server) and
 * the connector from the configuration (or takes injected ones), loads and activates agents,
 * subscribes to each hosted agent's broadcast destination in every collective plus this node's
 * directed destination, runs the request pipeline, and sends registrations.
 * The CLI (src/cli/tscollectived.ts) is a thin wrapper; tests and the demo run daemons in-process.
 */
import { readFileSync } from 'node:fs';
import { agentDirectories, loadAgents } from '../agent/loader.js';
import type { Agent, AgentSummary, NodeView } from '../agent/types.js';
import { ActionPolicyAuthorizer } from '../authz/actionpolicy.js';
import { AuditLog } from '../audit/logfile.js';
import { ConfigError } from '../errors.js';
import { NodeFactSource } from '../facts/index.js';
import type { NodeFacts } from '../filter/match.js';
import type { ConfigView } from '../inter/config.js';
import type { Connector, InboundMessage, Subscription } from '../inter/connector.js';
import type { Counters, Logger } from '../inter/logger.js';
import type { SecurityProvider } from '../inter/security.js';
import { RegistrationPublisher } from '../registration/publisher.js';
import { MemoryCounters } from '../util/counters.js';
import { CapturingLogger, createLogger } from '../util/log.js';
import { buildRuntimePlugins } from '../runtime/plugins.js';
import { handleRequest, type HostedAgent, type PipelineHost } from './pipeline.js';
import { pluginSettings, readDaemonSettings, type DaemonSettings } from './settings.js';
import { buildStats, type DaemonStats } from './stats.js';

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
  const logger = (options.logger ?? createLogger({ level: settings.loglevel, file: settings.logfile, name: 'tscollectived' })).child({ identity: settings.identity });
  const counters = options.counters ?? new MemoryCounters();
  const { provider, connector } = buildRuntimePlugins({
    config, role: 'server', identity: settings.identity, securityProvider: settings.securityProvider, connector: settings.connector,
    logger, counters, ...(options.provider ? { provider: options.provider } : {}), ...(options.connector ? { connectorInstance: options.connector } : {}),
    ...(options.now ? { now: options.now } : {}),
  }, problems);
  const audit = settings.audit && settings.auditLogfile ? build('plugin.rpcaudit.logfile', problems, () => new AuditLog(settings.auditLogfile!, logger, counters)) : undefined;
  return { settings, problems, logger, counters, provider, connector, audit };
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
  const { settings, problems, logger, counters, provider, connector, audit } = prepare(config, options);
  if (problems.length > 0 || !provider || !connector) throw new ConfigError(problems);

  const facts = NodeFactSource.fromConfig(config, logger, counters);
  const authorizer = settings.authorization ? ActionPolicyAuthorizer.fromConfig(config, logger.child({ component: 'authz' })) : undefined;
  const agentDirs = options.agentDirs ?? agentDirectories(settings.libdirs);
  const starttime = Math.floor(Date.now() / 1000);
  const shutdown = new AbortController();
  const inflight = new Set<Promise<void>>();
  const subscriptions = new Map<string, Subscription>();
  let hosted = new Map<string, HostedAgent>();
  let stopping: Promise<void> | undefined;

  const activate = (agent: Agent): HostedAgent | undefined => {
    const agentConfig = pluginSettings(config, agent.name);
    const explicit = agentConfig['activate_agent'];
    const enabled = explicit === undefined ? settings.activateAgents : /^(1|true|yes|y|on)$/i.test(explicit.trim());
    if (!enabled) return undefined;
    try {
      if (agent.activate && !agent.activate(agentConfig, config)) return undefined;
    } catch (error) {
      logger.error({ err: error, agent: agent.name }, `agent ${agent.name} failed its activation check; not hosted`);
      return undefined;
    }
    return { agent, config: agentConfig };
  };

  const loadHosted = async (): Promise<{ agents: Map<string, HostedAgent>; problems: string[] }> => {
    const loaded = await loadAgents(agentDirs, logger);
    for (const agent of options.agents ?? []) loaded.agents.set(agent.name, agent);
    const active = new Map<string, HostedAgent>();
    for (const agent of loaded.agents.values()) {
      const entry = activate(agent);
      if (entry) active.set(agent.name, entry);
    }
    return { agents: active, problems: loaded.problems };
  };

  const agentSummaries = (): AgentSummary[] =>
    [...hosted.values()].map(({ agent }) => ({
      agent: agent.name,
      name: agent.name,
      version: agent.version,
      description: agent.description,
      timeout: agent.timeout,
      actions: Object.keys(agent.actions).sort(),
    }));
  const stats = (): DaemonStats =>
    buildStats(counters, { starttime, agents: [...hosted.keys()].sort(), version: DAEMON_VERSION, configfile: config.source, identity: settings.identity });

  const node: NodeView = {
    identity: settings.identity,
    collectives: settings.collectives,
    mainCollective: settings.mainCollective,
    config,
    facts: () => facts.facts(),
    classes: () => facts.classes(),
    agents: agentSummaries,
    stats: () => stats() as unknown as Record<string, unknown>,
    agentDdl: (name) => hosted.get(name)?.agent.ddl,
  };
  const host: PipelineHost = {
    identity: settings.identity,
    collectives: settings.collectives,
    logger,
    counters,
    provider,
    connector,
    node,
    authorizer,
    audit,
    shutdown: shutdown.signal,
    hostedAgent: (name) => hosted.get(name),
    nodeFacts: (): NodeFacts => ({ identity: settings.identity, facts: facts.facts(), classes: facts.classes(), agents: [...hosted.keys()] }),
    isStopping: () => stopping !== undefined,
  };

  const onMessage = (message: InboundMessage): void => {
    const work = handleRequest(host, message).catch((error: unknown) => {
      logger.error({ err: error }, `unexpected failure handling a request: ${(error as Error).message}`);
    });
    inflight.add(work);
    void work.finally(() => inflight.delete(work));
  };

  const syncSubscriptions = async (): Promise<void> => {
    const wanted = new Set<string>();
    for (const collective of settings.collectives) {
      for (const name of hosted.keys()) wanted.add(`${collective}/${name}`);
    }
    for (const [key, subscription] of subscriptions) {
      if (key.startsWith('directed:') || wanted.has(key)) continue;
      await subscription.unsubscribe();
      subscriptions.delete(key);
      logger.info({ subscription: key }, 'unsubscribed');
    }
    for (const key of wanted) {
      if (subscriptions.has(key)) continue;
      const [collective, agent] = key.split('/') as [string, string];
      subscriptions.set(key, await connector.subscribeBroadcast(collective, agent, onMessage));
    }
    for (const collective of settings.collectives) {
      const key = `directed:${collective}`;
      if (!subscriptions.has(key)) subscriptions.set(key, await connector.subscribeDirected(collective, settings.identity, onMessage));
    }
  };

  const initial = await loadHosted();
  hosted = initial.agents;
  try {
    await connector.connect();
    await syncSubscriptions();
  } catch (error) {
    await connector.disconnect().catch(() => {});
    throw error;
  }

  const publisher = settings.registerInterval > 0
    ? new RegistrationPublisher({
        identity: settings.identity,
        collective: settings.registrationCollective,
        collectives: settings.collectives,
        kind: settings.registration,
        interval: settings.registerInterval,
        splay: settings.registrationSplay,
        ttl: settings.ttl,
        provider,
        connector,
        logger: logger.child({ component: 'registration' }),
        counters,
        agents: () => [...hosted.keys()].sort(),
        facts: () => facts.facts(),
        classes: () => facts.classes(),
      })
    : undefined;
  publisher?.start();
  logger.info({ agents: [...hosted.keys()].sort(), collectives: settings.collectives, connector: connector.name, securityprovider: provider.name }, 'tscollectived started');

  const stop = async (): Promise<void> => {
    publisher?.stop();
    await Promise.allSettled([...subscriptions.values()].map((subscription) => subscription.unsubscribe()));
    subscriptions.clear();
    const pending = [...inflight];
    if (pending.length > 0) {
      logger.info({ inflight: pending.length, timeout: settings.softShutdownTimeout }, 'waiting for in-flight requests');
      let timer: NodeJS.Timeout | undefined;
      const bound = settings.softShutdownTimeout;
      const finished = await Promise.race([
        Promise.allSettled(pending).then(() => true),
        ...(bound === undefined ? [] : [new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), bound * 1000); })]),
      ]);
      clearTimeout(timer);
      if (!finished) {
        logger.warn({ inflight: inflight.size }, `in-flight requests still running after soft_shutdown_timeout (${settings.softShutdownTimeout}s); aborting them`);
        shutdown.abort();
        await Promise.allSettled([...inflight]);
      }
    }
    await connector.disconnect();
    logger.info({}, 'tscollectived stopped');
  };

  // Reloads and the stop run one at a time, so subscriptions are never changed concurrently.
  let lastChange: Promise<unknown> = Promise.resolve();
  const serially = <T>(change: () => Promise<T>): Promise<T> => {
    const next = lastChange.then(change, change);
    lastChange = next.catch(() => undefined);
    return next;
  };

  const reload = async (): Promise<ReloadResult> => {
    if (stopping) return { agents: [...hosted.keys()].sort(), problems: ['the daemon is stopping'] };
    provider.reload();
    facts.invalidate();
    authorizer?.reload();
    const reloaded = await loadHosted();
    hosted = reloaded.agents;
    await syncSubscriptions();
    const agents = [...hosted.keys()].sort();
    logger.info({ agents, problems: reloaded.problems.length }, 'reloaded keys, facts, policies and agents');
    return { agents, problems: reloaded.problems };
  };

  return {
    identity: settings.identity,
    settings,
    counters,
    stop() {
      // Marked at once so new requests are refused while a reload finishes.
      stopping ??= serially(stop);
      return stopping;
    },
    reload: () => serially(reload),
    stats,
    agents: () => [...hosted.keys()].sort(),
    inFlight: () => inflight.size,
  };
}
