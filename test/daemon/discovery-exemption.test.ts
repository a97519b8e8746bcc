/**
 * The one exemption from action policy (docs/daemon.md, "Authorization"): a `discovery#ping` from a caller no
 * policy allows is answered, never counted or logged as a denial, and still audited and counted; a large discovery
 * payload from such a caller is still refused by pre-authorization; every other action stays under the policy.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryBroker, MemoryConnector } from '../../plugins/connector/memory/index.js';
import { configFromObject } from '../../src/config/index.js';
import { PREAUTHORIZATION_PAYLOAD_BYTES } from '../../src/daemon/decode.js';
import { startDaemon, type DaemonHandle } from '../../src/daemon/index.js';
import { exemptFromAuthorization } from '../../src/daemon/pipeline.js';
import { CapturingLogger } from '../../src/util/log.js';
import { MemoryCounters } from '../../src/util/counters.js';
import { testAgent } from './agents.js';
import { FakeSecurity } from './fake-security.js';
import { tempDir, TestClient, waitFor } from './helpers.js';

const secrets = new Map([['alice', 'a-secret'], ['bob', 'b-secret'], ['guarded', 'g-secret']]);
const dir = tempDir('discovery-exemption');
const broker = new MemoryBroker({ name: `discovery-exemption-${process.pid}` });
const auditLog = join(dir, 'audit.log');

describe('discovery is exempt from action policy', () => {
  let daemon: DaemonHandle;
  let logger: CapturingLogger;
  let bob: TestClient;

  before(async () => {
    const policies = join(dir, 'policies');
    mkdirSync(policies, { recursive: true });
    // Only alice may call testagent; there is no discovery or default policy, and unconfigured agents are denied.
    writeFileSync(join(policies, 'testagent.policy'), 'policy default deny\nallow\tcert=alice\t*\t*\t*\n');
    logger = new CapturingLogger();
    const config = configFromObject({
      identity: 'guarded', collectives: 'mcollective', connector: 'memory', 'plugin.yaml': join(dir, 'none.yaml'),
      rpcauthorization: 1, 'plugin.actionpolicy.policy_dir': policies, rpcaudit: 1, 'plugin.rpcaudit.logfile': auditLog,
    });
    daemon = await startDaemon(config, {
      provider: new FakeSecurity('guarded', secrets), connector: new MemoryConnector({ identity: 'guarded', logger, counters: new MemoryCounters(), broker }),
      logger, agents: [testAgent],
    });
    bob = new TestClient(broker, new FakeSecurity('bob', secrets));
    await bob.start();
  });
  after(async () => {
    await bob?.stop();
    await daemon?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('only discovery#ping is exempt', () => {
    assert.equal(exemptFromAuthorization('discovery', 'ping'), true);
    for (const [agent, action] of [['discovery', 'other'], ['rpcutil', 'ping'], ['registration', 'register'], ['testagent', 'ping']]) {
      assert.equal(exemptFromAuthorization(agent!, action!), false, `${agent}#${action}`);
    }
  });

  test('a caller no policy allows gets a pong: no denial counted or logged, audited and counted like any request', async () => {
    const before = daemon.stats();
    const [pong] = await bob.call('discovery', 'ping');
    assert.equal(pong!.body.statuscode, 0, pong!.body.statusmsg);
    assert.equal(pong!.body.data['message'], 'pong');
    const after = daemon.stats();
    assert.equal(after.unauthorized, before.unauthorized);
    assert.equal(after.passed, before.passed + 1);
    assert.ok(!logger.records.some((record) => /denied .*discovery#ping/.test(record.msg)));
    const audited = readFileSync(auditLog, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { agent: string; action: string; caller: string });
    assert.ok(audited.some((line) => line.agent === 'discovery' && line.action === 'ping' && line.caller.startsWith('cert=bob@')), 'the ping is in the audit log');
  });

  test('every other action of the same caller is still denied; a large discovery payload is still pre-authorized', async () => {
    const before = daemon.stats();
    const [denied] = await bob.call('testagent', 'greeting');
    assert.equal(denied!.body.statuscode, 1);
    assert.match(denied!.body.statusmsg, /cert=bob is not authorized to call testagent#greeting/);
    const [rpcutil] = await bob.call('rpcutil', 'ping');
    assert.equal(rpcutil!.body.statuscode, 1);
    assert.equal(daemon.stats().unauthorized, before.unauthorized + 2);

    const requestid = await bob.send('discovery', { action: 'ping', data: { blob: 'x'.repeat(PREAUTHORIZATION_PAYLOAD_BYTES + 1) } });
    await waitFor(() => daemon.stats().preauthorization_refused === before.preauthorization_refused + 1, 'the pre-authorization refusal');
    assert.equal(bob.repliesTo(requestid).length, 0);
  });
});
