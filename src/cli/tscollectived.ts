#!/usr/bin/env node
/**
 * tscollectived: the server daemon, in the foreground (systemd `Type=simple` friendly).
 *
 *   tscollectived --config /etc/tscollective/server.cfg [--pidfile /run/tscollectived.pid]
 *
 * Exit codes: 0 after a clean stop (SIGTERM/SIGINT), 1 when the configuration is invalid (every
 * problem is listed on stderr) or the daemon cannot start. SIGHUP reloads keys, facts, policies
 * and agents (and reopens the log file); SIGUSR2 only reopens the log file (logrotate's postrotate).
 * SIGUSR1 is left to Node.js (it starts the inspector).
 */
import { Command } from 'commander';
import { Config, loadConfig } from '../config/index.js';
import { DAEMON_VERSION, startDaemon, validateDaemonConfig, type DaemonHandle } from '../daemon/daemon.js';
import { removePidFile, writePidFile } from '../daemon/pidfile.js';
import { loadBuiltinPlugins } from '../runtime/builtin-plugins.js';
import { ConfigError } from '../errors.js';

function fail(message: string): never {
  process.stderr.write(`tscollectived: ${message}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  const program = new Command()
    .name('tscollectived')
    .description('The tscollective server daemon (runs in the foreground)')
    .version(DAEMON_VERSION)
    .requiredOption('-c, --config <file>', 'server configuration file (key = value, or YAML)')
    .option('-p, --pidfile <file>', 'write the process id here; removed on exit')
    .showHelpAfterError()
    .parse();
  const { config: configPath, pidfile } = program.opts<{ config: string; pidfile?: string }>();

  const plugins = await loadBuiltinPlugins();
  for (const failure of plugins.failed) process.stderr.write(`tscollectived: warning: plugin not available: ${failure}\n`);

  // Until the daemon runs, SIGUSR2 and SIGHUP (logrotate, `systemctl reload`) must not kill it (their default).
  let running: DaemonHandle | undefined;
  process.on('SIGUSR2', () => running?.reopenLogs());
  process.on('SIGHUP', () => {
    running?.reload().then(
      (result) => {
        for (const problem of result.problems) process.stderr.write(`tscollectived: warning: ${problem}\n`);
        process.stderr.write(`tscollectived: reloaded (SIGHUP): agents ${result.agents.join(', ')}\n`);
      },
      (error: unknown) => process.stderr.write(`tscollectived: reload failed: ${(error as Error).message}\n`),
    );
  });

  let daemon: DaemonHandle;
  try {
    const config = loadConfig(configPath);
    for (const warning of config.warnings) process.stderr.write(`tscollectived: warning: ${warning}\n`);
    if (/^(1|true|yes|y|on)$/i.test(config.raw('daemonize') ?? '')) {
      process.stderr.write('tscollectived: warning: daemonize = 1 is ignored: tscollectived always runs in the foreground (let systemd or a supervisor background it)\n');
    }
    daemon = await startDaemon(config);
  } catch (error) {
    if (error instanceof ConfigError) fail(`refusing to start: ${everyProblem(error).message}`);
    fail(`cannot start: ${(error as Error).message}`);
  }
  running = daemon;
  // A daemon runs until it is stopped, even when nothing else keeps the event loop busy (the memory connector).
  const keepAlive = setInterval(() => {}, 2 ** 30);

  if (pidfile) {
    try {
      writePidFile(pidfile);
    } catch (error) {
      await daemon.stop();
      fail((error as Error).message);
    }
  }

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    clearInterval(keepAlive);
    process.stderr.write(`tscollectived: ${signal} received, stopping\n`);
    daemon
      .stop()
      .then(() => {
        if (pidfile) removePidFile(pidfile);
        process.exit(0);
      })
      .catch((error: unknown) => {
        if (pidfile) removePidFile(pidfile);
        fail(`error while stopping: ${(error as Error).message}`);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  const metrics = daemon.metricsUrl ? `; metrics on ${daemon.metricsUrl}` : '';
  process.stderr.write(`tscollectived: running as ${daemon.identity} (pid ${process.pid}) with agents ${daemon.agents().join(', ')}${metrics}\n`);
}

/**
 * When the file itself had invalid values, the later stages (provider, connector, daemon settings) are checked on
 * the rest of it too, so one run lists every problem; the file's warnings are printed as well.
 */
function everyProblem(error: ConfigError): ConfigError {
  for (const warning of error.warnings) process.stderr.write(`tscollectived: warning: ${warning}\n`);
  if (!(error.partial instanceof Config)) return error;
  const later = validateDaemonConfig(error.partial).filter((problem) => !error.problems.includes(problem));
  return later.length === 0 ? error : new ConfigError([...error.problems, ...later], { cause: error });
}

main().catch((error: unknown) => fail(`unexpected error: ${(error as Error).stack ?? String(error)}`));
