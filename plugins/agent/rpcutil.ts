/**
 * rpcutil: general information about a node (MCollective's rpcutil agent): ping, inventory,
 * facts, daemon statistics, hosted agents and their descriptions, configuration items and collectives.
 */
import { defineBuiltinAgent } from '../../src/agent/define.js';
import { NAME_RULES } from '../../src/names.js';

/** Configuration keys whose values get_config_item never returns. */
const SECRET_KEY = /(password|passphrase|secret|private|token)/i;

export default defineBuiltinAgent({
  name: 'rpcutil',
  version: '1.0.0',
  description: 'General helpful actions that expose stats and internals to clients',
  author: 'tscollective',
  license: 'Apache-2.0',
  timeout: 10,
  actions: {
    ping: {
      description: 'Responds to requests for PING with PONG',
      display: 'always',
      output: { pong: { description: 'The local time (seconds since the epoch) of the node', display_as: 'Timestamp', type: 'integer' } },
      aggregate: [{ function: 'min', output: 'pong' }, { function: 'max', output: 'pong' }, { function: 'average', output: 'pong' }],
      handler: () => ({ pong: Math.floor(Date.now() / 1000) }),
    },
    inventory: {
      description: 'System inventory: agents, facts, classes, collectives, version',
      output: {
        agents: { description: 'The hosted agents', display_as: 'Agents', type: 'list' },
        facts: { description: 'The node\'s facts', display_as: 'Facts', type: 'hash' },
        classes: { description: 'The node\'s configuration-management classes', display_as: 'Classes', type: 'list' },
        version: { description: 'The tscollective version', display_as: 'Version', type: 'string' },
        data_plugins: { description: 'Data plugins (none in tscollective)', display_as: 'Data Plugins', type: 'list' },
        main_collective: { description: 'The main collective', display_as: 'Main Collective', type: 'string' },
        collectives: { description: 'Every collective the node is in', display_as: 'All Collectives', type: 'list' },
      },
      aggregate: [{ function: 'summary', output: 'version' }],
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
      input: { fact: { type: 'string', required: true, prompt: 'The name of the fact', description: 'The fact to retrieve', pattern: /^[\w.:\-]+$/, maxLength: 128 } },
      output: { fact: { description: 'The name of the fact', display_as: 'Fact', type: 'string' }, value: { description: 'The value of the fact (null when unknown)', display_as: 'Value' } },
      aggregate: [{ function: 'summary', output: 'value' }],
      handler: ({ fact }, { node }) => {
        const facts = node.facts();
        const name = fact as string;
        return { fact: name, value: Object.hasOwn(facts, name) ? facts[name] : null };
      },
    },
    get_facts: {
      description: 'Retrieve multiple facts from the fact store',
      input: { facts: { type: 'string', required: true, prompt: 'Fact names', description: 'Comma-separated fact names', pattern: /^[\w.:\-]+(\s*,\s*[\w.:\-]+)*$/, maxLength: 4096 } },
      output: { values: { description: 'A hash of fact name to value (null when unknown)', display_as: 'Values', type: 'hash' } },
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
      output: {
        version: { description: 'The tscollective version', display_as: 'Version', type: 'string' },
        starttime: { description: 'When the daemon started (seconds since the epoch)', display_as: 'Start Time', type: 'integer' },
        total: { description: 'Requests received', display_as: 'Total Requests', type: 'integer' },
        passed: { description: 'Requests that passed the filters', display_as: 'Passed Filter', type: 'integer' },
        filtered: { description: 'Requests that did not pass the filters', display_as: 'Failed Filter', type: 'integer' },
        replies: { description: 'Replies sent', display_as: 'Replies', type: 'integer' },
      },
      aggregate: [{ function: 'summary', output: 'version' }, { function: 'sum', output: 'total' }, { function: 'sum', output: 'replies' }],
      handler: (_input, { node }) => node.stats(),
    },
    agent_inventory: {
      description: 'Inventory of all agents on the server',
      output: { agents: { description: 'A list of agents with their version, description and actions', display_as: 'Agents', type: 'list' } },
      handler: (_input, { node }) => ({ agents: node.agents().map((agent) => ({ ...agent })) }),
    },
    agent_ddl: {
      description: 'The description (DDL) of a hosted agent: metadata, actions, inputs, outputs, aggregates',
      input: {
        agent: {
          type: 'string', required: true, prompt: 'Agent', description: 'The agent to describe', pattern: NAME_RULES.agent.pattern, maxLength: NAME_RULES.agent.maxLength,
        },
      },
      output: { ddl: { description: 'The agent description', display_as: 'Description', type: 'hash' } },
      handler: ({ agent }, context) => {
        const ddl = context.node.agentDdl?.(agent as string);
        if (!ddl) return context.fail(4, `agent ${String(agent)} is not hosted here`);
        return { ddl };
      },
    },
    get_config_item: {
      description: 'Get the active value of a specific config property (secrets are refused)',
      input: { item: { type: 'string', required: true, prompt: 'Configuration item', description: 'The item to retrieve from the server', pattern: /^[\w.\-]+$/, maxLength: 128 } },
      output: { item: { description: 'The config property being retrieved', display_as: 'Property' }, value: { description: 'The value that is in use (null when unset)', display_as: 'Value' } },
      aggregate: [{ function: 'summary', output: 'value' }],
      handler: ({ item }, context) => {
        const key = item as string;
        if (SECRET_KEY.test(key)) context.fail(4, `config item ${key} may hold a secret and is not disclosed`);
        return { item: key, value: context.node.config.raw(key) ?? null };
      },
    },
    collective_info: {
      description: 'Info about the main and sub collectives',
      output: { main_collective: { description: 'The main collective', display_as: 'Main Collective' }, collectives: { description: 'All collectives', display_as: 'All Collectives', type: 'list' } },
      aggregate: [{ function: 'summary', output: 'main_collective' }],
      handler: (_input, { node }) => ({ main_collective: node.mainCollective, collectives: [...node.collectives] }),
    },
  },
});
