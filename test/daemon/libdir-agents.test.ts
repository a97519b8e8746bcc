/**
 * Third-party agents in a libdir outside the repository: a folder package whose index.mjs imports
 * `tscollective/agent` (and a helper module of its own), single-file `.mjs` and `.js` agents, and a daemon reload
 * (what SIGHUP runs) that picks up a new agent and a changed helper module.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryBroker, MemoryConnector } from '../../plugins/connector/memory/index.js';
import { loadAgents, runAction, type Agent, type NodeView } from '../../src/agent/index.js';
import { configFromObject } from '../../src/config/index.js';
import { startDaemon } from '../../src/daemon/index.js';
import { CapturingLogger } from '../../src/util/log.js';
import { MemoryCounters } from '../../src/util/counters.js';
import { FakeSecurity } from './fake-security.js';
import { tempDir, TestClient } from './helpers.js';

const node: NodeView = {
  identity: 'n', collectives: ['mcollective'], mainCollective: 'mcollective', config: configFromObject({}),
  facts: () => ({}), classes: () => [], agents: () => [], stats: () => ({}),
};
const call = (agent: Agent, action: string, data: Record<string, unknown>) =>
  runAction(agent, { requestid: 'r', callerid: 'cert=t', senderid: 's', collective: 'mcollective', body: { action, data } }, { node, logger: new CapturingLogger(), config: {} });

/** Writes a greeter agent package: index.mjs imports tscollective/agent and ./words.mjs. */
function writeGreeter(agentDir: string, word: string): void {
  mkdirSync(join(agentDir, 'greeter', 'lib'), { recursive: true });
  writeFileSync(join(agentDir, 'greeter', 'lib', 'words.mjs'), `export const word = ${JSON.stringify(word)};\n`);
  writeFileSync(join(agentDir, 'greeter', 'index.mjs'), [
    `import { defineAgent } from 'tscollective/agent';`,
    `import { word } from './lib/words.mjs';`,
    `export default defineAgent({`,
    `  name: 'greeter', version: '1.0.0', description: 'Greets, from a package outside the repository',`,
    `  actions: { greet: {`,
    `    description: 'Greets someone',`,
    `    input: { name: { type: 'string', required: true, pattern: /^[a-z]+$/i, maxLength: 20 } },`,
    `    output: { greeting: { description: 'The greeting', display_as: 'Greeting' } },`,
    `    handler: ({ name }) => ({ greeting: word + ' ' + name }),`,
    `  } },`,
    `});`,
  ].join('\n'));
}

describe('libdir agents outside the repository', () => {
  let libdir: string;
  let agentDir: string;

  before(() => {
    libdir = tempDir('thirdparty');
    agentDir = join(libdir, 'agent');
    mkdirSync(agentDir);
  });
  after(() => rmSync(libdir, { recursive: true, force: true }));

  test('a folder package importing tscollective/agent loads and answers; .mjs and .js files load too', async () => {
    writeGreeter(agentDir, 'hello');
    writeFileSync(join(agentDir, 'single.mjs'), `import { defineAgent } from 'tscollective/agent';\nexport default defineAgent({ name: 'single', version: '2.0', description: 'an .mjs agent', actions: { go: { description: 'go', handler: () => ({ went: true }) } } });\n`);
    writeFileSync(join(agentDir, 'plain.js'), `import { defineAgent } from 'tscollective/agent';\nexport default defineAgent({ name: 'plain', version: '1', description: 'a .js agent', actions: { go: { description: 'go', handler: () => ({ plain: 1 }) } } });\n`);
    const { agents, problems } = await loadAgents([agentDir], new CapturingLogger());
    assert.deepEqual(problems, []);
    assert.deepEqual([...agents.keys()].sort(), ['greeter', 'plain', 'single']);
    const greeter = agents.get('greeter')!;
    assert.deepEqual((await call(greeter, 'greet', { name: 'Ada' })).data, { greeting: 'hello Ada' });
    assert.equal((await call(greeter, 'greet', { name: 'Ada 1' })).statuscode, 4);
    assert.equal(greeter.ddl.actions['greet']!.input!['name']!.pattern, '(?i)^[a-z]+$');
    assert.deepEqual((await call(agents.get('single')!, 'go', {})).data, { went: true });
    assert.deepEqual((await call(agents.get('plain')!, 'go', {})).data, { plain: 1 });
  });

  test('an unchanged module is not imported again; a changed helper module is', async () => {
    writeGreeter(agentDir, 'hello');
    const first = (await loadAgents([agentDir], new CapturingLogger())).agents.get('greeter')!;
    const again = (await loadAgents([agentDir], new CapturingLogger())).agents.get('greeter')!;
    assert.equal(again, first, 'same module instance when nothing changed');
    writeFileSync(join(agentDir, 'greeter', 'lib', 'words.mjs'), `export const word = 'good day'; // changed\n`);
    const changed = (await loadAgents([agentDir], new CapturingLogger())).agents.get('greeter')!;
    assert.notEqual(changed, first);
    assert.deepEqual((await call(changed, 'greet', { name: 'Ada' })).data, { greeting: 'good day Ada' });
  });

  test('a daemon reload (SIGHUP) hosts a new libdir agent and the changed code of an existing one', async () => {
    const broker = new MemoryBroker({ name: `libdir-reload-${process.pid}` });
    const reloadLib = tempDir('reload');
    mkdirSync(join(reloadLib, 'agent'));
    writeGreeter(join(reloadLib, 'agent'), 'hi');
    const secrets = new Map([['alice', 'a-secret'], ['node9', 'n9-secret']]);
    const logger = new CapturingLogger();
    const config = configFromObject({ identity: 'node9', collectives: 'mcollective', connector: 'memory', libdir: reloadLib, 'plugin.yaml': join(reloadLib, 'none.yaml') });
    const daemon = await startDaemon(config, {
      provider: new FakeSecurity('node9', secrets), connector: new MemoryConnector({ identity: 'node9', logger, counters: new MemoryCounters(), broker }), logger,
    });
    const alice = new TestClient(broker, new FakeSecurity('alice', secrets));
    await alice.start();
    try {
      assert.ok(daemon.agents().includes('greeter'));
      assert.ok(!daemon.agents().includes('single'));
      writeFileSync(join(reloadLib, 'agent', 'single.mjs'), `import { defineAgent } from 'tscollective/agent';\nexport default defineAgent({ name: 'single', version: '1', description: 'new', actions: { go: { description: 'go', handler: () => ({ new: true }) } } });\n`);
      writeFileSync(join(reloadLib, 'agent', 'greeter', 'lib', 'words.mjs'), `export const word = 'hey';\n`);
      const result = await daemon.reload();
      assert.deepEqual(result.problems, []);
      assert.ok(result.agents.includes('single'));
      const [created] = await alice.call('single', 'go', {}, { node: 'node9' });
      assert.deepEqual(created!.body.data, { new: true });
      const [greeted] = await alice.call('greeter', 'greet', { name: 'bob' }, { node: 'node9' });
      assert.deepEqual(greeted!.body.data, { greeting: 'hey bob' });
    } finally {
      await alice.stop();
      await daemon.stop();
      broker.stop();
      rmSync(reloadLib, { recursive: true, force: true });
    }
  });

  test('TypeScript agents compile against the shipped type declarations of tscollective/agent', async () => {
    const { execFile } = await import('node:child_process');
    const { symlinkSync } = await import('node:fs');
    const root = new URL('../../../', import.meta.url).pathname;
    const project = tempDir('typed');
    try {
      mkdirSync(join(project, 'node_modules'));
      symlinkSync(root, join(project, 'node_modules', 'tscollective'));
      writeFileSync(join(project, 'agent.ts'), [
        `import { defineAgent, type AgentDdl } from 'tscollective/agent';`,
        `const agent = defineAgent({ name: 'typed', version: '1', description: 'typed', actions: { go: { description: 'go', handler: (input, ctx) => ({ who: ctx.callerid, n: input['n'] }) } } });`,
        `export const ddl: AgentDdl = agent.ddl;`,
        `export default agent;`,
      ].join('\n'));
      writeFileSync(join(project, 'bad.ts'), `import { defineAgent } from 'tscollective/agent';\nexport default defineAgent({ name: 'bad', version: '1', description: 'x', actions: { go: { description: 'go', handler: () => 42 } } });\n`);
      const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
      const compile = (file: string) => new Promise<{ code: number; out: string }>((resolve) => {
        execFile(process.execPath, [tsc, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--skipLibCheck', '--types', 'node', '--typeRoots', join(root, 'node_modules', '@types'), file], { cwd: project }, (error, stdout, stderr) => {
          resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` });
        });
      });
      const good = await compile('agent.ts');
      assert.equal(good.code, 0, good.out);
      const bad = await compile('bad.ts');
      assert.notEqual(bad.code, 0, 'a handler returning a number must not type-check');
      assert.match(bad.out, /bad\.ts/);
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  });
});
