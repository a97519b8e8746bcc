/** The daemon's optional Prometheus endpoint: settings (`plugin.prometheus.*`), exposition and HTTP server. */
export { prometheusSchema, readMetricsSettings, type MetricsSettings } from './schema.js';
export { daemonCounterMetric, renderMetrics, type MetricsSnapshot } from './exposition.js';
export { METRICS_PATH, startMetricsServer, type MetricsServer, type MetricsServerOptions } from './server.js';
