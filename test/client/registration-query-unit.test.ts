/**
 * RegistrationQueryDiscoverer against scripted collectors (what a broken or hostile collector may answer, several
 * collectors, proofs), the labels `tsco discover` prints, and registration_query#find's page bounds.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import registrationQuery from '../../plugins/agent/registration_query.js';
import { runAction } from '../../src/agent/run.js';
import type { NodeView } from '../../src/agent/types.js';
import {
  MAX_REGISTRATION_NODES, RegistrationQueryDiscoverer, registrationLabel, type ActionCaller, type RpcCallOptions, type RpcReply, type RpcResult,
} from '../../src/client/index.js';
import { configFromObject } from '../../src/config/index.js';
import { RpcError } from '../../src/errors.js';
import type { SenderProof } from '../../src/inter/message.js';
import { SqliteRegistrationStore } from '../../src/registration/stores/sqlite.js';
import { CapturingLogger } from '../../src/util/log.js';
import { emptyFilter } from '../../src/filter/match.js';
import { tempDir } from '../daemon/helpers.js';

type Node = { identity: string; signer: string; senderProof: string };
const node = (identity: string, senderProof = 'key-name', signer = `cert=${identity}`): Node => ({ identity, signer, senderProof });

interface Collector {
  identity: string;
  senderProof?: SenderProof;
  /** The answer to a find after `after` (undefined: the first page). */
  answer(after: string | undefined): { statuscode?: number; statusmsg?: string; data?: Record<string, unknown> } | undefined;
}

/** A client whose collectors answer as scripted; records every call. */
function scripted(collectors: Collector[]): ActionCaller & { calls: Array<{ data: Record<string, unknown>; options: RpcCallOptions }> } {
  const calls: Array<{ data: Record<string, unknown>; options: RpcCallOptions }> = [];
  return {
    calls,
    async call(agent, action, data = {}, options = {}): Promise<RpcResult> {
      calls.push({ data, options });
      assert.deepEqual([agent, action], ['registration_query', 'find']);
      const targets = options.nodes ? collectors.filter((c) => options.nodes!.includes(c.identity)) : collectors;
      const items: RpcReply[] = [];
      const noResponses: string[] = [];
      for (const collector of targets) {
        const answer = collector.answer(data['after'] as string | undefined);
        if (!answer) { noResponses.push(collector.identity); continue; }
        items.push({
          agent, action, sender: collector.identity, signer: `cert=${collector.identity}`, senderProof: collector.senderProof ?? 'key-name', rttMs: 1,
          statuscode: (answer.statuscode ?? 0) as RpcReply['statuscode'], statusmsg: answer.statusmsg ?? 'OK', data: answer.data ?? {},
        });
      }
      return { items, stats: { discoveryPerformed: true, discovered: targets.length, responded: items.length, ok: items.length, failed: 0, discoveryMs: 0, agentMs: 0, totalMs: 0, noResponses, ignoredReplies: 0, requestids: [], timedOut: noResponses.length > 0 } };
    },
  };
}

const request = { filter: emptyFilter(), collective: 'mcollective', timeoutMs: 1000 };
const pages = (all: Node[], size: number) => (after: string | undefined) => {
  const rest = all.filter((n) => after === undefined || n.identity > after);
  return { data: { nodes: rest.slice(0, size), more: rest.length > size, stale_after: 900 } };
};

describe('RegistrationQueryDiscoverer', () => {
  test('pages through each collector and takes the union; a name is proven when a proven collector proves it', async () => {
    const a = [node('n1'), node('n2'), node('n3', 'shared', 'cert=fleet'), node('n4')];
    const b = [node('n2'), node('n3'), node('n5', 'shared', 'cert=fleet')];
    const client = scripted([
      { identity: 'c1', answer: pages(a, 2) },
      { identity: 'c2', senderProof: 'shared', answer: pages(b, 10) },
    ]);
    const discoverer = new RegistrationQueryDiscoverer(client);
    assert.deepEqual((await discoverer.discover(request)).sort(), ['n1', 'n2', 'n3', 'n4', 'n5']);
    assert.equal(discoverer.registrations.get('n3')!.authenticated, false, 'c1 reports a shared key; c2 proves nothing, its reply being signed by a shared key');
    assert.equal(discoverer.registrations.get('n2')!.authenticated, true);
    assert.equal(discoverer.registrations.get('n5')!.authenticated, false);
    assert.deepEqual(client.calls.map((call) => [call.data['after'], call.options.nodes]), [[undefined, undefined], ['n2', ['c1']]]);
    assert.deepEqual(client.calls[0]!.options.filter, { agent: ['registration_query'] }, 'collectors are found by the agent they host');
    assert.equal(registrationLabel(discoverer.registrations.get('n3')), '[unauthenticated name: registered with shared key cert=fleet]');
    assert.equal(registrationLabel(discoverer.registrations.get('n5')), '[unauthenticated: reported by collector c2, whose reply is signed by shared key cert=c2]');
    assert.equal(registrationLabel(discoverer.registrations.get('n1')), undefined);
  });

  test('a collector answering out of order, repeating its cursor or with malformed names is left out, and said so', async () => {
    const logger = new CapturingLogger();
    const client = scripted([
      { identity: 'good', answer: pages([node('a1')], 10) },
      { identity: 'unsorted', answer: () => ({ data: { nodes: [node('b2'), node('b1')], more: false } }) },
      { identity: 'looping', answer: () => ({ data: { nodes: [node('c1')], more: true } }) },
      { identity: 'garbage', answer: () => ({ data: { nodes: [{ identity: '../etc', signer: 'cert=x', senderProof: 'key-name' }], more: false } }) },
      { identity: 'empty-more', answer: () => ({ data: { nodes: [], more: true } }) },
      { identity: 'silent', answer: () => undefined },
    ]);
    assert.deepEqual(await new RegistrationQueryDiscoverer(client, { logger }).discover(request), ['a1'], 'only the collector that answered to the end counts');
    const problems = logger.find('warn', 'a collector\'s answer is left out').map((record) => String(record.fields['problem']));
    for (const expected of [/unsorted: malformed answer: identities not sorted/, /looping: malformed answer: identities not sorted after the previous page/,
      /garbage: malformed answer: identity/, /empty-more: malformed answer: more nodes announced but none sent/, /silent: no answer/]) {
      assert.ok(problems.some((problem) => expected.test(problem)), `${expected} in ${problems.join(' | ')}`);
    }
  });

  test('no collector, or only refusals: RpcError naming why', async () => {
    await assert.rejects(new RegistrationQueryDiscoverer(scripted([])).discover(request), (error: unknown) =>
      error instanceof RpcError && /no collector \(a daemon hosting registration_query\) answered in collective mcollective within 1 s/.test(error.message));
    const refusing = scripted([{ identity: 'c1', answer: () => ({ statuscode: 1, statusmsg: 'cert=x is not authorized to call registration_query#find' }) }]);
    await assert.rejects(new RegistrationQueryDiscoverer(refusing).discover(request), (error: unknown) =>
      error instanceof RpcError && /c1: status 1: cert=x is not authorized/.test(error.message));
  });

  test('more nodes than MAX_REGISTRATION_NODES are refused with a clear error', async () => {
    let served = 0;
    const endless = scripted([{
      identity: 'c1',
      answer: () => {
        const nodes = Array.from({ length: 10_000 }, (_, i) => node(`n${String(served + i).padStart(7, '0')}`));
        served += nodes.length;
        return { data: { nodes, more: true } };
      },
    }]);
    await assert.rejects(new RegistrationQueryDiscoverer(endless).discover(request), (error: unknown) =>
      error instanceof RpcError && new RegExp(`more than ${MAX_REGISTRATION_NODES} nodes match`).test(error.message));
    assert.ok(served <= MAX_REGISTRATION_NODES + 10_000, 'it stops as soon as the bound is passed');
  });
});

describe('registration_query#find', () => {
  test('leaves out the nodes not seen within stale_after', async () => {
    const store = SqliteRegistrationStore.open({ path: join(tempDir('find-stale'), 'r.sqlite') });
    try {
      const now = Date.now();
      for (const [identity, age] of [['fresh', 10], ['old', 2000]] as const) {
        await store.record({ identity, collective: 'mcollective', signer: `cert=${identity}`, senderProof: 'key-name', agents: [], time: now - age * 1000 });
      }
      const found = async (staleAfterSeconds: number): Promise<unknown> => {
        const node: NodeView = {
          identity: 'collector', collectives: ['mcollective'], mainCollective: 'mcollective', config: configFromObject({}),
          facts: () => ({}), classes: () => [], agents: () => [], stats: () => ({}),
          registration: () => ({ store, staleAfterSeconds, record: (update) => store.record(update) }),
        };
        const reply = await runAction(registrationQuery, {
          requestid: 'cd'.repeat(16), callerid: 'cert=tester', senderid: 'tester', collective: 'mcollective', body: { action: 'find', data: { collective: 'mcollective' } },
        }, { node, logger: new CapturingLogger(), config: {} });
        return (reply.data as { nodes: Node[] }).nodes.map((n) => n.identity);
      };
      assert.deepEqual(await found(900), ['fresh']);
      assert.deepEqual(await found(3600), ['fresh', 'old']);
    } finally {
      await store.close();
    }
  });

  test('an answer holds at most a quarter of max_message_size of node entries; the pages together hold every node', async () => {
    const store = SqliteRegistrationStore.open({ path: join(tempDir('find-bytes'), 'r.sqlite') });
    try {
      const identities = Array.from({ length: 300 }, (_, i) => `node-with-a-rather-long-name-${String(i).padStart(4, '0')}.datacenter.example.com`);
      await Promise.all(identities.map((identity) => store.record({ identity, collective: 'mcollective', signer: `cert=${identity}`, senderProof: 'certificate', agents: [] })));
      const node: NodeView = {
        identity: 'collector', collectives: ['mcollective'], mainCollective: 'mcollective', config: configFromObject({ max_message_size: 4096 }),
        facts: () => ({}), classes: () => [], agents: () => [], stats: () => ({}),
        registration: () => ({ store, staleAfterSeconds: 900, record: (update) => store.record(update) }),
      };
      const found: string[] = [];
      let after: string | undefined;
      for (let page = 0; page < 300; page++) {
        const reply = await runAction(registrationQuery, {
          requestid: 'ab'.repeat(16), callerid: 'cert=tester', senderid: 'tester', collective: 'mcollective',
          body: { action: 'find', data: { collective: 'mcollective', ...(after ? { after } : {}) } },
        }, { node, logger: new CapturingLogger(), config: {} });
        assert.equal(reply.statuscode, 0, reply.statusmsg);
        const { nodes, more } = reply.data as { nodes: Node[]; more: boolean };
        assert.ok(JSON.stringify(nodes).length <= 1024 + 200, `page ${page}: ${JSON.stringify(nodes).length} bytes`);
        found.push(...nodes.map((n) => n.identity));
        if (!more) break;
        after = nodes.at(-1)!.identity;
      }
      assert.deepEqual(found, identities);
    } finally {
      await store.close();
    }
  });
});
