/**
 * `plugin.prometheus.*`: the daemon's optional Prometheus endpoint (`GET /metrics`). Off unless `port` is set;
 * on the loopback interface unless `bind` says otherwise. Registered on import (src/metrics/index.ts).
 */
import { isIP } from 'node:net';
import { checkedNumber } from '../config/checked.js';
import { registerConfigSchema } from '../config/schema-registry.js';
import type { ConfigSchema, ConfigView } from '../inter/config.js';

/** The settings of the metrics endpoint. */
export const prometheusSchema: ConfigSchema = {
  namespace: 'prometheus',
  keys: {
    port: {
      type: 'integer', min: 0, max: 65535,
      doc: 'TCP port of the Prometheus endpoint GET /metrics (daemon_stats, security and connector counters); unset: no endpoint. 0 picks a free port (logged).',
    },
    bind: {
      type: 'string', default: '127.0.0.1',
      doc: 'IP address the Prometheus endpoint listens on (loopback by default; the counters name this node, its agents and its version, so bind another address only on a network you trust).',
    },
  },
};

/** Where the endpoint listens. */
export interface MetricsSettings {
  port: number;
  bind: string;
}

/** Reads `plugin.prometheus.*`; undefined when the endpoint is off. Every problem is added to `problems`. */
export function readMetricsSettings(config: ConfigView, problems: string[]): MetricsSettings | undefined {
  if (!config.has('plugin.prometheus.port')) {
    if (config.has('plugin.prometheus.bind')) {
      problems.push(`${config.origin('plugin.prometheus.bind')}: plugin.prometheus.bind: the endpoint is off without plugin.prometheus.port; set a port or remove the line`);
    }
    return undefined;
  }
  const port = checkedNumber(config, 'plugin.prometheus.port', 0, 0, problems, true);
  if (port > 65535) problems.push(`${config.origin('plugin.prometheus.port')}: plugin.prometheus.port: ${port} is not a TCP port (0..65535)`);
  const bind = (config.raw('plugin.prometheus.bind') ?? '127.0.0.1').trim();
  if (isIP(bind) === 0) {
    problems.push(`${config.origin('plugin.prometheus.bind')}: plugin.prometheus.bind: expected an IP address such as 127.0.0.1, ::1 or 0.0.0.0, got ${JSON.stringify(bind)}`);
  }
  return { port, bind };
}

registerConfigSchema(prometheusSchema);
