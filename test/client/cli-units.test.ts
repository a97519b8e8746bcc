/** tsco's building blocks without a broker: key=value inputs, filters from options, output formatting. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { convertInputs, inferValue, splitKeyValues } from '../../src/cli/tsco/inputs.js';
import { callOptionsFromOptions, filterFromOptions, splitWithFilter, type CommonOptions } from '../../src/cli/tsco/options.js';
import { formatReply, formatSummary, jsonDocument, progress, senderLabel, type Streams } from '../../src/cli/tsco/output.js';
import { configPath } from '../../src/cli/tsco/context.js';
import { buildFilter, type RpcReply, type RpcStats } from '../../src/client/index.js';
import { exampleAgent } from './example-agent.js';

const base: CommonOptions = { identity: [], fact: [], class: [], agent: [], select: [], with: [] };

describe('action inputs', () => {
  test('inference: booleans, numbers, JSON, else text', () => {
    assert.equal(inferValue('true'), true);
    assert.equal(inferValue('42'), 42);
    assert.equal(inferValue('-1.5'), -1.5);
    assert.equal(inferValue('007'), '007');
    assert.deepEqual(inferValue('[1,"a"]'), [1, 'a']);
    assert.deepEqual(inferValue('{"a":1}'), { a: 1 });
    assert.equal(inferValue('{not json'), '{not json');
    assert.equal(inferValue('hello world'), 'hello world');
    assert.deepEqual(splitKeyValues(['a=1', 'b=x=y', 'c=']), [['a', '1'], ['b', 'x=y'], ['c', '']]);
    assert.throws(() => splitKeyValues(['novalue', '=x', 'a=1', 'a=2']), (error: Error) =>
      /"novalue" is not key=value/.test(error.message) && /"=x"/.test(error.message) && /input a is given twice/.test(error.message));
  });

  test('declared inputs are typed, and every problem is reported at once', () => {
    assert.deepEqual(convertInputs(['message=hi', 'times=3'], exampleAgent, 'echo'), { data: { message: 'hi', times: 3 }, typing: 'declared' });
    assert.throws(() => convertInputs(['times=x', 'colour=red'], exampleAgent, 'echo'), (error: Error) =>
      /input times: expected an integer, got "x"/.test(error.message) && /input colour is not declared/.test(error.message) && /input message is required/.test(error.message));
    assert.throws(() => convertInputs([], exampleAgent, 'nosuch'), /agent example has no action "nosuch" \(actions: echo, fail, secret\)/);
    assert.deepEqual(convertInputs(['n=5'], undefined, 'any'), { data: { n: 5 }, typing: 'inferred' });
  });
});

describe('filters and call options from the command line', () => {
  test('each filter option lands in its list; -W splits facts from classes', () => {
    const filter = filterFromOptions({
      ...base, identity: ['web1', '/^db/'], fact: ['country=uk', 'os=/linux/'], class: ['web'], agent: ['nettest'],
      select: ['country=uk and not role=db'], with: ['cores>=4', 'base'],
    });
    assert.deepEqual(filter.identity, ['web1', '/^db/']);
    assert.deepEqual(filter.fact, [
      { fact: 'country', operator: '==', value: 'uk' }, { fact: 'os', operator: '=~', value: '/linux/' }, { fact: 'cores', operator: '>=', value: '4' },
    ]);
    assert.deepEqual(filter.cf_class, ['web', 'base']);
    assert.deepEqual(filter.agent, ['nettest']);
    assert.deepEqual(filter.compound, ['country=uk and not role=db']);
    assert.throws(() => filterFromOptions({ ...base, identity: ['/[/'] }), /-I/);
    assert.throws(() => filterFromOptions({ ...base, class: ['a b'] }), /-C: "a b" is neither a name \(.*\) nor a \/regex\//);
    assert.throws(() => filterFromOptions({ ...base, select: ['country=uk and'] }));
  });

  test('-W splits on spaces as MCollective does: entries with an operator are facts, the others classes', () => {
    const filter = filterFromOptions({ ...base, with: ['country=uk web', 'cores>=4  base::ntp /^db/ os=~/red hat/i', 'motd="hello world" role!=db'] });
    assert.deepEqual(filter.fact, [
      { fact: 'country', operator: '==', value: 'uk' },
      { fact: 'cores', operator: '>=', value: '4' },
      { fact: 'os', operator: '=~', value: '/red hat/i' },
      { fact: 'motd', operator: '==', value: 'hello world' },
      { fact: 'role', operator: '!=', value: 'db' },
    ]);
    assert.deepEqual(filter.cf_class, ['web', 'base::ntp', '/^db/']);
    assert.deepEqual(splitWithFilter('  a=/x\\/ y/ b  '), ['a=/x\\/ y/', 'b'], 'an escaped slash does not end the regex');
    assert.throws(() => filterFromOptions({ ...base, with: ['  '] }), /-W: expected fact<op>value or class entries, got nothing/);
    assert.throws(() => filterFromOptions({ ...base, with: ['motd="open web'] }), /-W: unterminated "/);
    assert.throws(() => filterFromOptions({ ...base, with: ['os=~/open web'] }), /-W: unterminated \/regex\//);
    assert.throws(() => filterFromOptions({ ...base, with: ['country=uk we$b'] }), /-W: "we\$b" is neither a name/);
  });

  test('every filter regex is compiled at parse time: backtracking-only constructs are refused before sending', () => {
    for (const options of [
      { identity: ['/^web(?=1)/'] }, { class: ['/(a)\\1/'] }, { agent: ['/(?<!x)y/'] }, { fact: ['role=~/(?!db)/'] },
      { select: ['role=web and /(?=x)/'] }, { with: ['web role=/(w)\\1/'] },
    ]) {
      assert.throws(() => filterFromOptions({ ...base, ...options }), (error: Error) =>
        error.name === 'FilterSyntaxError' && /uses a .*(lookahead|lookbehind|backreference)/.test(error.message), JSON.stringify(options));
    }
    assert.throws(() => filterFromOptions({ ...base, identity: [`/${'a'.repeat(300)}/`] }), /-I: regular expression longer than 256 characters/);
    assert.throws(() => filterFromOptions({ ...base, identity: ['web:1'] }), /-I: "web:1" is neither a name/);
  });

  test('buildFilter (the library\'s entry) checks a filter as a node would, regexes compiled', () => {
    assert.deepEqual(buildFilter({ identity: ['/^web/'] }, { fact: [{ fact: 'os', operator: '=~', value: 'deb' }] }).identity, ['/^web/']);
    assert.throws(() => buildFilter({ cf_class: ['/(?<=a)b/'] }), (error: Error) =>
      error.name === 'FilterSyntaxError' && /filter is invalid: filter\.cf_class\[0\]: .* uses a lookbehind/.test(error.message));
    assert.throws(() => buildFilter({ fact: [{ fact: 'os', operator: '=~', value: '(a)\\1' }] }), /filter\.fact\[0\]: fact os: .* backreference/);
    assert.throws(() => buildFilter({ identity: Array.from({ length: 40 }, (_, i) => `/n${i}/`) }), /40 regular expressions, at most 32/);
  });

  test('timing, batching and limits convert to the client\'s units', () => {
    const call = callOptionsFromOptions({ ...base, timeout: 2.5, dt: 1, ttl: 30, batch: 5, batchSleep: 0.5, limitNodes: '10%', target: 'eu' });
    assert.equal(call.timeoutMs, 2500);
    assert.equal(call.discoveryTimeoutMs, 1000);
    assert.equal(call.ttl, 30);
    assert.equal(call.batchSize, 5);
    assert.equal(call.batchSleepMs, 500);
    assert.deepEqual(call.limit, { percent: 10 });
    assert.equal(call.collective, 'eu');
    assert.throws(() => callOptionsFromOptions({ ...base, batchSleep: 1 }), /--batch-sleep: only meaningful with --batch/);
  });

  test('the configuration path: option, then $TSCO_CONFIG, then ~/.tscollective/client.cfg', () => {
    assert.equal(configPath('/x.cfg', { TSCO_CONFIG: '/y.cfg' }), '/x.cfg');
    assert.equal(configPath(undefined, { TSCO_CONFIG: '/y.cfg' }), '/y.cfg');
    assert.match(configPath(undefined, {}), /\.tscollective\/client\.cfg$/);
  });
});

describe('output', () => {
  const reply = (sender: string, statuscode: 0 | 5, data: Record<string, unknown> = {}, proof: Pick<RpcReply, 'signer' | 'senderProof'> = { signer: `cert=${sender}`, senderProof: 'key-name' }): RpcReply =>
    ({ agent: 'a', action: 'b', sender, statuscode, statusmsg: statuscode === 0 ? 'OK' : 'boom', data, ...proof, rttMs: 1 });
  const stats: RpcStats = {
    discoveryPerformed: true, discovered: 3, responded: 2, ok: 1, failed: 1, discoveryMs: 10, agentMs: 5, totalMs: 15,
    noResponses: ['n3'], ignoredReplies: 0, requestids: ['0'.repeat(32)],
  };

  test('replies, summary and the JSON document', () => {
    assert.equal(formatReply(reply('n1', 0, { msg: 'hi', list: [1] })), 'n1\n    msg: hi\n   list: [\n           1\n         ]\n\n');
    assert.match(formatReply(reply('n2', 5)), /^n2 +Error: boom\n$/);
    const summary = formatSummary(stats, false);
    assert.match(summary, /Finished processing 2 \/ 3 hosts in 15\.00 ms/);
    assert.match(summary, /Pass \/ Fail: 1 \/ 1/);
    assert.match(summary, /No response from:\n\n {3}n3/);
    const doc = JSON.parse(jsonDocument([reply('n1', 0)], stats)) as { items: object[]; stats: RpcStats };
    assert.deepEqual(doc.items, [{
      agent: 'a', action: 'b', sender: 'n1', statuscode: 0, statusmsg: 'OK', data: {}, signer: 'cert=n1', sender_proof: 'key-name', sender_authenticated: true,
    }]);
    assert.equal(doc.stats.discovered, 3);
  });

  test('a reply whose sender name nothing proves is marked, in text and in JSON', () => {
    const shared = reply('n1', 0, { msg: 'hi' }, { signer: 'cert=servers', senderProof: 'shared' });
    assert.match(formatReply(shared), /^n1 \[unauthenticated name: signed by shared key cert=servers\]\n {3}msg: hi\n/);
    assert.match(formatReply({ ...shared, statuscode: 5, statusmsg: 'boom' }), /^n1 \[unauthenticated name: signed by shared key cert=servers\] +Error: boom\n$/);
    assert.match(formatReply(reply('n2', 0, {}, { signer: '', senderProof: 'unsigned' })), /^n2 \[unauthenticated: unsigned reply\]\n/);
    for (const senderProof of ['certificate', 'mapping'] as const) assert.match(formatReply(reply('n3', 0, {}, { signer: 'cert=x', senderProof })), /^n3\n/);
    // What ping prints for each pong.
    assert.equal(senderLabel({ sender: 'web1', signer: 'cert=servers', senderProof: 'shared' }), 'web1 [unauthenticated name: signed by shared key cert=servers]');
    assert.equal(senderLabel({ sender: 'web1', signer: 'cert=web1', senderProof: 'key-name' }), 'web1');
    assert.equal(senderLabel({ sender: 'web1', signer: 'cert=other', senderProof: 'none' }), 'web1 [unauthenticated name: signed by cert=other]');
    const doc = JSON.parse(jsonDocument([shared, reply('n2', 0, {}, { signer: 'cert=n2', senderProof: 'certificate' })], stats)) as { items: Array<Record<string, unknown>> };
    assert.deepEqual(doc.items.map((item) => [item['sender'], item['signer'], item['sender_proof'], item['sender_authenticated']]), [
      ['n1', 'cert=servers', 'shared', false],
      ['n2', 'cert=n2', 'certificate', true],
    ]);
  });

  test('progress is drawn on a terminal only', () => {
    const written: string[] = [];
    const streams = (tty: boolean): Streams => ({ out: () => undefined, err: (t) => written.push(t), errIsTty: tty });
    const quiet = progress(streams(false));
    quiet.update(1, 3);
    quiet.done();
    assert.deepEqual(written, []);
    const tty = progress(streams(true));
    tty.update(1, 3);
    tty.update(2, 3);
    tty.done();
    assert.deepEqual(written, ['\r\x1b[K1 / 3', '\r\x1b[K2 / 3', '\r\x1b[K']);
  });
});
