/** An agent only some nodes of the CLI tests host: `greet` answers at once, `slow` after the seconds it is given. */
import { setTimeout as sleep } from 'node:timers/promises';
import { defineAgent } from '../../src/agent/define.js';

/** Declares a 30 s timeout, so a `slow` action of 11 s is inside it but beyond the client's old fixed 10 s. */
export const helloAgent = defineAgent({
  name: 'hello',
  version: '1.2.0',
  description: 'Greets; hosted by one node of the CLI tests',
  timeout: 30,
  actions: {
    greet: {
      description: 'Greets someone',
      input: { name: { type: 'string', default: 'world', maxLength: 32 } },
      output: { greeting: { description: 'The greeting', display_as: 'Greeting', type: 'string' } },
      handler: ({ name }, { node }) => ({ greeting: `hello ${String(name)} from ${node.identity}` }),
    },
    slow: {
      description: 'Answers after the given number of seconds',
      input: { seconds: { type: 'number', required: true, min: 0, max: 25 } },
      output: { slept: { description: 'Seconds slept', display_as: 'Slept', type: 'number' } },
      handler: async ({ seconds }, { signal }) => {
        await sleep(Number(seconds) * 1000, undefined, { signal });
        return { slept: seconds };
      },
    },
  },
});
