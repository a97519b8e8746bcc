/**
 * Who declares RabbitMQ's exchanges over STOMP (docs/brokers.md): a daemon does, through a side AMQP connection,
 * once per collective and connection; a client (tsco) never opens that connection, and a client publishing to a
 * collective no daemon ever declared gets one PublishError naming the exchange, not a loop of reconnects and
 * resends. AMQP connections are counted by a TCP proxy in front of RabbitMQ's AMQP port (broker tests).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe } from 'node:test';
import { createStompConnector } from '../../plugins/connector/stomp/index.js';
import { configFromObject } from '../../src/config/index.js';
import { PublishError } from '../../src/errors.js';
import type { ConnectorRole, InboundMessage } from '../../src/inter/connector.js';
import { MemoryCounters } from '../../src/util/counters.js';
import { CapturingLogger } from '../../src/util/log.js';
import { BROKERS, brokerGate, stompTestSettings } from './harness/brokers.js';
import { TcpProxy } from './harness/tcp-proxy.js';

const gate = await brokerGate('rabbitmq');
const run = `${process.pid}_${randomBytes(3).toString('hex')}`;

describe('stomp connector: who declares RabbitMQ exchanges (broker)', () => {
  let proxy: TcpProxy | undefined;
  before(async () => {
    if (gate.reachable) proxy = await TcpProxy.start({ host: BROKERS.rabbitmq.host, port: BROKERS.rabbitmq.amqpPort! });
  });
  after(async () => proxy?.close());

  const connectorFor = (role: ConnectorRole, identity: string) => {
    const counters = new MemoryCounters();
    const settings = stompTestSettings('rabbitmq', { amqp_port: proxy!.port, publish_timeout: 5 });
    const connector = createStompConnector('rabbitmq', {
      config: configFromObject(settings, { source: 'stomp-client-exchanges.test', env: {} }), identity, logger: new CapturingLogger(), counters, role,
    });
    return { connector, counters };
  };

  gate.test('a daemon declares the exchanges through AMQP; a client publishes to them without an AMQP connection', async () => {
    const collective = `stompx_${run}`;
    const daemon = connectorFor('daemon', `daemon-${run}`);
    const client = connectorFor('client', `client-${run}`);
    try {
      await daemon.connector.connect();
      let received: (message: InboundMessage) => void = () => {};
      const delivered = new Promise<InboundMessage>((resolve) => (received = resolve));
      await daemon.connector.subscribeBroadcast(collective, 'rpcutil', (message) => received(message));
      const declaredBy = proxy!.accepted;
      assert.ok(declaredBy >= 1, 'the daemon opened an AMQP connection to declare the exchanges');

      await client.connector.connect();
      const replies = await client.connector.subscribeReplies(collective, () => {});
      await client.connector.publishRequest({ collective, agent: 'rpcutil', body: Buffer.from('hello'), ttl: 60, replyTo: replies.replyTo });
      assert.equal(Buffer.from((await delivered).body).toString(), 'hello');
      assert.equal(proxy!.accepted, declaredBy, 'the client opened no AMQP connection');
    } finally {
      await client.connector.disconnect();
      await daemon.connector.disconnect();
    }
  });

  gate.test('a client publishing to a collective no daemon declared gets one PublishError naming the exchange', async () => {
    const collective = `stompnone_${run}`;
    const client = connectorFor('client', `client2-${run}`);
    try {
      await client.connector.connect();
      const replies = await client.connector.subscribeReplies(collective, () => {});
      const before = proxy!.accepted;
      await assert.rejects(
        client.connector.publishRequest({ collective, agent: 'rpcutil', body: Buffer.from('x'), ttl: 60, replyTo: replies.replyTo }),
        (error: unknown) => error instanceof PublishError
          && error.message.includes(`no exchange ${collective}_broadcast`) && error.message.includes(`no daemon of collective ${collective}`),
      );
      assert.equal(client.counters.get('connector.rabbitmq.publish_retried'), 0, 'the refused publish was not sent again');
      assert.equal(proxy!.accepted, before, 'the client opened no AMQP connection');
    } finally {
      await client.connector.disconnect();
    }
  });
});
