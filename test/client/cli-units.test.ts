/** tsco's building blocks without a broker: key=value inputs, filters from options, output formatting. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { convertInputs, inferValue, splitKeyValues } from '../../src/cli/tsco/inputs.js';
import { callOptionsFromOptions, filterFromOptions, splitWithFilter, type CommonOptions } from '../../src/cli/tsco/options.js';
import { formatReply, formatReplyWith, formatSummary, jsonDocument, senderLabel, type Streams } from '../../src/cli/tsco/output.js';
import { colorWanted, palette, progress, progressLine } from '../../src/cli/tsco/terminal.js';
import { cellText, formatTable } from '../../src/cli/tsco/table.js';
import { countFactValues, formatFactReport } from '../../src/cli/tsco/facts.js';
import { REPLY_MARGIN_MS, replyTimeoutMs } from '../../src/client/index.js';
import { DEFAULT_TIMEOUT_MS } from '../../src/client/settings.js';
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
    assert.equal(call.limitMethod, undefined, 'a node limit keeps the configured rpclimitmethod');
    const one = callOptionsFromOptions({ ...base, one: true });
    assert.deepEqual(one.limit, { count: 1 });
    assert.equal(one.limitMethod, 'random', '-1 picks a node at random whatever rpclimitmethod says');
    assert.throws(() => callOptionsFromOptions({ ...base, one: true, limitNodes: '2' }), /-1\/--one: conflicts with --limit-nodes/);
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
    timedOut: true,
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
    let written: string[] = [];
    const streams = (tty: boolean): Streams => ({ out: () => undefined, err: (t) => written.push(t), errIsTty: tty });
    const quiet = progress(streams(false));
    quiet.update(1, 3);
    quiet.done();
    assert.equal(written.length, 0);
    const tty = progress(streams(true));
    tty.discovery({ phase: 'start', method: 'mc', timeoutMs: 2000 });
    tty.discovery({ phase: 'end', method: 'mc', nodes: 3, ms: 2001 });
    tty.update(1, 3);
    tty.update(12, 30);
    tty.update(3, 3);
    tty.done();
    const bar = (fill: string) => ` * [ ${fill} ]`;
    assert.deepEqual(written, [
      'Discovering hosts using the mc method for 2 second(s) .... ', '3\n\n',
      `\r${bar(`${'='.repeat(19)}>${' '.repeat(40)}`)} 1 / 3`,
      // A longer line: nothing to blank out; the bar keeps its width.
      `\r${bar(`${'='.repeat(23)}>${' '.repeat(36)}`)} 12 / 30`,
      // A shorter line than before: spaces over what is left of the previous one.
      `\r${bar('='.repeat(60))} 3 / 3  `,
      `\r${' '.repeat(73)}\r`,
    ]);
    assert.ok(written.every((text) => !text.includes('\x1b')), 'no escape sequences');
    written = [];
    const off = progress(streams(true), false);
    off.discovery({ phase: 'start', method: 'mc', timeoutMs: 2000 });
    off.update(1, 3);
    off.done();
    assert.equal(written.length, 0, '--np draws nothing');
    assert.equal(progressLine(0, 4, 40), ` * [ >${' '.repeat(24)} ] 0 / 4`, 'narrow terminals get a shorter bar');
    assert.equal(progressLine(2, 0), ' * 2 / ?');
  });

  test('colours only on a terminal, never with NO_COLOR (unless empty) or TERM=dumb', () => {
    assert.equal(colorWanted(false, {}), false);
    assert.equal(colorWanted(true, {}), true);
    assert.equal(colorWanted(true, { NO_COLOR: '1' }), false);
    assert.equal(colorWanted(true, { NO_COLOR: '' }), true);
    assert.equal(colorWanted(true, { TERM: 'dumb' }), false);
    assert.equal(palette(true).red('x'), '\x1b[31mx\x1b[0m');
    assert.equal(palette(false).red('x'), 'x');
    const failed = reply('n2', 5);
    assert.equal(formatReplyWith(palette(true), failed), `${'n2'.padEnd(40)} \x1b[31mError: boom\x1b[0m\n`);
    assert.equal(formatReplyWith(palette(false), failed), formatReply(failed));
    assert.match(formatSummary(stats, true, palette(true)), /Pass \/ Fail: \x1b\[32m1\x1b\[0m \/ \x1b\[31m1\x1b\[0m/);
    assert.doesNotMatch(formatSummary(stats, true), /\x1b/);
  });

  test('--table: a row per reply, columns in declared order under display names, failures in the status column', () => {
    const action = { description: 'x', output: { value: { description: 'v', display_as: 'Value' }, fact: { description: 'f', display_as: 'Fact' } } };
    const table = formatTable([reply('web1', 0, { fact: 'country', value: 'uk', extra: { a: [1] } }), reply('db10', 5), reply('n3', 0, { value: 'a\nb' })], action);
    assert.equal(table, [
      'Sender  Status       Value  Fact     extra',
      '------  -----------  -----  -------  ---------',
      'web1    OK           uk     country  {"a":[1]}',
      'db10    Error: boom',
      'n3      OK           a\\nb',
      '',
    ].join('\n'));
    assert.equal(formatTable([], undefined), '');
    assert.equal(cellText(null), 'null');
    assert.equal(cellText(undefined), '');
  });

  test('facts: value counts sorted by value, nodes without the fact last; the mco facts layout', () => {
    const get = (sender: string, value: unknown) => reply(sender, 0, { fact: 'country', value });
    const values = countFactValues([get('web2', 'uk'), get('web1', 'uk'), get('db1', 'de'), get('x1', null), reply('bad', 5), get('n9', 8)]);
    assert.deepEqual(values, [
      { value: '8', count: 1, nodes: ['n9'] },
      { value: 'de', count: 1, nodes: ['db1'] },
      { value: 'uk', count: 2, nodes: ['web1', 'web2'] },
      { value: null, count: 1, nodes: ['x1'] },
    ]);
    assert.equal(formatFactReport('country', values.slice(1), false), [
      'Report for fact: country', '', `        ${'de'.padEnd(40)} found 1 times`, `        ${'uk'.padEnd(40)} found 2 times`,
      `        ${'(unknown)'.padEnd(40)} found 1 times`, '',
    ].join('\n'));
    assert.ok(formatFactReport('country', values, true).endsWith('            x1\n'), 'no blank line before the summary\'s own');
    assert.match(formatFactReport('country', values.slice(2, 3), true), /found 2 times\n\n {12}web1\n {12}web2\n/);
    assert.match(formatFactReport('country', [], false), /No values/);
  });
});

describe('the rpc reply timeout', () => {
  test('the agent\'s declared timeout plus the margin; the old default without a description', () => {
    assert.equal(REPLY_MARGIN_MS, 2000);
    assert.equal(replyTimeoutMs({ metadata: { name: 'x', description: 'x', version: '1', timeout: 40 } }), 42_000);
    assert.equal(replyTimeoutMs(exampleAgent.ddl), exampleAgent.ddl.metadata.timeout * 1000 + 2000);
    assert.equal(replyTimeoutMs(undefined), DEFAULT_TIMEOUT_MS);
  });
});
