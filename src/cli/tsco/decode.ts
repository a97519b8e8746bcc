/**
 * `tsco decode [--as server|client] < FILE`: runs a captured wire message through the configured security
 * provider, as a server (requests) or a client (replies), and prints the decoded message or the exact reason
 * (error code and message) it would be rejected. Exit 0 when it decodes, 1 when it is rejected.
 */
import type { Command } from 'commander';
import { ConfigError, InvalidArgumentError, SecurityError } from '../../errors.js';
import type { SecurityRole } from '../../inter/security.js';
import { readClientSettings } from '../../client/index.js';
import { createSecurityProvider } from '../../security/registry.js';
import { MemoryCounters } from '../../util/counters.js';
import { CapturingLogger } from '../../util/log.js';
import { loadClientConfig, type GlobalOptions } from './context.js';
import type { Streams } from './output.js';
import { readBounded } from './stdin.js';

/** The largest message decode reads (a broker would refuse bigger ones long before). */
const MAX_WIRE_BYTES = 16 * 1024 * 1024;

/** Reads all of standard input (bounded). */
export function readInput(input: NodeJS.ReadableStream = process.stdin): Promise<Uint8Array> {
  return readBounded(input, MAX_WIRE_BYTES, 'not a wire message');
}

/** Decodes `wire` as `role` with the configured provider and prints the outcome. */
export async function decodeCommand(role: SecurityRole, wire: Uint8Array, globals: GlobalOptions, streams: Streams): Promise<number> {
  if (wire.length === 0) throw new InvalidArgumentError('standard input: empty; pipe a captured message in (tsco decode < FILE)');
  const config = await loadClientConfig(globals, streams);
  const { settings } = readClientSettings(config);
  const logger = new CapturingLogger();
  // inspectOnly: a server's replay journal is read (a replay is reported as the daemon would) but never written.
  const provider = createSecurityProvider(settings.securityProvider, { config, role, logger, counters: new MemoryCounters(), inspectOnly: true });
  const problems = provider.validate();
  if (problems.length > 0) throw new ConfigError(problems.map((p) => `${settings.securityProvider} (role ${role}): ${p}`));
  try {
    if (role === 'server') {
      const { replyContext: _private, ...request } = provider.decodeRequest(wire);
      streams.out(`${JSON.stringify({ accepted: true, kind: 'request', ...request }, null, 2)}\n`);
    } else {
      // This process sent no request, so it holds no reply handle: a reply is refused as not for us (docs/client.md).
      const reply = provider.decodeReply(wire, () => undefined);
      streams.out(`${JSON.stringify({ accepted: true, kind: 'reply', ...reply }, null, 2)}\n`);
    }
    for (const record of logger.records.filter((r) => r.level === 'warn' || r.level === 'error')) streams.err(`tsco: ${record.level}: ${record.msg}\n`);
    return 0;
  } catch (error) {
    if (!(error instanceof SecurityError)) throw error;
    streams.out(`${JSON.stringify({ accepted: false, code: error.code, error: error.name, reason: error.message }, null, 2)}\n`);
    streams.err(`tsco: rejected: ${error.code}: ${error.message}\n`);
    return 1;
  }
}

/** Registers `decode` on the program. */
export function registerDecodeCommand(program: Command, streams: Streams, run: (work: Promise<number>) => void): void {
  program
    .command('decode')
    .description('decode a captured wire message from standard input with the configured keys, or say why it is rejected')
    .option('--as <role>', 'decode as the server (a request) or the client (a reply)', 'server')
    .action((options: { as: string }) => {
      if (options.as !== 'server' && options.as !== 'client') {
        run(Promise.reject(new InvalidArgumentError(`--as: expected server or client, got ${JSON.stringify(options.as)}`)));
        return;
      }
      const role: SecurityRole = options.as;
      run(readInput().then((wire) => decodeCommand(role, wire, program.opts<GlobalOptions>(), streams)));
    });
}
