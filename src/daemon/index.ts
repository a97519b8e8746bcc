/** The server daemon, programmatically: start, reload, stop, stats. */
export { startDaemon, validateDaemonConfig, DAEMON_VERSION } from './daemon.js';
export type { DaemonHandle, DaemonOptions, ReloadResult } from './daemon.js';
export { readDaemonSettings, pluginSettings } from './settings.js';
export type { DaemonSettings, RegistrationKind } from './settings.js';
export { buildStats, COUNTER } from './stats.js';
export type { DaemonStats } from './stats.js';
export { handleRequest } from './pipeline.js';
export type { PipelineHost } from './pipeline.js';
export { AgentHost } from './agent-host.js';
export type { HostedAgent } from './agent-host.js';
export { loadBuiltinPlugins } from '../runtime/builtin-plugins.js';
export { writePidFile, removePidFile } from './pidfile.js';
