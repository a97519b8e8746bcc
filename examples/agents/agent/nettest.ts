/**
 * nettest: an example agent (and a useful one) for checking a node's view of the network:
 * echo, sleep, uptime, DNS resolution and TCP reachability from the node.
 *
 * Host it with `libdir = <project>/dist/examples/agents` (agents load from `<libdir>/agent/*.js`).
 * Settings: `plugin.nettest.max_sleep` (seconds, default 30) caps the sleep action.
 */
import { lookup } from 'node:dns/promises';
import { createConnection } from 'node:net';
import { uptime as systemUptime } from 'node:os';
import { defineAgent } from '../../../src/agent/define.js';

/** Host names and IP literals accepted by resolve and connect. */
const HOST = /^[A-Za-z0-9]([A-Za-z0-9.\-:]*[A-Za-z0-9])?$/;

/** Resolves after `ms`, or early (rejecting) when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(timer); reject(new Error('sleep aborted')); }, { once: true });
  });
}

/** Milliseconds to open a TCP connection to host:port, or the error. */
function connect(host: string, port: number, timeoutMs: number, signal: AbortSignal): Promise<{ connected: boolean; ms: number; error?: string }> {
  const started = process.hrtime.bigint();
  const elapsed = (): number => Number((process.hrtime.bigint() - started) / 1_000_000n);
  return new Promise((resolve) => {
    const socket = createConnection({ host, port, timeout: timeoutMs, signal });
    socket.once('connect', () => { socket.destroy(); resolve({ connected: true, ms: elapsed() }); });
    socket.once('timeout', () => { socket.destroy(); resolve({ connected: false, ms: elapsed(), error: `no connection within ${timeoutMs} ms` }); });
    socket.once('error', (error) => resolve({ connected: false, ms: elapsed(), error: error.message }));
  });
}

export default defineAgent({
  name: 'nettest',
  version: '1.0.0',
  description: 'Network checks from the node: echo, sleep, uptime, resolve, connect',
  author: 'tscollective',
  license: 'Apache-2.0',
  timeout: 40,
  actions: {
    echo: {
      description: 'Returns the message it was given',
      input: { message: { type: 'string', required: true, maxLength: 1024, description: 'Text to echo' } },
      output: { message: { description: 'The same text', display_as: 'Message', type: 'string' } },
      aggregate: [{ function: 'summary', output: 'message' }],
      handler: ({ message }) => ({ message }),
    },
    sleep: {
      description: 'Sleeps for a number of seconds (at most plugin.nettest.max_sleep), then replies',
      input: { seconds: { type: 'number', required: true, min: 0, max: 3600, prompt: 'Seconds', description: 'How long to sleep' } },
      output: { slept: { description: 'Seconds slept', display_as: 'Slept', type: 'number' } },
      handler: async ({ seconds }, ctx) => {
        const limit = Number(ctx.config['max_sleep'] ?? 30);
        if ((seconds as number) > limit) ctx.fail(4, `seconds: at most ${limit} (plugin.nettest.max_sleep)`);
        await sleep((seconds as number) * 1000, ctx.signal);
        return { slept: seconds };
      },
    },
    uptime: {
      description: 'System and daemon uptime in seconds',
      output: {
        system: { description: 'Seconds since boot', display_as: 'System Uptime', type: 'integer' },
        daemon: { description: 'Seconds since the daemon started', display_as: 'Daemon Uptime', type: 'integer' },
      },
      aggregate: [{ function: 'min', output: 'system' }, { function: 'max', output: 'system' }, { function: 'average', output: 'daemon' }],
      handler: () => ({ system: Math.floor(systemUptime()), daemon: Math.floor(process.uptime()) }),
    },
    resolve: {
      description: 'Resolves a host name with the node\'s resolver',
      input: { host: { type: 'string', required: true, pattern: HOST, maxLength: 253, prompt: 'Host', description: 'Host name to resolve' } },
      output: { host: { description: 'The host name', display_as: 'Host', type: 'string' }, addresses: { description: 'Every address found', display_as: 'Addresses', type: 'list' } },
      handler: async ({ host }, ctx) => {
        try {
          const addresses = await lookup(host as string, { all: true });
          return { host, addresses: addresses.map((entry) => entry.address) };
        } catch (error) {
          return ctx.fail(5, `cannot resolve ${String(host)}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
        }
      },
    },
    connect: {
      description: 'Opens a TCP connection from the node to host:port and reports how long it took',
      input: {
        host: { type: 'string', required: true, pattern: HOST, maxLength: 253, prompt: 'Host', description: 'Target host' },
        port: { type: 'integer', required: true, min: 1, max: 65535, prompt: 'Port', description: 'Target port' },
        timeout: { type: 'number', min: 0.1, max: 30, default: 5, prompt: 'Timeout', description: 'Seconds to wait for the connection' },
      },
      output: {
        host: { description: 'The target host', display_as: 'Host', type: 'string' },
        port: { description: 'The target port', display_as: 'Port', type: 'integer' },
        connected: { description: 'Whether the connection opened', display_as: 'Connected', type: 'boolean' },
        ms: { description: 'Milliseconds taken', display_as: 'Time (ms)', type: 'integer' },
        error: { description: 'Why the connection did not open', display_as: 'Error', type: 'string' },
      },
      aggregate: [{ function: 'boolean_summary', output: 'connected', labels: { true: 'reachable', false: 'unreachable' } }, { function: 'average', output: 'ms' }, { function: 'max', output: 'ms' }],
      handler: async ({ host, port, timeout }, ctx) => ({ host, port, ...(await connect(host as string, port as number, (timeout as number) * 1000, ctx.signal)) }),
    },
  },
});
