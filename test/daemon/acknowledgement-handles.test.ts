/**
 * The registration publisher's reply handles: an acknowledgement decodes while its registration's handle is kept
 * (for the registration's ttl; late ones are counted as unmatched), and is refused by the security provider once the
 * handle is gone (`registration.ack_rejected.TSC_SEC_NOT_FOR_US`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBroker, MemoryConnector } from '../../plugins/connector/memory/index.js';
import { Acknowledgements } from '../../src/registration/acknowledgements.js';
import { LogLimiter } from '../../src/util/log-limiter.js';
import { CapturingLogger } from '../../src/util/log.js';
import { MemoryCounters } from '../../src/util/counters.js';
import { FakeSecurity } from './fake-security.js';
import { filter, waitFor } from './helpers.js';

test('acknowledgements decode while the registration\'s handle is kept, and are refused once it expired', async () => {
  const broker = new MemoryBroker({ name: `ack-handles-${process.pid}` });
  const secrets = new Map([['node1', 's1'], ['collector', 's2']]);
  const node = new FakeSecurity('node1', secrets);
  const collector = new FakeSecurity('collector', secrets);
  const logger = new CapturingLogger();
  const counters = new MemoryCounters();
  const connector = new MemoryConnector({ identity: 'node1', logger, counters: new MemoryCounters(), broker });
  const collectorBus = new MemoryConnector({ identity: 'collector', logger, counters: new MemoryCounters(), broker });
  await Promise.all([connector.connect(), collectorBus.connect()]);
  const acks = new Acknowledgements({ identity: 'node1', collective: 'mcollective', provider: node, connector, counters, limiter: new LogLimiter(logger) });
  await acks.open();
  const acknowledge = async (requestid: string, ttl: number) => {
    const { wire, handle } = node.encodeRequest({ requestid, senderid: 'node1', agent: 'registration', collective: 'mcollective', filter: filter(), ttl, body: [] });
    acks.keep(handle, ttl);
    const decoded = collector.decodeRequest(wire);
    const reply = collector.encodeReply({ senderid: 'collector', senderagent: 'registration', body: { statuscode: 0, statusmsg: 'OK', data: { stored: true, identity: 'node1' } } }, decoded);
    await collectorBus.publishReply(acks.replyTo!, reply, 60);
  };
  await acknowledge('a1'.repeat(16), 60);
  await waitFor(() => counters.get('registration.unmatched_acknowledgements') === 1, 'the late acknowledgement, decoded');
  await acknowledge('b2'.repeat(16), 0);
  await waitFor(() => counters.get('registration.ack_rejected.TSC_SEC_NOT_FOR_US') === 1, 'the acknowledgement whose handle expired');
  assert.equal(counters.get('registration.unmatched_acknowledgements'), 1);
  await acks.close('done');
  await Promise.all([connector.disconnect(), collectorBus.disconnect()]);
});
