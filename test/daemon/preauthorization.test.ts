/**
 * Pre-authorization: a large payload from a caller no policy line could allow is refused after the signature
 * verified and before the payload is deserialized (TSC_SEC_UNAUTHORIZED, counted, log rate-limited); small
 * requests keep the status 1 reply; allowed callers are unaffected. Also ActionPolicyAuthorizer.mayCall.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryBroker, MemoryConnector } from '../../plugins/connector/memory/index.js';
import { ActionPolicyAuthorizer } from '../../src/authz/index.js';
import { configFromObject } from '../../src/config/index.js';
import { PREAUTHORIZATION_PAYLOAD_BYTES, preauthorize } from '../../src/daemon/decode.js';
import { startDaemon, type DaemonHandle } from '../../src/daemon/index.js';
import { PreauthorizationError } from '../../src/errors.js';
import { CapturingLogger } from '../../src/util/log.js';
import { MemoryCounters } from '../../src/util/counters.js';
import { testAgent } from './agents.js';
import { FakeSecurity } from './fake-security.js';
import { tempDir, TestClient, waitFor } from './helpers.js';

const secrets = new Map([['alice', 'a-secret'], ['bob', 'b-secret'], ['guarded', 'g-secret'], ['open', 'o-secret']]);
const dir = tempDir('preauth');
const broker = new MemoryBroker({ name: 'preauth-test' });
const big = 'x'.repeat(PREAUTHORIZATION_PAYLOAD_BYTES + 1);

describe('ActionPolicyAuthorizer.mayCall', () => {
  const policies = join(dir, 'mayCall');
  mkdirSync(policies, { recursive: true });
  const write = (agent: string, text: string) => writeFileSync(join(policies, `${agent}.policy`), text);
  write('conditional', 'policy default deny\nallow\tcert=ops\trestart\tcountry=uk\tweb\ndeny\tcert=bob\tstop\t*\t*\n');
  write('blocked', 'policy default allow\ndeny\tcert=bob\t*\t*\t*\nallow\tcert=bob\tstatus\t*\t*\n');
  write('openish', 'policy default allow\ndeny\tcert=bob\tstop\t*\t*\n');
  write('broken', 'policy default maybe\n');
  const authorizer = (extra: Partial<ConstructorParameters<typeof ActionPolicyAuthorizer>[0]> = {}) =>
    new ActionPolicyAuthorizer({ policyDir: policies, enableDefault: false, defaultName: 'default', allowUnconfigured: false, ...extra }, new CapturingLogger());

  test('true when some request of the caller could be allowed, whatever its action and facts', () => {
    const authz = authorizer();
    assert.equal(authz.mayCall('cert=ops', 'conditional'), true, 'an allow rule with conditions still may allow');
    assert.equal(authz.mayCall('cert=bob', 'openish'), true, 'a conditional deny leaves the default allow');
  });

  test('false when every request of the caller is denied', () => {
    const authz = authorizer();
    assert.equal(authz.mayCall('cert=bob', 'conditional'), false, 'no allow rule for bob, default deny');
    assert.equal(authz.mayCall('cert=bob', 'blocked'), false, 'an unconditional deny before any allow decides');
    assert.equal(authz.mayCall('cert=ops', 'broken'), false, 'an invalid policy denies everything');
    assert.equal(authz.mayCall('cert=ops', 'nopolicy'), false, 'no policy without allow_unconfigured');
    assert.equal(authorizer({ allowUnconfigured: true }).mayCall('cert=ops', 'nopolicy'), true);
  });

  test('agrees with authorize(): whenever authorize allows, mayCall is true', () => {
    const authz = authorizer();
    for (const callerid of ['cert=ops', 'cert=bob', 'cert=alice']) {
      for (const agent of ['conditional', 'blocked', 'openish', 'broken', 'nopolicy']) {
        for (const action of ['restart', 'stop', 'status']) {
          const allowed = authz.authorize({ callerid, agent, action, facts: { country: 'uk' }, classes: ['web'] }).allowed;
          if (allowed) assert.equal(authz.mayCall(callerid, agent), true, `${callerid} ${agent}#${action}`);
        }
      }
    }
  });

  test('preauthorize() refuses only large payloads of callers that cannot be allowed', () => {
    const host = { authorizer: authorizer(), preauthorizePayloadBytes: 100 };
    const facts = { requestid: 'r', callerid: 'cert=bob', senderid: 's', agent: 'conditional', collective: 'c' };
    assert.doesNotThrow(() => preauthorize(host, { ...facts, payloadBytes: 100 }));
    assert.throws(() => preauthorize(host, { ...facts, payloadBytes: 101 }), (error: unknown) =>
      error instanceof PreauthorizationError && error.code === 'TSC_SEC_UNAUTHORIZED' && /cert=bob may not call agent conditional at all; its 101-byte payload/.test(error.message));
    assert.doesNotThrow(() => preauthorize(host, { ...facts, callerid: 'cert=ops', payloadBytes: 10_000 }));
    assert.doesNotThrow(() => preauthorize({ authorizer: undefined, preauthorizePayloadBytes: 100 }, { ...facts, payloadBytes: 10_000 }));
  });
});

describe('pre-authorization in the daemon pipeline', () => {
  let guarded: { daemon: DaemonHandle; security: FakeSecurity; logger: CapturingLogger };
  let open: { daemon: DaemonHandle; security: FakeSecurity; logger: CapturingLogger };
  let alice: TestClient;
  let bob: TestClient;

  async function node(identity: string, settings: Record<string, string | number>) {
    const logger = new CapturingLogger();
    const security = new FakeSecurity(identity, secrets);
    const config = configFromObject({ identity, collectives: 'mcollective', connector: 'memory', 'plugin.yaml': join(dir, 'none.yaml'), ...settings });
    const daemon = await startDaemon(config, { provider: security, connector: new MemoryConnector({ identity, logger, counters: new MemoryCounters(), broker }), logger, agents: [testAgent] });
    return { daemon, security, logger };
  }

  before(async () => {
    const policies = join(dir, 'policies');
    mkdirSync(policies, { recursive: true });
    writeFileSync(join(policies, 'testagent.policy'), 'policy default deny\nallow\tcert=alice\t*\t*\t*\n');
    guarded = await node('guarded', { rpcauthorization: 1, 'plugin.actionpolicy.policy_dir': policies });
    open = await node('open', {});
    alice = new TestClient(broker, new FakeSecurity('alice', secrets));
    bob = new TestClient(broker, new FakeSecurity('bob', secrets));
    await alice.start();
    await bob.start();
  });

  after(async () => {
    await alice.stop();
    await bob.stop();
    await guarded.daemon.stop();
    await open.daemon.stop();
  });

  test('a large payload from a caller no policy line allows is refused before it is deserialized', async () => {
    const before = { stats: guarded.daemon.stats(), parsed: guarded.security.deserialized };
    const requestid = await bob.send('testagent', { action: 'greeting', data: { blob: big } }, { node: 'guarded' });
    await waitFor(() => guarded.daemon.stats().unvalidated === before.stats.unvalidated + 1, 'the refusal');
    const after = guarded.daemon.stats();
    assert.equal(guarded.security.deserialized, before.parsed, 'the payload was never parsed');
    assert.equal(after.security['TSC_SEC_UNAUTHORIZED'], (before.stats.security['TSC_SEC_UNAUTHORIZED'] ?? 0) + 1);
    assert.equal(after.preauthorization_refused, before.stats.preauthorization_refused + 1);
    assert.equal(after.unauthorized, before.stats.unauthorized, 'not answered like an authorization refusal');
    assert.ok(guarded.logger.find('warn', 'may not call agent testagent at all').length > 0);
    // A small request from the same caller still gets the status 1 answer naming him.
    const [small] = await bob.call('testagent', 'greeting', {}, { node: 'guarded' });
    assert.equal(small!.body.statuscode, 1);
    assert.match(small!.body.statusmsg, /cert=bob is not authorized to call testagent#greeting/);
    assert.equal(bob.repliesTo(requestid).length, 0, 'the refused large request got no reply');
  });

  test('allowed callers and nodes without authorization decode large payloads as before', async () => {
    const parsed = guarded.security.deserialized;
    const [allowed] = await alice.call('testagent', 'greeting', { blob: big }, { node: 'guarded' });
    assert.equal(allowed!.body.statuscode, 4, 'decoded and handled (the undeclared input is refused by the action)');
    assert.equal(guarded.security.deserialized, parsed + 1);
    const [unguarded] = await bob.call('testagent', 'greeting', { blob: big }, { node: 'open' });
    assert.equal(unguarded!.body.statuscode, 4);
  });

  test('a flood of refused large payloads is counted exactly and logged a bounded number of times', async () => {
    const before = guarded.daemon.stats().preauthorization_refused;
    const lines = guarded.logger.find('warn', 'may not call agent testagent').length;
    for (let i = 0; i < 40; i++) await bob.send('testagent', { action: 'greeting', data: { blob: big } }, { node: 'guarded' });
    await waitFor(() => guarded.daemon.stats().preauthorization_refused === before + 40, 'every refusal');
    assert.ok(guarded.logger.find('warn', 'may not call agent testagent').length - lines <= 10);
  });
});
