/**
 * discovery: answers the client's `mc` discovery broadcast. Filters are applied by the daemon
 * before any agent runs, so a reply means "this node matches".
 */
import { defineBuiltinAgent } from '../../src/agent/define.js';

export default defineBuiltinAgent({
  name: 'discovery',
  version: '1.0.0',
  description: 'Discovery agent: replies pong to nodes matching the request filter',
  author: 'tscollective',
  license: 'Apache-2.0',
  timeout: 5,
  actions: {
    ping: {
      description: 'Replies pong',
      output: { message: { description: 'Always "pong"' }, time: { description: 'The node\'s time, seconds since the epoch', type: 'integer' } },
      handler: () => ({ message: 'pong', time: Math.floor(Date.now() / 1000) }),
    },
  },
});
