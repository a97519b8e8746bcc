/**
 * The registration publisher on its own: unacknowledged attempts are retried with a doubling back-off and at
 * most MAX_ATTEMPTS times per round, every attempt is counted (sent == acknowledged + failed), the give-up is
 * logged once, and a reconnection starts a round at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBroker, MemoryConnector } from '../../plugins/connector/memory/index.js';
import { MAX_ATTEMPTS, RegistrationPublisher } from '../../src/registration/index.js';
import { CapturingLogger } from '../../src/util/log.js';
import { MemoryCounters } from '../../src/util/counters.js';
import { FakeSecurity } from './fake-security.js';
import { waitFor } from './helpers.js';

function publisher(broker: MemoryBroker, ackWaitMs: number) {
  const logger = new CapturingLogger();
  const counters = new MemoryCounters();
  const connector = new MemoryConnector({ identity: 'lonely', logger, counters: new MemoryCounters(), broker, options: { publishTimeoutMs: 100 } });
  const published: number[] = [];
  const publishRequest = connector.publishRequest.bind(connector);
  connector.publishRequest = async (request) => {
    published.push(Date.now());
    await publishRequest(request);
  };
  const created = new RegistrationPublisher({
    identity: 'lonely', collective: 'mcollective', collectives: ['mcollective'], kind: 'agentlist', interval: 3600, splay: false, ttl: 60,
    provider: new FakeSecurity('lonely', new Map([['lonely', 's']])), connector, logger, counters,
    agents: () => ['rpcutil'], facts: () => ({}), classes: () => [], ackWaitMs,
  });
  return { created, connector, logger, counters, published };
}

test('without a collector: MAX_ATTEMPTS attempts with a doubling back-off, each counted failed, one give-up line', async () => {
  const { created, connector, logger, counters, published } = publisher(new MemoryBroker(), 20);
  await connector.connect();
  await created.start();
  try {
    await waitFor(() => logger.find('warn', 'registration not acknowledged after').length === 1, 'the round to give up');
    assert.equal(counters.get('registration.sent'), MAX_ATTEMPTS);
    assert.equal(counters.get('registration.failed'), MAX_ATTEMPTS);
    assert.equal(counters.get('registration.retried'), MAX_ATTEMPTS - 1);
    assert.equal(counters.get('registration.acknowledged'), 0);
    const gaps = published.slice(1).map((at, i) => at - published[i]!);
    // Each gap is the acknowledgement wait plus the back-off, which doubles: 20+20, 20+40, 20+80 ms at least.
    gaps.forEach((gap, i) => assert.ok(gap >= 20 + 20 * 2 ** i - 5, `gap ${i + 1} is ${gap} ms`));
    assert.match(logger.find('warn', 'registration not acknowledged after')[0]!.msg, new RegExp(`after ${MAX_ATTEMPTS} attempt`));
  } finally {
    await created.stop();
    await connector.disconnect();
  }
});

test('a reconnection starts a round at once; stop() counts an attempt still waiting as failed', async () => {
  const broker = new MemoryBroker();
  const { created, connector, counters, logger } = publisher(broker, 60_000);
  await connector.connect();
  await created.start();
  try {
    await waitFor(() => counters.get('registration.published') === 1, 'the first registration');
    broker.stop();
    broker.start();
    await waitFor(() => counters.get('registration.published') === 2, 'the registration after the reconnection');
    assert.equal(counters.get('registration.reconnect_rounds'), 1);
    assert.ok(logger.find('info', 'connection returned: registering now').length === 1);
  } finally {
    await created.stop();
    await connector.disconnect();
  }
  assert.equal(counters.get('registration.sent'), counters.get('registration.acknowledged') + counters.get('registration.failed'));
});
