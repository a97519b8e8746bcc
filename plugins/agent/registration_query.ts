/**
 * registration_query: discovery from the registration store, over the network (`tsco --dm registration`).
 * Hosted where the registration agent is (a collector: `plugin.registration.activate_agent = 1`, or a store named
 * explicitly), so clients find collectors by the agent they host. Like any action, `find` runs only after the
 * security provider authenticated the caller, the action policy allowed `registration_query#find`, and the audit
 * log recorded it; the reply is signed by the collector.
 *
 * `find` answers with the active nodes (seen within `plugin.registration.stale_after`) of the collective the
 * request was sent in that match a request filter, sorted by identity, each with the signer and proof of its last
 * registration (so a client can mark names a shared key registered), a page at a time: at most `limit` nodes and
 * about a quarter of `max_message_size` bytes; `more` says to ask again with `after` set to the last identity.
 */
import { defineBuiltinAgent } from '../../src/agent/define.js';
import { FilterSyntaxError, InvalidArgumentError } from '../../src/errors.js';
import type { RegistrationFilter } from '../../src/inter/registration.js';
import { collectorConfigured } from '../../src/registration/settings.js';
import { MAX_FIND_PAGE } from '../../src/registration/stores/record.js';

/** The nodes one answer holds unless the caller asks for fewer. */
export const DEFAULT_FIND_LIMIT = 5000;
/** The most bytes of node entries one answer holds (less when max_message_size is small). */
const MAX_PAGE_BYTES = 1 << 20;
const FILTER_LISTS = new Set(['identity', 'agent', 'cf_class', 'fact', 'compound']);

export default defineBuiltinAgent({
  name: 'registration_query',
  version: '1.0.0',
  description: 'Discovery from the registration store of a collecting daemon (tsco --dm registration)',
  author: 'tscollective',
  license: 'Apache-2.0',
  timeout: 10,
  activate: (_config, daemonConfig) => collectorConfigured(daemonConfig),
  actions: {
    find: {
      description: 'The active registered nodes of a collective matching a filter, a page at a time, with how each registration was proved',
      input: {
        filter: { type: 'hash', default: {}, description: 'A request filter: identity, agent, cf_class, fact and compound lists, as a request carries them' },
        collective: { type: 'string', required: true, maxLength: 255, description: 'The collective whose nodes to find: the one this request was sent in' },
        after: { type: 'string', maxLength: 255, description: 'Only identities after this one: the last identity of the previous page' },
        limit: { type: 'integer', min: 1, max: MAX_FIND_PAGE, default: DEFAULT_FIND_LIMIT, description: 'The most nodes in the answer' },
      },
      output: {
        nodes: { type: 'list', display_as: 'Nodes', description: 'The matching nodes, sorted by identity: {identity, signer, senderProof} each' },
        more: { type: 'boolean', display_as: 'More', description: 'Whether more nodes match after the last one (ask again with after)' },
        stale_after: { type: 'integer', display_as: 'Stale after', description: 'Seconds after its last registration a node is left out' },
      },
      async handler(input, context) {
        const collector = context.node.registration?.();
        if (!collector) return context.fail(5, 'this daemon has no registration store open');
        const collective = input['collective'] as string;
        // A caller sees the nodes of the collective it addressed, so the broker's and the policy's view of who may
        // talk to which collective also governs who may list its nodes.
        if (collective !== context.collective) context.fail(4, `input collective: ${JSON.stringify(collective)} is not the collective this request was sent in (${context.collective})`);
        const filter = input['filter'] as Record<string, unknown>;
        const unknown = Object.keys(filter).filter((key) => !FILTER_LISTS.has(key));
        if (unknown.length > 0) context.fail(4, `input filter: ${unknown.slice(0, 5).map((key) => JSON.stringify(key.slice(0, 40))).join(', ')} is not a filter list (identity, agent, cf_class, fact, compound)`);
        const after = input['after'] as string | undefined;
        const limit = input['limit'] as number;
        let page;
        try {
          page = await collector.store.find(
            { filter: filter as RegistrationFilter, collective, seenSince: Date.now() - collector.staleAfterSeconds * 1000 },
            { limit, ...(after !== undefined ? { after } : {}) },
          );
        } catch (error) {
          if (error instanceof FilterSyntaxError || error instanceof InvalidArgumentError) context.fail(4, error.message);
          throw error;
        }
        const budget = Math.min(MAX_PAGE_BYTES, Math.floor(Number(context.node.config.raw('max_message_size') ?? MAX_PAGE_BYTES * 4) / 4));
        const nodes: Array<{ identity: string; signer: string; senderProof: string }> = [];
        let bytes = 0;
        for (const node of page.nodes) {
          bytes += node.identity.length + node.signer.length + node.senderProof.length + 48;
          if (bytes > budget && nodes.length > 0) break;
          nodes.push({ identity: node.identity, signer: node.signer, senderProof: node.senderProof });
        }
        return { nodes, more: page.more || nodes.length < page.nodes.length, stale_after: collector.staleAfterSeconds };
      },
    },
  },
});
