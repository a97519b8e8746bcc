/**
 * What the daemon's parts see of the running node: the NodeView agents read (identity, collectives, facts,
 * classes, hosted agents, daemon_stats) and the PipelineHost the request pipeline runs against, built from the
 * daemon's settings and collaborators.
 */
import type { NodeView } from '../agent/types.js';
import type { ActionPolicyAuthorizer } from '../authz/actionpolicy.js';
import type { AuditLog } from '../audit/logfile.js';
import type { NodeFactSource } from '../facts/index.js';
import type { ConfigView } from '../inter/config.js';
import type { Connector } from '../inter/connector.js';
import type { Counters, Logger } from '../inter/logger.js';
import type { RegistrationCollectorView } from '../inter/registration.js';
import type { SecurityProvider } from '../inter/security.js';
import type { LogLimiter } from '../util/log-limiter.js';
import type { AgentHost } from './agent-host.js';
import { PREAUTHORIZATION_PAYLOAD_BYTES } from './decode.js';
import type { Lifecycle } from './lifecycle.js';
import type { PipelineHost } from './pipeline.js';
import type { DaemonSettings } from './settings.js';
import { buildStats, type DaemonStats } from './stats.js';

/** The daemon's collaborators the host is built from. */
export interface HostParts {
  config: ConfigView;
  settings: DaemonSettings;
  version: string;
  logger: Logger;
  counters: Counters;
  limiter: LogLimiter;
  provider: SecurityProvider;
  connector: Connector;
  facts: NodeFactSource;
  agents: AgentHost;
  authorizer: ActionPolicyAuthorizer | undefined;
  audit: AuditLog | undefined;
  lifecycle: Lifecycle;
  /** The registration store of a collecting daemon, once open. */
  registration: () => RegistrationCollectorView | undefined;
}

/** The node's view for agents, its pipeline host and its daemon_stats. */
export function buildHost(parts: HostParts): { node: NodeView; host: PipelineHost; stats: () => DaemonStats } {
  const { config, settings, facts, agents, lifecycle } = parts;
  const starttime = Math.floor(Date.now() / 1000);
  const stats = (): DaemonStats =>
    buildStats(parts.counters, { starttime, agents: agents.names(), version: parts.version, configfile: config.source, identity: settings.identity });
  const node: NodeView = {
    identity: settings.identity,
    collectives: settings.collectives,
    mainCollective: settings.mainCollective,
    config,
    facts: () => facts.facts(),
    classes: () => facts.classes(),
    agents: () => agents.summaries(),
    agentDdl: (name) => agents.get(name)?.agent.ddl,
    stats: () => stats() as unknown as Record<string, unknown>,
    registration: parts.registration,
  };
  const host: PipelineHost = {
    identity: settings.identity,
    collectives: settings.collectives,
    logger: parts.logger,
    counters: parts.counters,
    limiter: parts.limiter,
    provider: parts.provider,
    connector: parts.connector,
    node,
    authorizer: parts.authorizer,
    audit: parts.audit,
    preauthorizePayloadBytes: PREAUTHORIZATION_PAYLOAD_BYTES,
    shutdown: lifecycle.shutdown,
    hostedAgent: (name) => agents.get(name),
    nodeFacts: () => ({ identity: settings.identity, facts: facts.facts(), classes: facts.classes(), agents: agents.names() }),
    isStopping: () => lifecycle.isStopping,
  };
  return { node, host, stats };
}
