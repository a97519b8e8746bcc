/**
 * The daemon's view of its configuration: every top-level setting it uses, read once and
 * checked, with every problem reported at once (the daemon refuses to start on any).
 * Values are read through ConfigView.raw so that the checks here do not depend on how the
 * schema types a key (a flag may be declared boolean or integer).
 */
import { hostname } from 'node:os';
import { DEFAULT_AUDIT_MAX_DATA_BYTES } from '../audit/logfile.js';
import { checkedFlag, checkedNumber } from '../config/checked.js';
import { readLogRotation } from '../config/log-rotation.js';
import type { ConfigView } from '../inter/config.js';
import { readMetricsSettings, type MetricsSettings } from '../metrics/schema.js';
import { nameProblem } from '../names.js';
import type { LogRotation } from '../util/log-file.js';
import type { RegistrationKind } from '../registration/publisher.js';

export type { RegistrationKind };

/** The settings the daemon runs with. */
export interface DaemonSettings {
  identity: string;
  collectives: string[];
  mainCollective: string;
  connector: string;
  securityProvider: string;
  logfile: string | undefined;
  /** `max_log_size` and `keeplogs`: size-based rotation of `logfile`. */
  logRotation: LogRotation;
  loglevel: string;
  libdirs: string[];
  /** Seconds; the TTL of requests this daemon sends (registration). */
  ttl: number;
  registerInterval: number;
  registrationSplay: boolean;
  registration: RegistrationKind;
  registrationCollective: string;
  authorization: boolean;
  audit: boolean;
  auditLogfile: string | undefined;
  /** `plugin.rpcaudit.max_data_bytes`: the most of a request's data one audit line stores. */
  auditMaxDataBytes: number;
  /**
   * Seconds in-flight requests may take to finish on stop; undefined waits for all of them
   * (each is bounded by its agent's timeout anyway).
   */
  softShutdownTimeout: number | undefined;
  activateAgents: boolean;
  /** `plugin.prometheus.*`: the metrics endpoint; undefined when off. */
  metrics: MetricsSettings | undefined;
}

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

/** Splits a list setting written as a string (`a,b` or `a:b`); list-typed keys arrive already split. */
function list(config: ConfigView, key: string): string[] {
  try {
    return config.list(key).map((item) => item.trim()).filter((item) => item !== '');
  } catch {
    return (config.raw(key) ?? '').split(/[,:]/).map((item) => item.trim()).filter((item) => item !== '');
  }
}

/** Reads and checks every daemon setting; `problems` lists every one (empty when the daemon can start). */
export function readDaemonSettings(config: ConfigView): { settings: DaemonSettings; problems: string[] } {
  const problems: string[] = [];
  const identity = (config.raw('identity') ?? '').trim() || hostname();
  const identityProblem = nameProblem('identity', 'identity', identity);
  if (identityProblem) problems.push(`${config.origin('identity')}: ${identityProblem}`);
  const collectives = list(config, 'collectives');
  if (collectives.length === 0) collectives.push('mcollective');
  for (const collective of collectives) {
    const problem = nameProblem('collective', 'collectives', collective);
    if (problem) problems.push(`${config.origin('collectives')}: ${problem}`);
  }
  const mainCollective = (config.raw('main_collective') ?? '').trim() || collectives[0]!;
  if (!collectives.includes(mainCollective)) problems.push(`${config.origin('main_collective')}: main_collective: ${mainCollective} is not one of collectives (${collectives.join(', ')})`);

  const loglevel = (config.raw('loglevel') ?? 'info').trim().toLowerCase();
  if (!LOG_LEVELS.includes(loglevel)) problems.push(`${config.origin('loglevel')}: loglevel: expected one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(loglevel)}`);

  const factsource = (config.raw('factsource') ?? 'yaml').trim();
  if (factsource !== 'yaml') problems.push(`${config.origin('factsource')}: factsource: only yaml is available, got ${JSON.stringify(factsource)}`);

  const registration = (config.raw('registration') ?? 'agentlist').trim().toLowerCase();
  const kind: RegistrationKind = registration === 'facts' || registration === 'meta' ? 'facts' : 'agentlist';
  if (!['agentlist', 'facts', 'meta'].includes(registration)) problems.push(`${config.origin('registration')}: registration: expected agentlist or facts, got ${JSON.stringify(registration)}`);
  const registrationCollective = (config.raw('registration_collective') ?? '').trim() || mainCollective;
  if (!collectives.includes(registrationCollective)) {
    problems.push(`${config.origin('registration_collective')}: registration_collective: ${registrationCollective} is not one of collectives (${collectives.join(', ')})`);
  }

  const authorization = checkedFlag(config, 'rpcauthorization', false, problems);
  const authProvider = (config.raw('rpcauthprovider') ?? 'action_policy').trim().toLowerCase();
  if (authorization && authProvider !== 'action_policy' && authProvider !== 'actionpolicy') {
    problems.push(`${config.origin('rpcauthprovider')}: rpcauthprovider: only action_policy is available, got ${JSON.stringify(authProvider)}`);
  }
  const audit = checkedFlag(config, 'rpcaudit', false, problems);
  const auditProvider = (config.raw('rpcauditprovider') ?? 'logfile').trim().toLowerCase();
  if (audit && auditProvider !== 'logfile') problems.push(`${config.origin('rpcauditprovider')}: rpcauditprovider: only logfile is available, got ${JSON.stringify(auditProvider)}`);
  const auditLogfile = config.raw('plugin.rpcaudit.logfile')?.trim() || undefined;
  if (audit && !auditLogfile) problems.push(`${config.origin('rpcaudit')}: plugin.rpcaudit.logfile: required when rpcaudit = 1`);
  const auditMaxDataBytes = checkedNumber(config, 'plugin.rpcaudit.max_data_bytes', DEFAULT_AUDIT_MAX_DATA_BYTES, 64, problems, true);

  const settings: DaemonSettings = {
    identity,
    collectives,
    mainCollective,
    connector: (config.raw('connector') ?? 'memory').trim(),
    securityProvider: (config.raw('securityprovider') ?? 'aes_security').trim(),
    // logger_type = console logs to standard error even when a logfile is configured.
    logfile: (config.raw('logger_type') ?? 'file').trim() === 'console' ? undefined : config.raw('logfile')?.trim() || undefined,
    logRotation: readLogRotation(config, problems),
    // An invalid level is reported above; logging still needs a valid one until the daemon exits.
    loglevel: LOG_LEVELS.includes(loglevel) ? loglevel : 'info',
    libdirs: list(config, 'libdir'),
    ttl: checkedNumber(config, 'ttl', 60, 1, problems, true),
    registerInterval: checkedNumber(config, 'registerinterval', 0, 0, problems, true),
    registrationSplay: checkedFlag(config, 'registration_splay', false, problems),
    registration: kind,
    registrationCollective,
    authorization,
    audit,
    auditLogfile,
    auditMaxDataBytes,
    softShutdownTimeout: config.raw('soft_shutdown_timeout') === undefined ? undefined : checkedNumber(config, 'soft_shutdown_timeout', 10, 0, problems),
    activateAgents: checkedFlag(config, 'activate_agents', true, problems),
    metrics: readMetricsSettings(config, problems),
  };
  return { settings, problems };
}

/** `plugin.<namespace>.*` settings with the prefix removed (what an agent sees as ctx.config). */
export function pluginSettings(config: ConfigView, namespace: string): Record<string, string> {
  const prefix = `plugin.${namespace}.`;
  const settings: Record<string, string> = {};
  for (const key of config.keys(prefix)) {
    const value = config.raw(key);
    if (value !== undefined) settings[key.slice(prefix.length)] = value;
  }
  return Object.freeze(settings);
}
