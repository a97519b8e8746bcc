/**
 * Hostile filters against real daemons over the memory bus (issue 8, items 3 and 5): catastrophic regexes are
 * evaluated and the node stays responsive, backtracking-only regexes are dropped as bad filters, and fact
 * names such as `constructor` find a node's own facts only, in filters, policies and rpcutil.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryBroker, MemoryConnector } from '../../plugins/connector/memory/index.js';
import { configFromObject } from '../../src/config/index.js';
import { startDaemon, type DaemonHandle } from '../../src/daemon/index.js';
import { CapturingLogger } from '../../src/util/log.js';
import { MemoryCounters } from '../../src/util/counters.js';
import type { RequestFilter } from '../../src/inter/message.js';
import { testAgent } from './agents.js';
import { FakeSecurity } from './fake-security.js';
import { filter, tempDir, TestClient, waitFor } from './helpers.js';

const secrets = new Map([['alice', 'a-secret'], ['plain.example.net', 'p-secret'], ['ctor.example.net', 'c-secret']]);
const dir = tempDir('filter-attack');
const broker = new MemoryBroker({ name: `filter-attack-${process.pid}` });
const OBJECT_MEMBERS = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf'];

interface Node { daemon: DaemonHandle; logger: CapturingLogger }

async function startNode(identity: string, facts: string, policyDir: string): Promise<Node> {
  const factsPath = join(dir, `${identity}.yaml`);
  writeFileSync(factsPath, facts);
  const logger = new CapturingLogger();
  const config = configFromObject({
    identity, collectives: 'mcollective', connector: 'memory', 'plugin.yaml': factsPath, fact_cache_time: 0,
    rpcauthorization: 1, 'plugin.actionpolicy.policy_dir': policyDir, 'plugin.actionpolicy.allow_unconfigured': 1,
  }, { source: join(dir, `${identity}.cfg`) });
  const connector = new MemoryConnector({ identity, logger, counters: new MemoryCounters(), broker });
  const daemon = await startDaemon(config, { provider: new FakeSecurity(identity, secrets), connector, logger, agents: [testAgent] });
  return { daemon, logger };
}

describe('hostile filters against running daemons', () => {
  const policyDir = join(dir, 'policies');
  let plain: Node;
  let ctor: Node;
  let alice: TestClient;

  /** The identities that answer a broadcast ping with `f`, once both nodes have dealt with it. */
  async function answering(f: RequestFilter): Promise<string[]> {
    const handled = (): number => plain.daemon.stats().filtered + ctor.daemon.stats().filtered + plain.daemon.stats().bad_filter + ctor.daemon.stats().bad_filter;
    const before = handled();
    const requestid = await alice.send('testagent', { action: 'echo', data: { msg: 'x' } }, { filter: f });
    await waitFor(() => handled() + alice.repliesTo(requestid).length === before + 2, `both nodes handled ${JSON.stringify(f)}`);
    return alice.repliesTo(requestid).map((reply) => reply.senderid).sort();
  }

  before(async () => {
    mkdirSync(policyDir);
    writeFileSync(join(policyDir, 'testagent.policy'), 'policy default deny\nallow\tcert=alice\t*\t*\t*\n');
    writeFileSync(join(policyDir, 'rpcutil.policy'), [
      'policy default deny',
      ...OBJECT_MEMBERS.filter((name) => name !== 'constructor').map((name) => `allow\tcert=alice\t*\t${name}=~/./\t*`),
      `allow\tcert=alice\t*\t${OBJECT_MEMBERS.filter((name) => name !== 'constructor').map((name) => `${name}=~/./`).join(' or ')}\t*`,
      'allow\tcert=alice\t*\tconstructor=~/^built$/ and role=db\t*',
    ].join('\n'));
    plain = await startNode('plain.example.net', 'role: web\n', policyDir);
    ctor = await startNode('ctor.example.net', 'role: db\nconstructor: built\n', policyDir);
    alice = new TestClient(broker, new FakeSecurity('alice', secrets));
    await alice.start();
  });

  after(async () => {
    await alice.stop();
    await plain.daemon.stop();
    await ctor.daemon.stop();
  });

  test('three broadcasts with -I /^((.*)*)*x$/ (the issue\'s attack) are evaluated, and the nodes answer the next request', async () => {
    for (let i = 0; i < 3; i++) assert.deepEqual(await answering(filter({ identity: ['/^((.*)*)*x$/'] })), []);
    assert.deepEqual(await answering(filter({ fact: [{ fact: 'role', operator: '=~', value: '^((.*)*)*db$' }] })), ['ctor.example.net']);
    assert.deepEqual(await answering(filter({ compound: ['/^((.*)*)*x$/ or role=~/^(.*.*)*web$/'] })), ['plain.example.net']);
    assert.deepEqual(await answering(filter({ identity: ['/^(([a-z0-9.]+)+)+$/'] })), ['ctor.example.net', 'plain.example.net']);
  });

  test('a backtracking-only regex is dropped as a bad filter, counted, and the log names the construct', async () => {
    const before = plain.daemon.stats().bad_filter;
    assert.deepEqual(await answering(filter({ cf_class: ['/web(?=server)/'] })), []);
    assert.equal(plain.daemon.stats().bad_filter, before + 1);
    assert.ok(plain.logger.find('warn', 'uses a lookahead "(?=...)", which the linear-time regex engine').length > 0);
  });

  test('fact filters on Object member names match only a node that has such a fact', async () => {
    for (const name of OBJECT_MEMBERS) {
      const having = name === 'constructor' ? ['ctor.example.net'] : [];
      const cases: [RequestFilter, string[]][] = [
        [filter({ fact: [{ fact: name, operator: '=~', value: '/./' }] }), having],
        [filter({ fact: [{ fact: name, operator: '=~', value: 'Object|function' }] }), []],
        [filter({ fact: [{ fact: name, operator: '!=', value: 'nothing' }] }), having],
        [filter({ fact: [{ fact: name, operator: '>=', value: '' }] }), having],
        [filter({ compound: [`${name}=~/./ or fact('${name}')!=nothing`] }), having],
      ];
      for (const [f, expected] of cases) assert.deepEqual(await answering(f), expected, JSON.stringify(f));
    }
    assert.deepEqual(await answering(filter({ fact: [{ fact: 'constructor', operator: '=~', value: '/Object/' }] })), [], 'the issue\'s -F constructor=~/Object/');
    assert.deepEqual(await answering(filter({ compound: ['not constructor=~/./'] })), ['plain.example.net']);
  });

  test('policy fact conditions on Object member names allow only where the node has the fact', async () => {
    const [denied] = await alice.call('rpcutil', 'ping', {}, { node: 'plain.example.net' });
    assert.equal(denied!.body.statuscode, 1, 'no rule matches a node without these facts: policy default deny');
    const [allowed] = await alice.call('rpcutil', 'ping', {}, { node: 'ctor.example.net' });
    assert.equal(allowed!.body.statuscode, 0, 'the node that has a constructor fact matches the compound rule');
  });

  test('rpcutil get_fact(s) answer own facts only, and refuse "__proto__"', async () => {
    const [facts] = await alice.call('rpcutil', 'get_facts', { facts: 'toString, constructor, role, hasOwnProperty' }, { node: 'ctor.example.net' });
    assert.deepEqual({ ...(facts!.body.data['values'] as object) }, { toString: null, constructor: 'built', role: 'db', hasOwnProperty: null });
    const [fact] = await alice.call('rpcutil', 'get_fact', { fact: 'valueOf' }, { node: 'ctor.example.net' });
    assert.deepEqual(fact!.body.data, { fact: 'valueOf', value: null });
    const [proto] = await alice.call('rpcutil', 'get_facts', { facts: 'role,__proto__' }, { node: 'ctor.example.net' });
    assert.deepEqual([proto!.body.statuscode, proto!.body.statusmsg], [4, 'fact name "__proto__" is refused']);
  });
});
