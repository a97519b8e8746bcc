/**
 * Settings of the NATS connector (`plugin.nats.*`): the shared pool, reconnect, heartbeat and timeout keys of
 * plugins/connector/pool (without `vhost`: NATS has none), plus `ttl_grace`. The collectives named in the
 * configuration are checked here too, since on NATS a collective is one subject token.
 */
import type { ConfigSchema, ConfigView } from '../../../src/inter/config.js';
import { TTL_GRACE_SECONDS, type PoolOptions, poolSettingSpecs, readPoolOptions } from '../pool/options.js';
import { subjectNameProblem } from './subjects.js';

/** The NATS client port. */
export const DEFAULT_NATS_PORT = 4222;

/** The checked settings of a NATS connector. */
export interface NatsOptions extends Omit<PoolOptions, 'vhost'> {
  /** Seconds added to a message's TTL before receivers drop it (`ttl_grace`). */
  ttlGraceSeconds: number;
}

/** The `plugin.nats.*` keys, for registerConfigSchema. */
export const natsConfigSchema: ConfigSchema = {
  namespace: 'nats',
  keys: {
    ...withoutVhost(poolSettingSpecs({ port: DEFAULT_NATS_PORT, vhost: '' })),
    ttl_grace: {
      type: 'number', default: TTL_GRACE_SECONDS, min: 0,
      doc: 'Seconds added to each message\'s TTL before a receiving connector drops it (mc_expires; clock-skew allowance).',
    },
  },
};

function withoutVhost<T extends Record<string, unknown>>(keys: T): T {
  const { vhost: _vhost, ...rest } = keys;
  return rest as T;
}

/** Reads `plugin.nats.*` (and checks the configured collectives); never throws, returns every problem and warning. */
export function readNatsOptions(config: ConfigView): { options: NatsOptions; problems: string[]; warnings: string[] } {
  const pool = readPoolOptions(config, 'plugin.nats.', { port: DEFAULT_NATS_PORT, vhost: '' });
  const problems = [...pool.problems];
  const { vhost: _vhost, ...shared } = pool.options;
  let ttlGraceSeconds = TTL_GRACE_SECONDS;
  const graceKey = 'plugin.nats.ttl_grace';
  const graceRaw = config.has(graceKey) ? config.raw(graceKey)?.trim() : undefined;
  if (graceRaw !== undefined && graceRaw !== '') {
    const value = Number(graceRaw);
    if (Number.isFinite(value) && value >= 0) ttlGraceSeconds = value;
    else problems.push(`${graceKey} (${config.origin(graceKey)}) must be a number of seconds >= 0, got ${JSON.stringify(graceRaw)}`);
  }
  problems.push(...collectiveProblems(config));
  return { options: { ...shared, ttlGraceSeconds }, problems, warnings: pool.warnings };
}

/** The configured collectives that cannot be NATS subject tokens (main_collective and the others must be among them). */
function collectiveProblems(config: ConfigView): string[] {
  const raw = config.has('collectives') ? config.raw('collectives') : undefined;
  if (raw === undefined) return [];
  const problems: string[] = [];
  for (const collective of raw.split(',').map((name) => name.trim()).filter(Boolean)) {
    const problem = subjectNameProblem('collective', collective);
    if (problem !== undefined) problems.push(`collectives (${config.origin('collectives')}): ${JSON.stringify(collective)} cannot be used with the nats connector: ${problem}`);
  }
  return problems;
}
