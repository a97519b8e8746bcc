/**
 * The client's view of its configuration (client.cfg): the top-level settings tsco uses, read once and
 * checked, with every problem at once. Values are read with ConfigView.raw so the checks do not depend on
 * how the configuration schema types a key.
 */
import { hostname, userInfo } from 'node:os';
import { checkedFlag, checkedNumber } from '../config/checked.js';
import { readLogRotation } from '../config/log-rotation.js';
import type { ConfigView } from '../inter/config.js';
import { isName, nameProblem } from '../names.js';
import type { LogRotation } from '../util/log-file.js';

/** How long a call waits for replies by default: MCollective's default agent timeout. */
export const DEFAULT_TIMEOUT_MS = 10_000;
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** The settings a client runs with. */
export interface ClientSettings {
  /** The requests' senderid; the host name by default, as in MCollective. */
  identity: string;
  collectives: string[];
  mainCollective: string;
  connector: string;
  securityProvider: string;
  /** Seconds. */
  ttl: number;
  /** Milliseconds a broadcast discovery listens (`discovery_timeout`, seconds). */
  discoveryTimeoutMs: number;
  /** Milliseconds to wait for replies unless a call says otherwise (`-t`). */
  timeoutMs: number;
  directAddressingThreshold: number;
  /** `direct_addressing`: whether requests to few known nodes are sent directly. */
  directAddressing: boolean;
  /** `rpclimitmethod`: which nodes --limit-nodes keeps. */
  limitMethod: 'first' | 'random';
  /** Agent module directories besides the built-in plugins/agent (`libdir`). */
  libdirs: string[];
  logfile: string | undefined;
  /** `max_log_size` and `keeplogs`: size-based rotation of `logfile`. */
  logRotation: LogRotation;
  /** Client logs go to stderr at `warn` unless configured, so they do not drown the output. */
  loglevel: string;
}

/** Reads and checks every client setting; `problems` lists every one (empty when usable). */
export function readClientSettings(config: ConfigView): { settings: ClientSettings; problems: string[] } {
  const problems: string[] = [];
  const identity = (config.raw('identity') ?? '').trim() || defaultIdentity();
  const identityProblem = nameProblem('identity', 'identity', identity);
  if (identityProblem) problems.push(`${identityProblem} (${config.origin('identity')})`);
  const collectives = list(config, 'collectives');
  if (collectives.length === 0) collectives.push('mcollective');
  for (const collective of collectives) {
    const problem = nameProblem('collective', 'collectives', collective);
    if (problem) problems.push(problem);
  }
  const mainCollective = (config.raw('main_collective') ?? '').trim() || collectives[0]!;
  if (!collectives.includes(mainCollective)) problems.push(`main_collective: ${mainCollective} is not one of collectives (${collectives.join(', ')})`);
  // The schema's default (info) suits the daemon; a command-line client only logs warnings unless told otherwise.
  const loglevel = config.has('loglevel') ? (config.raw('loglevel') ?? 'warn').trim().toLowerCase() : 'warn';
  if (!LOG_LEVELS.includes(loglevel)) problems.push(`loglevel: expected one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(loglevel)}`);
  const settings: ClientSettings = {
    identity,
    collectives,
    mainCollective,
    connector: (config.raw('connector') ?? 'memory').trim(),
    securityProvider: (config.raw('securityprovider') ?? 'aes_security').trim(),
    ttl: checkedNumber(config, 'ttl', 60, 1, problems, true),
    discoveryTimeoutMs: checkedNumber(config, 'discovery_timeout', 2, 0.01, problems) * 1000,
    timeoutMs: DEFAULT_TIMEOUT_MS,
    directAddressingThreshold: checkedNumber(config, 'direct_addressing_threshold', 10, 0, problems, true),
    directAddressing: checkedFlag(config, 'direct_addressing', true, problems),
    limitMethod: limitMethod(config, problems),
    libdirs: list(config, 'libdir'),
    logfile: config.raw('logfile')?.trim() || undefined,
    logRotation: readLogRotation(config, problems),
    loglevel,
  };
  return { settings, problems };
}

function defaultIdentity(): string {
  // MCollective clients default to the host name; fall back to the user when the host name is unusable.
  const host = hostname();
  return isName('identity', host) ? host : userInfo().username.replace(/[^\w.-]/g, '_') || 'tsco';
}

function limitMethod(config: ConfigView, problems: string[]): 'first' | 'random' {
  const raw = (config.raw('rpclimitmethod') ?? 'first').trim().toLowerCase();
  if (raw === 'first' || raw === 'random') return raw;
  problems.push(`rpclimitmethod: expected first or random, got ${JSON.stringify(raw)} (${config.origin('rpclimitmethod')})`);
  return 'first';
}

function list(config: ConfigView, key: string): string[] {
  try {
    return config.list(key).map((item) => item.trim()).filter((item) => item !== '');
  } catch {
    return (config.raw(key) ?? '').split(/[,:]/).map((item) => item.trim()).filter((item) => item !== '');
  }
}
