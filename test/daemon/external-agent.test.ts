/**
 * External agents: an executable plus its JSON description in <libdir>/agent, run per request with the request
 * as JSON on standard input. Round trips (ok, explicit failure, failing exit, timeout kill of the whole process
 * group, bad JSON, oversize output, undeclared outputs), inputs refused before the program runs, unfit files
 * refused at load, and the Python example agent.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXTERNAL_LIMITS, EXTERNAL_PROTOCOL, loadAgents, runAction, type Agent, type NodeView } from '../../src/agent/index.js';
import { configFromObject } from '../../src/config/index.js';
import { CapturingLogger } from '../../src/util/log.js';
import { tempDir, waitFor } from './helpers.js';

const node: NodeView = {
  identity: 'node1', collectives: ['mcollective'], mainCollective: 'mcollective', config: configFromObject({}),
  facts: () => ({}), classes: () => [], agents: () => [], stats: () => ({}),
};
const call = (agent: Agent, action: string, data: Record<string, unknown>) =>
  runAction(agent, { requestid: 'req1', callerid: 'cert=alice', senderid: 'client1', collective: 'mcollective', body: { action, data } }, { node, logger: new CapturingLogger(), config: { colour: 'blue' } });

function description(name: string, timeout: number, actions: Record<string, unknown>): string {
  return JSON.stringify({ metadata: { name, description: `test agent ${name}`, version: '1.0.0', timeout }, actions });
}

/** Writes `<dir>/<name>.json` and the executable `<dir>/<name>` (a shell script). */
function writeExternal(dir: string, name: string, script: string, actions: Record<string, unknown>, timeout = 5): void {
  writeFileSync(join(dir, `${name}.json`), description(name, timeout, actions));
  writeFileSync(join(dir, name), `#!/bin/sh\n${script}\n`);
  chmodSync(join(dir, name), 0o755);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('external agents', () => {
  let dir: string;
  let agentDir: string;
  let agents: Map<string, Agent>;
  let problems: string[];

  before(async () => {
    dir = tempDir('external');
    agentDir = join(dir, 'agent');
    mkdirSync(agentDir);
    const marker = join(dir, 'ran');
    writeExternal(agentDir, 'echoer', `touch ${marker}\nprintf '{"data":{"request":'\ncat\nprintf '}}'`, {
      show: {
        description: 'Replies with the request it read',
        input: { msg: { type: 'string', optional: false, pattern: '^[a-z]+$' }, count: { type: 'integer', default: 2 } },
        output: { request: { description: 'The request', type: 'object' }, extra: { description: 'Defaulted', default: 'none' } },
      },
    });
    writeExternal(agentDir, 'failer', 'case "$(cat)" in\n*\\"exit\\"*) echo "the disk is on fire" >&2; exit 3;;\n*\\"refuse\\"*) echo \'{"statuscode":4,"statusmsg":"refused on purpose"}\';;\n*\\"junk\\"*) echo "this is not json";;\n*\\"big\\"*) head -c 2000000 /dev/zero | tr "\\0" a;;\n*\\"extra\\"*) echo \'{"data":{"ok":true,"sneaky":1}}\';;\n*\\"typed\\"*) echo \'{"data":{"ok":"yes"}}\';;\nesac', {
      exit: { description: 'exits 3' },
      refuse: { description: 'replies status 4' },
      junk: { description: 'prints text' },
      big: { description: 'prints too much' },
      extra: { description: 'an undeclared output', output: { ok: { description: 'ok', type: 'boolean' } } },
      typed: { description: 'a mistyped output', output: { ok: { description: 'ok', type: 'boolean' } } },
    });
    writeExternal(agentDir, 'sleeper', `echo $$ > ${join(dir, 'sleeper.pid')}\nsleep 60 &\necho $! > ${join(dir, 'child.pid')}\nwait`, {
      nap: { description: 'Never finishes before the timeout' },
    }, 1);
    // Unfit installations, each refused with the reason.
    writeExternal(agentDir, 'misnamed', 'echo {}', { go: { description: 'go' } });
    writeFileSync(join(agentDir, 'misnamed.json'), description('othername', 5, { go: { description: 'go' } }));
    writeExternal(agentDir, 'noexec', 'echo {}', { go: { description: 'go' } });
    chmodSync(join(agentDir, 'noexec'), 0o644);
    writeExternal(agentDir, 'writable', 'echo {}', { go: { description: 'go' } });
    chmodSync(join(agentDir, 'writable'), 0o777);
    writeExternal(agentDir, 'leaver', `sleep 60 &\necho $! > ${join(dir, 'straggler.pid')}\nhead -c 200000 /dev/zero | tr "\\0" e >&2\necho '{"data":{}}'`, {
      go: { description: 'Leaves a child behind and floods standard error' },
    });
    writeFileSync(join(agentDir, 'linked.json'), description('linked', 5, { go: { description: 'go' } }));
    symlinkSync(join(agentDir, 'leaver'), join(agentDir, 'linked'));
    writeExternal(agentDir, 'badddl', 'echo {}', { go: { description: 'go', input: { x: { type: 'string', pattern: '(a)\\1' } } } });
    writeFileSync(join(agentDir, 'docsonly.json'), description('docsonly', 5, { go: { description: 'documented only' } }));
    const loaded = await loadAgents([agentDir], new CapturingLogger());
    agents = loaded.agents;
    problems = loaded.problems;
    assert.deepEqual([...loaded.descriptions.keys()], ['docsonly']);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('unfit installations are refused at load, each with its reason; the fit ones load', () => {
    assert.deepEqual([...agents.keys()].sort(), ['echoer', 'failer', 'leaver', 'sleeper']);
    const text = problems.join('\n');
    assert.match(text, /misnamed\.json: describes agent othername, but the file and executable are named misnamed/);
    assert.match(text, /noexec\.json: .*noexec is not executable/);
    assert.match(text, /writable\.json: .*writable is writable by group or others/);
    assert.match(text, /badddl\.json: [\s\S]*actions\.go\.input\.x\.pattern: not supported by the linear-time \(RE2\) engine/);
    assert.match(text, /linked\.json: .*linked is a symbolic link/);
    assert.equal(problems.length, 5);
  });

  test('a round trip: the request arrives on standard input, the reply is read from standard output', async () => {
    const reply = await call(agents.get('echoer')!, 'show', { msg: 'hello' });
    assert.equal(reply.statuscode, 0, reply.statusmsg);
    assert.deepEqual(reply.data['request'], {
      protocol: EXTERNAL_PROTOCOL, agent: 'echoer', action: 'show', inputs: { msg: 'hello', count: 2 }, caller: 'cert=alice', senderid: 'client1',
      requestid: 'req1', collective: 'mcollective', identity: 'node1', config: { colour: 'blue' }, timeout: 5,
    });
    assert.equal(reply.data['extra'], 'none', 'a missing output gets its declared default');
  });

  test('inputs are validated against the description before the program runs', async () => {
    rmSync(join(dir, 'ran'), { force: true });
    const missing = await call(agents.get('echoer')!, 'show', {});
    assert.deepEqual([missing.statuscode, missing.statusmsg], [3, 'missing required input(s): msg']);
    const invalid = await call(agents.get('echoer')!, 'show', { msg: 'NOT LOWER', count: 'x' });
    assert.equal(invalid.statuscode, 4);
    assert.match(invalid.statusmsg, /input msg: "NOT LOWER" does not match \/\^\[a-z\]\+\$\/; input count: expected an integer/);
    assert.equal(existsSync(join(dir, 'ran')), false, 'the program never ran');
  });

  test('failures map to status codes: explicit status, exit code, bad JSON, oversize output, undeclared or mistyped outputs', async () => {
    const failer = agents.get('failer')!;
    const cases: Array<[string, number, RegExp]> = [
      ['refuse', 4, /^refused on purpose$/],
      ['exit', 5, /external agent failer#exit: exited with code 3: the disk is on fire/],
      ['junk', 5, /standard output is not JSON/],
      ['big', 5, new RegExp(`standard output larger than ${EXTERNAL_LIMITS.stdoutBytes} bytes`)],
      ['extra', 5, /output sneaky: not declared by this action/],
      ['typed', 5, /output ok: expected a boolean, got "yes"/],
    ];
    for (const [action, status, message] of cases) {
      const reply = await call(failer, action, {});
      assert.equal(reply.statuscode, status, `${action}: ${reply.statusmsg}`);
      assert.match(reply.statusmsg, message, action);
    }
  });

  test('the action timeout aborts the request and kills the whole process group', async () => {
    const reply = await call(agents.get('sleeper')!, 'nap', {});
    assert.deepEqual([reply.statuscode, reply.statusmsg], [1, 'aborted: timed out after 1s']);
    const pid = Number(readFileSync(join(dir, 'sleeper.pid'), 'utf8'));
    const child = Number(readFileSync(join(dir, 'child.pid'), 'utf8'));
    await waitFor(() => !alive(pid) && !alive(child), 'the agent and its child to be killed', EXTERNAL_LIMITS.killGraceMs + 5000);
  });

  test('nothing of a request outlives it: a child left behind is killed; a flood on standard error is bounded', async () => {
    const reply = await call(agents.get('leaver')!, 'go', {});
    assert.deepEqual([reply.statuscode, reply.data], [0, {}]);
    const straggler = Number(readFileSync(join(dir, 'straggler.pid'), 'utf8'));
    await waitFor(() => !alive(straggler), 'the child left behind to be killed');
  });

  test('the Python example agent (examples/external) answers, and fails cleanly on a path that does not exist', async () => {
    const example = fileURLToPath(new URL('../../../examples/external/agent/', import.meta.url));
    const loaded = await loadAgents([example], new CapturingLogger());
    assert.deepEqual(loaded.problems, []);
    const sysinfo = loaded.agents.get('sysinfo')!;
    const disk = await call(sysinfo, 'disk', {});
    assert.equal(disk.statuscode, 0, disk.statusmsg);
    assert.equal(disk.data['path'], '/');
    assert.ok((disk.data['total'] as number) > 0);
    const runtime = await call(sysinfo, 'runtime', {});
    assert.equal(runtime.data['identity'], 'node1');
    const missing = await call(sysinfo, 'disk', { path: '/no/such/path' });
    assert.equal(missing.statuscode, 4);
    assert.match(missing.statusmsg, /cannot read \/no\/such\/path/);
    assert.equal((await call(sysinfo, 'disk', { path: 'relative' })).statuscode, 4);
  });
});
