/** The example nettest agent, loaded from a libdir as a daemon would load it. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { agentDirectories, loadAgents, runAction, type Agent, type NodeView } from '../../src/agent/index.js';
import { configFromObject } from '../../src/config/index.js';
import { CapturingLogger } from '../../src/util/log.js';

const libdir = fileURLToPath(new URL('../../examples/agents/', import.meta.url));
const node: NodeView = {
  identity: 'n', collectives: ['mcollective'], mainCollective: 'mcollective', config: configFromObject({}),
  facts: () => ({}), classes: () => [], agents: () => [], stats: () => ({}),
};

async function nettest(): Promise<Agent> {
  const { agents, problems } = await loadAgents(agentDirectories([libdir]).slice(1), new CapturingLogger());
  assert.deepEqual(problems, []);
  return agents.get('nettest')!;
}

const call = async (agent: Agent, action: string, data: Record<string, unknown>, config: Record<string, string> = {}) =>
  runAction(agent, { requestid: 'r', callerid: 'cert=t', senderid: 's', collective: 'mcollective', body: { action, data } }, { node, logger: new CapturingLogger(), config });

describe('examples/agents nettest', () => {
  test('loads from <libdir>/agent', async () => {
    assert.deepEqual(Object.keys((await nettest()).actions).sort(), ['connect', 'echo', 'resolve', 'sleep', 'uptime']);
  });

  test('echo, uptime, sleep (capped by plugin.nettest.max_sleep)', async () => {
    const agent = await nettest();
    assert.deepEqual((await call(agent, 'echo', { message: 'hi' })).data, { message: 'hi' });
    const uptime = (await call(agent, 'uptime', {})).data;
    assert.ok((uptime['system'] as number) >= 0 && (uptime['daemon'] as number) >= 0);
    assert.deepEqual(await call(agent, 'sleep', { seconds: 0 }), { statuscode: 0, statusmsg: 'OK', data: { slept: 0 } });
    const capped = await call(agent, 'sleep', { seconds: 5 }, { max_sleep: '1' });
    assert.deepEqual([capped.statuscode, capped.statusmsg], [4, 'seconds: at most 1 (plugin.nettest.max_sleep)']);
  });

  test('resolve and connect', async () => {
    const agent = await nettest();
    const resolved = await call(agent, 'resolve', { host: 'localhost' });
    assert.equal(resolved.statuscode, 0);
    assert.ok((resolved.data['addresses'] as string[]).length > 0);
    assert.equal((await call(agent, 'resolve', { host: 'bad host!' })).statuscode, 4);
    const server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const open = await call(agent, 'connect', { host: '127.0.0.1', port });
      assert.equal(open.data['connected'], true);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    const closed = await call(agent, 'connect', { host: '127.0.0.1', port });
    assert.equal(closed.data['connected'], false);
    assert.match(String(closed.data['error']), /ECONNREFUSED/);
  });
});
