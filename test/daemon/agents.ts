/** Agents used by the daemon tests (defined in-process and passed to startDaemon). */
import { defineAgent } from '../../src/agent/define.js';

/** Resolves the `wait` action of testagent; the graceful-stop test opens it. */
export const gate: { open?: () => void } = {};

/** One action per RPC status code, plus config and gate actions. */
export const testAgent = defineAgent({
  name: 'testagent',
  version: '0.1.0',
  description: 'Exercises every status code',
  timeout: 1,
  actions: {
    echo: {
      description: 'Echoes msg',
      input: {
        msg: { type: 'string', required: true, pattern: /^[\w ]+$/, maxLength: 64 },
        count: { type: 'integer', min: 1, max: 5, default: 1 },
        colour: { type: 'string', enum: ['red', 'green'] },
      },
      handler: ({ msg, count }) => ({ msg: String(msg).repeat(count as number) }),
    },
    greeting: {
      description: 'Returns plugin.testagent.greeting',
      handler: (_input, ctx) => ({ greeting: ctx.config['greeting'] ?? null, caller: ctx.callerid }),
    },
    boom: {
      description: 'Throws',
      handler: () => { throw new Error('the disk is on fire'); },
    },
    refuse: {
      description: 'Fails with an explicit status',
      handler: (_input, ctx) => ctx.fail(4, 'refusing on purpose'),
    },
    slow: {
      description: 'Never finishes before the timeout',
      handler: (_input, ctx) => new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve({ aborted: true }))),
    },
    wait: {
      description: 'Finishes when the test opens the gate',
      handler: () => new Promise((resolve) => { gate.open = () => resolve({ waited: true }); }),
    },
  },
});
