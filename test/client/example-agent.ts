/** The agent the client tests' daemons host (and clients find in a libdir for typed inputs). */
import { defineAgent } from '../../src/agent/define.js';

/** An agent every node hosts: `echo` returns its input, `fail` always fails; `secret` is denied by policy. */
export const exampleAgent = defineAgent({
  name: 'example',
  version: '1.0.0',
  description: 'Example agent for client tests and the demo',
  actions: {
    echo: {
      description: 'Returns the message, typed by the declaration',
      input: { message: { type: 'string', required: true }, times: { type: 'integer', default: 1, min: 1, max: 10 } },
      handler: ({ message, times }, { node }) => ({ message: String(message).repeat(Number(times)), node: node.identity }),
    },
    fail: {
      description: 'Always fails with status 5',
      handler: (_input, context) => context.fail(5, 'failed on purpose'),
    },
    secret: {
      description: 'Denied by the action policy',
      handler: () => ({ secret: 42 }),
    },
  },
});
