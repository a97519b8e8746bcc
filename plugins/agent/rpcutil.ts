/**
 * rpcutil: general information about a node (MCollective's rpcutil agent): ping, inventory,
 * facts, daemon statistics, hosted agents, configuration items and collectives.
 */
import { defineAgent } from '../../src/agent/define.js';

/** Configuration keys whose values get_config_item never returns. */
const SECRET_KEY = /(password|passphrase|secret|private|token)/i;

export default defineAgent({
  name: 'rpcutil',
  version: '1.0.0',
  description: 'General helpful actions that expose stats and internals to clients',
  author: 'tscollective',
  license: 'Apache-2.0',
  timeout: 10,
  actions: {
    ping: {
      description: 'Responds to requests for PING with PONG',
      output: { pong: { description: 'The local time (seconds since the epoch) of the node', type: 'integer' } },
      handler: () => ({ pong: Math.floor(Date.now() / 1000) }),
    },
    inventory: {
      description: 'System inventory: agents, facts, classes, collectives, version',
      handler: (_input, { node }) => ({
        agents: node.agents().map((agent) => agent.agent),
        facts: node.facts(),
        classes: [...node.classes()],
        version: String(node.stats()['version']),
        data_plugins: [],
        main_collective: node.mainCollective,
        collectives: [...node.collectives],
      }),
    },
    get_fact: {
      description: 'Retrieve a single fact from the fact store',
      input: { fact: { type: 'string', required: true, description: 'The fact to retrieve', pattern: /^[\w.:\-]+$/, maxLength: 128 } },
      output: { fact: { description: 'The name of the fact' }, value: { description: 'The value of the fact (null when unknown)' } },
      handler: ({ fact }, { node }) => {
        const facts = node.facts();
        const name = fact as string;
        return { fact: name, value: Object.hasOwn(facts, name) ? facts[name] : null };
      },
    },
    get_facts: {
      description: 'Retrieve multiple facts from the fact store',
      input: { facts: { type: 'string', required: true, description: 'Comma-separated fact names', pattern: /^[\w.:\-]+(\s*,\s*[\w.:\-]+)*$/, maxLength: 4096 } },
      output: { values: { description: 'A hash of fact name to value (null when unknown)', type: 'hash' } },
      handler: ({ facts: wanted }, context) => {
        const facts = context.node.facts();
        const names = (wanted as string).split(',').map((n) => n.trim());
        // The names become keys of the reply: "__proto__" would be refused by every serializer (and is never a fact).
        if (names.includes('__proto__')) context.fail(4, 'fact name "__proto__" is refused');
        const values = Object.create(null) as Record<string, string | null>;
        for (const name of names) values[name] = Object.hasOwn(facts, name) ? facts[name]! : null;
        return { values };
      },
    },
    daemon_stats: {
      description: 'Get statistics from the running daemon',
      handler: (_input, { node }) => node.stats(),
    },
    agent_inventory: {
      description: 'Inventory of all agents on the server',
      output: { agents: { description: 'A list of agents with their version, description and actions', type: 'list' } },
      handler: (_input, { node }) => ({ agents: node.agents().map((agent) => ({ ...agent })) }),
    },
    get_config_item: {
      description: 'Get the active value of a specific config property (secrets are refused)',
      input: { item: { type: 'string', required: true, description: 'The item to retrieve from the server', pattern: /^[\w.\-]+$/, maxLength: 128 } },
      output: { item: { description: 'The config property being retrieved' }, value: { description: 'The value that is in use (null when unset)' } },
      handler: ({ item }, context) => {
        const key = item as string;
        if (SECRET_KEY.test(key)) context.fail(4, `config item ${key} may hold a secret and is not disclosed`);
        return { item: key, value: context.node.config.raw(key) ?? null };
      },
    },
    collective_info: {
      description: 'Info about the main and sub collectives',
      output: { main_collective: { description: 'The main collective' }, collectives: { description: 'All collectives', type: 'list' } },
      handler: (_input, { node }) => ({ main_collective: node.mainCollective, collectives: [...node.collectives] }),
    },
  },
});
