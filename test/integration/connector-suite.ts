/**
 * The connector conformance suite: the same node:test tests for every connector (memory, amqp,
 * activemq, rabbitmq), so they all route the way MCollective does.
 *
 * What a connector must do to pass:
 * - a broadcast reaches every subscriber of (collective, agent), and no subscriber of another agent;
 * - a directed request reaches only the named node's directed subscription;
 * - a reply reaches only the client that owns the reply destination;
 * - bodies arrive byte-exact and `sender` is the publisher's identity (`mc_sender`);
 * - messages of one subscription are handed to its handler one at a time (the next waits until the
 *   handler's promise settles), and a message whose TTL (plus the connector's grace) has elapsed
 *   before its turn is dropped, by the broker or by the connector, never handed to the handler;
 * - after a broker restart the connector reconnects by itself, its subscriptions come back, and its
 *   reply destination keeps working (when `restartBroker` is given).
 *
 * The broker's reachability is decided once, before the tests are declared (`gate`, from
 * harness/brokers.ts): when it is unreachable every test is reported as skipped with the reason, and
 * with CI=true every test fails naming the broker instead. A test never passes without running.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test as nodeTest } from 'node:test';
import type { ServiceGate } from '../harness/gate.js';
import type { Connector, ConnectorState, InboundMessage, ReplySubscription } from '../../src/inter/connector.js';

/** How to run the suite against one connector. */
export interface ConnectorSuiteOptions {
  /** Shown in test names and in the "not reachable" line, for example `amqp (rabbitmq 127.0.0.1:5672)`. */
  name: string;
  /** A new, unconnected connector whose `mc_sender` is `identity`; the suite connects and disconnects it. */
  makeConnector(identity: string): Connector;
  /** Whether the broker can be used (probed once, before the tests are declared); omitted for in-process brokers. */
  gate?: ServiceGate;
  /** Restarts the broker (or simulates an outage and recovery); enables the restart test. */
  restartBroker?(): Promise<void>;
  /** Seconds the connectors add to a message's TTL before it expires (their TTL grace); default 0. */
  ttlGraceSeconds?: number;
  /** How long a message that should arrive may take, in ms; default 5000. */
  deliveryTimeoutMs?: number;
  /** How long after a restart the connectors may take to be usable again, in ms; default 60000. */
  reconnectTimeoutMs?: number;
  /** How long to watch for messages that must not arrive, in ms; default 400. */
  quietPeriodMs?: number;
}

/** Declares the conformance tests for one connector (call at module top level of a *.test.ts file). */
export function runConnectorSuite(options: ConnectorSuiteOptions): void {
  const deliveryTimeoutMs = options.deliveryTimeoutMs ?? 5000;
  const quietPeriodMs = options.quietPeriodMs ?? 400;
  const run = randomBytes(3).toString('hex');
  const collective = `suite_${run}`;
  let sequence = 0;
  const identity = (role: string): string => `${role}-${run}-${++sequence}.example.net`;

  const test = (name: string, fn: () => Promise<void>): void => {
    if (options.gate) options.gate.test(name, fn);
    else nodeTest(name, fn);
  };

  describe(`connector conformance: ${options.name}`, () => {
    test('a broadcast reaches every subscriber of the agent and no subscriber of another agent', async () => {
      await withConnectors(options, async (make) => {
        const [a, b, c, client] = await Promise.all([make(identity('a')), make(identity('b')), make(identity('c')), make(identity('client'))]);
        const inboxA = new Inbox(), inboxB = new Inbox(), inboxC = new Inbox();
        await a.connector.subscribeBroadcast(collective, 'suiteping', inboxA.handler);
        await b.connector.subscribeBroadcast(collective, 'suiteping', inboxB.handler);
        await c.connector.subscribeBroadcast(collective, 'suiteother', inboxC.handler);

        const body = binaryBody('broadcast');
        await client.connector.publishRequest({ collective, agent: 'suiteping', body, ttl: 60 });

        for (const [who, inbox] of [['a', inboxA], ['b', inboxB]] as const) {
          const message = await inbox.next(deliveryTimeoutMs, `broadcast at node ${who}`);
          assert.deepEqual(Buffer.from(message.body), Buffer.from(body), `node ${who} got the body byte-exact`);
          assert.equal(message.sender, client.identity, `node ${who} sees the publisher as mc_sender`);
        }
        await sleep(quietPeriodMs);
        assert.equal(inboxA.messages.length, 1, 'node a got the broadcast exactly once');
        assert.equal(inboxB.messages.length, 1, 'node b got the broadcast exactly once');
        assert.equal(inboxC.messages.length, 0, 'a subscriber of another agent got nothing');
      });
    });

    test('a directed request reaches only the named node', async () => {
      await withConnectors(options, async (make) => {
        const [a, b, client] = await Promise.all([make(identity('a')), make(identity('b')), make(identity('client'))]);
        const directedA = new Inbox(), directedB = new Inbox(), broadcastA = new Inbox(), broadcastB = new Inbox();
        await a.connector.subscribeDirected(collective, a.identity, directedA.handler);
        await b.connector.subscribeDirected(collective, b.identity, directedB.handler);
        await a.connector.subscribeBroadcast(collective, 'suitedirect', broadcastA.handler);
        await b.connector.subscribeBroadcast(collective, 'suitedirect', broadcastB.handler);

        const body = binaryBody('directed');
        await client.connector.publishRequest({ collective, agent: 'suitedirect', body, ttl: 60, node: b.identity });

        const message = await directedB.next(deliveryTimeoutMs, 'directed request at node b');
        assert.deepEqual(Buffer.from(message.body), Buffer.from(body));
        assert.equal(message.sender, client.identity);
        await sleep(quietPeriodMs);
        assert.equal(directedB.messages.length, 1, 'node b got the request exactly once');
        assert.equal(directedA.messages.length, 0, 'node a did not get a request directed at b');
        assert.equal(broadcastA.messages.length + broadcastB.messages.length, 0, 'a directed request is not broadcast');
      });
    });

    test('replies reach only the requester that owns the reply destination', async () => {
      await withConnectors(options, async (make) => {
        const [server, first, second] = await Promise.all([make(identity('server')), make(identity('first')), make(identity('second'))]);
        await server.connector.subscribeBroadcast(collective, 'suitereply', async (request) => {
          assert.ok(request.replyTo, 'the request carries its reply destination');
          const reply = Buffer.concat([Buffer.from('reply-to:'), Buffer.from(request.body)]);
          await server.connector.publishReply(request.replyTo, reply, 60);
        });
        const firstReplies = new Inbox(), secondReplies = new Inbox();
        const firstSub = await first.connector.subscribeReplies(collective, firstReplies.handler);
        const secondSub = await second.connector.subscribeReplies(collective, secondReplies.handler);
        assert.notEqual(firstSub.replyTo, secondSub.replyTo, 'each client has its own reply destination');

        await first.connector.publishRequest({ collective, agent: 'suitereply', body: Buffer.from('from-first'), ttl: 60, replyTo: firstSub.replyTo });
        const reply = await firstReplies.next(deliveryTimeoutMs, 'reply at the first client');
        assert.equal(Buffer.from(reply.body).toString(), 'reply-to:from-first');
        assert.equal(reply.sender, server.identity, 'the reply carries the replying node as mc_sender');

        await second.connector.publishRequest({ collective, agent: 'suitereply', body: Buffer.from('from-second'), ttl: 60, replyTo: secondSub.replyTo });
        const secondReply = await secondReplies.next(deliveryTimeoutMs, 'reply at the second client');
        assert.equal(Buffer.from(secondReply.body).toString(), 'reply-to:from-second');

        await sleep(quietPeriodMs);
        assert.deepEqual(firstReplies.texts(), ['reply-to:from-first'], 'the first client got only its own reply');
        assert.deepEqual(secondReplies.texts(), ['reply-to:from-second'], 'the second client got only its own reply');
      });
    });

    test('a message whose TTL elapses before its turn is not delivered', async () => {
      await withConnectors(options, async (make) => {
        const [node, client] = await Promise.all([make(identity('node')), make(identity('client'))]);
        const inbox = new Inbox();
        let release!: () => void;
        const held = new Promise<void>((resolve) => (release = resolve));
        // The handler holds the first message, so the next ones wait (in the broker's queue or the connector's).
        await node.connector.subscribeDirected(collective, node.identity, async (message) => {
          inbox.handler(message);
          if (Buffer.from(message.body).toString() === 'first') await held;
        });
        const send = (text: string, ttl: number): Promise<void> =>
          client.connector.publishRequest({ collective, agent: 'suitettl', body: Buffer.from(text), ttl, node: node.identity });

        await send('first', 60);
        await inbox.next(deliveryTimeoutMs, 'the first (held) message');
        await send('short-lived', 1);
        await send('last', 60);
        // Wait past the short-lived message's TTL + grace before letting the queue move again.
        await sleep((1 + (options.ttlGraceSeconds ?? 0)) * 1000 + 1500);
        release();
        await inbox.waitFor((texts) => texts.includes('last'), deliveryTimeoutMs, 'the message sent after the expired one');
        assert.deepEqual(inbox.texts(), ['first', 'last'], 'the expired message was dropped, the others delivered in order');
      });
    });

    if (options.restartBroker) {
      const restartBroker = options.restartBroker;
      test('a broker restart is survived: subscriptions come back and a request gets its replies', async () => {
        await withConnectors(options, async (make) => {
          const [node, client] = await Promise.all([make(identity('node')), make(identity('client'))]);
          const requests = new Inbox();
          const answer = async (request: InboundMessage): Promise<void> => {
            requests.handler(request);
            if (request.replyTo) await node.connector.publishReply(request.replyTo, Buffer.concat([Buffer.from('ack:'), Buffer.from(request.body)]), 60);
          };
          await node.connector.subscribeBroadcast(collective, 'suiterestart', answer);
          await node.connector.subscribeDirected(collective, node.identity, answer);
          const replies = new Inbox();
          const replySub = await client.connector.subscribeReplies(collective, replies.handler);

          await roundTrip(client.connector, replySub, replies, 'before', undefined, deliveryTimeoutMs);

          await restartBroker();
          const reconnectTimeoutMs = options.reconnectTimeoutMs ?? 60_000;
          await waitUntil(() => node.connector.state === 'connected' && client.connector.state === 'connected', reconnectTimeoutMs, 'both connectors connected again after the restart');
          assert.ok(node.states.includes('reconnecting'), `the node noticed the outage (states: ${node.states.join(' > ')})`);
          assert.ok(client.states.includes('reconnecting'), `the client noticed the outage (states: ${client.states.join(' > ')})`);

          // Broadcast after the restart, then directed: both subscriptions and the reply destination are back.
          await roundTrip(client.connector, replySub, replies, 'after-broadcast', undefined, reconnectTimeoutMs);
          await roundTrip(client.connector, replySub, replies, 'after-directed', node.identity, reconnectTimeoutMs);
        });
      });
    }
  });

  /** Publishes a request with `tag` until its reply arrives (messages sent while subscriptions are being restored may be lost). */
  async function roundTrip(client: Connector, replySub: ReplySubscription, replies: Inbox, tag: string, node: string | undefined, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 1; ; attempt++) {
      const body = Buffer.from(`${tag}#${attempt}`);
      const request = { collective, agent: 'suiterestart', body, ttl: 60, replyTo: replySub.replyTo, ...(node === undefined ? {} : { node }) };
      await client.publishRequest(request);
      const wanted = `ack:${tag}#${attempt}`;
      try {
        await replies.waitFor((texts) => texts.includes(wanted), Math.min(deliveryTimeoutMs, Math.max(1, deadline - Date.now())), `reply ${wanted}`);
        return;
      } catch (error) {
        if (Date.now() >= deadline) throw error;
      }
    }
  }
}

/** A connector made for one test, with the states it went through. */
interface TestConnector {
  identity: string;
  connector: Connector;
  states: ConnectorState[];
}

/** Runs `body` with a factory of connected connectors, and disconnects all of them afterwards. */
async function withConnectors(options: ConnectorSuiteOptions, body: (make: (identity: string) => Promise<TestConnector>) => Promise<void>): Promise<void> {
  const made: TestConnector[] = [];
  const make = async (identity: string): Promise<TestConnector> => {
    const connector = options.makeConnector(identity);
    const entry: TestConnector = { identity, connector, states: [] };
    connector.on('state', (state) => entry.states.push(state));
    made.push(entry);
    assert.deepEqual(connector.validate(), [], `connector for ${identity} is configured correctly`);
    await connector.connect();
    return entry;
  };
  try {
    await body(make);
  } finally {
    await Promise.allSettled(made.map((entry) => entry.connector.disconnect()));
  }
}

/** Collects the messages a handler receives, and waits for them. */
class Inbox {
  readonly messages: InboundMessage[] = [];
  private readonly listeners = new Set<() => void>();

  /** The handler to subscribe with. */
  readonly handler = (message: InboundMessage): void => {
    this.messages.push(message);
    for (const listener of this.listeners) listener();
  };

  /** The bodies received so far, as UTF-8 text. */
  texts(): string[] {
    return this.messages.map((m) => Buffer.from(m.body).toString());
  }

  /** The next message not yet returned by next(). */
  async next(timeoutMs: number, what: string): Promise<InboundMessage> {
    const index = this.taken++;
    await this.waitFor(() => this.messages.length > index, timeoutMs, what);
    return this.messages[index]!;
  }

  private taken = 0;

  /** Waits until `predicate(texts)` holds; fails naming `what` after `timeoutMs`. */
  waitFor(predicate: (texts: string[]) => boolean, timeoutMs: number, what: string): Promise<void> {
    if (predicate(this.texts())) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!predicate(this.texts())) return;
        clearTimeout(timer);
        this.listeners.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.listeners.delete(check);
        reject(new assert.AssertionError({ message: `timed out after ${timeoutMs} ms waiting for ${what}; received: ${JSON.stringify(this.texts())}` }));
      }, timeoutMs);
      this.listeners.add(check);
    });
  }
}

/** Polls `condition` every 25 ms until it holds; fails naming `what` after `timeoutMs`. */
async function waitUntil(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await sleep(25);
  }
}

/** A body with every byte value, so encoding damage (UTF-8, NUL, high bytes) shows. */
function binaryBody(tag: string): Uint8Array {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  return Buffer.concat([Buffer.from(`${tag}:`), all, Buffer.from([0, 0xff, 0xfe, 0x0a, 0x0d])]);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
