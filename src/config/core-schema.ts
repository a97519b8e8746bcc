/**
 * The top-level keys of server.cfg and client.cfg (MCollective 2.x names and defaults), and the
 * core plugin namespaces the daemon itself reads: `rpcaudit`, `actionpolicy` and `registration`.
 * Registered on import; src/config/index.ts imports this module.
 */
import { hostname } from 'node:os';
import type { ConfigSchema, ConfigView } from '../inter/config.js';
import { registrationConfigSchema } from '../registration/schema.js';
import { registerConfigSchema } from './schema-registry.js';
import { parseBoolean } from './values.js';

/** Top-level settings. */
export const coreSchema: ConfigSchema = {
  namespace: '',
  keys: {
    identity: { type: 'string', default: hostname(), doc: "This node's name on the bus: the sender id of its messages and the target of -I filters." },
    collectives: { type: 'list', default: ['mcollective'], doc: 'The collectives (sub-collectives) this node joins, comma separated.' },
    main_collective: { type: 'string', doc: 'The collective used when none is given; must be one of collectives. Defaults to the first of collectives.' },
    connector: { type: 'string', default: 'memory', doc: 'The middleware connector plugin (memory, amqp, rabbitmq, activemq, nats).' },
    securityprovider: { type: 'string', default: 'aes_security', doc: 'The security provider plugin that signs and encrypts every message.' },
    logfile: { type: 'path', doc: 'Where logger_type=file writes its log; standard error when unset.' },
    loglevel: { type: 'enum', values: ['debug', 'info', 'warn', 'error', 'fatal'], default: 'info', doc: 'The least severe log level written.' },
    logger_type: { type: 'enum', values: ['file', 'console'], default: 'file', doc: 'file (to logfile, or standard error when logfile is unset) or console (standard error).' },
    libdir: { type: 'list', doc: 'Directories searched for plugins, separated by colons.' },
    daemonize: { type: 'boolean', default: false, doc: 'Whether the server detaches from the terminal.' },
    ttl: { type: 'integer', default: 60, min: 1, doc: 'Seconds a request stays valid after it is sent.' },
    factsource: { type: 'string', default: 'yaml', doc: 'The fact source plugin; yaml reads the files named by plugin.yaml.' },
    'plugin.yaml': { type: 'path', default: '/etc/mcollective/facts.yaml', doc: 'The YAML fact file(s) of factsource yaml, separated by colons.' },
    classesfile: { type: 'path', default: '/var/lib/puppet/state/classes.txt', doc: 'The file listing the configuration-management classes applied to this node (for -C filters).' },
    registerinterval: { type: 'integer', default: 0, min: 0, doc: 'Seconds between registration messages; 0 disables registration.' },
    registration_splay: { type: 'boolean', default: false, doc: 'Delay the first registration message by a random part of registerinterval.' },
    registration: { type: 'string', default: 'agentlist', doc: 'The registration plugin that builds the registration message body.' },
    registration_collective: { type: 'string', doc: 'The collective registration messages go to; defaults to main_collective.' },
    rpcauthorization: { type: 'boolean', default: false, doc: 'Whether requests are checked by rpcauthprovider before an action runs.' },
    rpcauthprovider: { type: 'string', default: 'action_policy', doc: 'The authorization plugin used when rpcauthorization is on.' },
    rpcaudit: { type: 'boolean', default: false, doc: 'Whether every request is written to the audit log by rpcauditprovider.' },
    rpcauditprovider: { type: 'string', default: 'logfile', doc: 'The audit plugin used when rpcaudit is on.' },
    direct_addressing: { type: 'boolean', default: true, doc: 'Whether requests to known nodes may be sent directly instead of broadcast.' },
    direct_addressing_threshold: { type: 'integer', default: 10, min: 1, doc: 'At most this many known targets are addressed directly; more are broadcast.' },
    default_discovery_method: { type: 'string', default: 'mc', doc: 'How the client discovers nodes: mc (broadcast ping), flatfile (with --nodes) or registration (the collectors, registration_query#find).' },
    discovery_timeout: { type: 'integer', default: 2, min: 1, doc: 'Seconds the client waits for discovery replies.' },
    soft_shutdown: { type: 'boolean', default: false, doc: 'Accepted for MCollective compatibility: tscollectived always lets running actions finish on SIGTERM.' },
    soft_shutdown_timeout: { type: 'integer', min: 1, doc: 'Seconds SIGTERM waits for running actions; unset waits for all of them (each is bounded by its agent timeout).' },
    keeplogs: {
      type: 'integer', default: 5, min: 0, max: 1000,
      doc: 'Rotated log files kept (logfile.1 the newest ... logfile.N the oldest) when max_log_size rotates the log file; at least 1 unless max_log_size = 0.',
    },
    max_log_size: {
      type: 'integer', default: 2097152, min: 0,
      doc: 'Bytes (at least 4096): the log file is rotated before a line would take it past this size, keeping keeplogs files. 0 turns this off and leaves rotation to logrotate, which sends SIGUSR2 so tscollectived reopens the file. Applies when logging to a logfile.',
    },
    activate_agents: { type: 'boolean', default: true, doc: 'Whether agents are active unless their plugin.<agent>.activate_agent says otherwise.' },
    fact_cache_time: { type: 'integer', default: 300, min: 0, doc: 'Seconds facts are cached before the fact source is read again.' },
    rpclimitmethod: { type: 'enum', values: ['first', 'random'], default: 'first', doc: 'Which nodes --limit-nodes keeps: the first to answer discovery, or a random selection.' },
    max_message_size: {
      type: 'integer', default: 4194304, min: 4096, max: 67108864,
      doc: 'Bytes: the largest message any connector accepts or sends; larger frames are dropped before their body is buffered, counted and logged.',
    },
    statedir: { type: 'path', default: '/var/lib/tscollective', doc: "Directory for the daemon's persistent state (the replay journal, the CA verdict cache); created mode 0700 when missing." },
    threaded: {
      type: 'boolean', default: false,
      doc: "Only 0 (MCollective's default) is accepted: tsco has no threaded mode, it always receives replies while it is still publishing (one event loop), which is what threaded = 1 gave MCollective; threaded = 1 is refused at start-up.",
    },
  },
};

/** The audit log of rpcauditprovider=logfile. */
export const rpcauditSchema: ConfigSchema = {
  namespace: 'rpcaudit',
  keys: {
    logfile: { type: 'path', default: '/var/log/mcollective-audit.log', doc: 'The file the logfile audit plugin appends one line per request to.' },
    max_data_bytes: {
      type: 'integer', default: 4096, min: 64, max: 16777216,
      doc: "Bytes: the most of a request's data (its JSON text) one audit line stores; larger data is stored cut, with data_truncated and the original size in data_bytes.",
    },
  },
};

/** The action_policy authorization plugin. */
export const actionpolicySchema: ConfigSchema = {
  namespace: 'actionpolicy',
  keys: {
    allow_unconfigured: { type: 'boolean', default: false, doc: 'Allow requests to agents that have no policy file.' },
    enable_default: { type: 'boolean', default: false, doc: 'Use the default policy file for agents that have none of their own.' },
    default_name: { type: 'string', default: 'default', doc: 'The name (without .policy) of the default policy file.' },
    policy_dir: { type: 'path', default: '/etc/mcollective/policies', doc: 'The directory holding <agent>.policy files.' },
  },
};

/** Problems that involve several top-level keys at once (each message names the keys). */
export function coreCrossChecks(config: ConfigView): string[] {
  const problems: string[] = [];
  const collectives = config.list('collectives');
  if (collectives.length === 0) problems.push(`${config.origin('collectives')}: collectives: at least one collective is needed`);
  for (const key of ['main_collective', 'registration_collective']) {
    const value = config.string(key);
    if (value !== undefined && collectives.length > 0 && !collectives.includes(value)) {
      problems.push(`${config.origin(key)}: ${key}: ${JSON.stringify(value)} is not one of collectives (${collectives.join(', ')})`);
    }
  }
  // MCollective configurations carry `threaded = 0` (its default), which describes tscollective: it is accepted.
  const threaded = config.has('threaded') ? parseBoolean(config.raw('threaded') ?? '') : undefined;
  if (threaded?.ok && threaded.value) {
    problems.push(`${config.origin('threaded')}: threaded: tscollective has no threaded mode: tsco always receives replies while it is still `
      + 'publishing requests (one event loop, no threads), which is what threaded = 1 asked MCollective for; remove the line or set threaded = 0');
  }
  return problems;
}

registerConfigSchema(coreSchema);
registerConfigSchema(rpcauditSchema);
registerConfigSchema(actionpolicySchema);
registerConfigSchema(registrationConfigSchema);
