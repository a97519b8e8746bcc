/**
 * The registration outage scenario, for any connector: N registering nodes start before the collector (their
 * first registrations find no subscriber), then the "broker" goes down `outages` times. Afterwards it reports,
 * per node, what the node counted (sent, published, acknowledged, failed, ...), what the collector stored, how
 * many acknowledgements the collector published that the node never received (lost in the outage), and how fresh
 * each record was after each recovery. The tests assert the targets on these figures.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { configFromObject } from '../../src/config/index.js';
import { createConnector } from '../../src/connector/registry.js';
import { startDaemon, type DaemonHandle } from '../../src/daemon/index.js';
import type { Connector } from '../../src/inter/connector.js';
import { RecordFiles } from '../../src/registration/index.js';
import { CapturingLogger } from '../../src/util/log.js';
import { MemoryCounters } from '../../src/util/counters.js';
import { FakeSecurity } from './fake-security.js';
import { tempDir, waitFor } from './helpers.js';

/** How to run the scenario. */
export interface OutageScenarioOptions {
  /** Unique per run on a shared broker (include process.pid). */
  collective: string;
  nodes: number;
  /** registerinterval of the nodes, in seconds. */
  intervalSeconds: number;
  outages: number;
  outageMs: number;
  /** How long the nodes run before the collector starts. */
  collectorDelayMs: number;
  /** Configuration settings selecting and tuning the connector (connector = ..., plugin.<connector>.*). */
  connectorSettings: Record<string, string | number | boolean>;
  /** A new connector for a daemon; undefined: the connector connectorSettings name, built from them. */
  connectorFor?(identity: string, logger: CapturingLogger): Connector;
  /** Starts an outage of `ms` and resolves when the broker is usable again. */
  cut(ms: number): Promise<void>;
}

/** What one node counted and what the collector stored for it. */
export interface NodeFigures {
  identity: string;
  sent: number;
  published: number;
  acknowledged: number;
  failed: number;
  refused: number;
  retried: number;
  reconnectRounds: number;
  unmatchedAcknowledgements: number;
  /** Registrations the collector stored for this node (its record's `registrations`). */
  stored: number;
  /** Acknowledgements the collector sent (or tried to send) to this node: one per stored registration. */
  acknowledgementsSent: number;
  /** Acknowledgements sent but never received (each is a stored registration the node counted as failed). */
  lostAcknowledgements: number;
  /**
   * Per recovery: ms between the recovery (the broker back and the collector reconnected, whichever is later: no
   * registration can be stored before both) and the node's first fresh record.
   */
  freshAfterMs: number[];
}

/** Runs the scenario and returns every node's figures. */
export async function runOutageScenario(options: OutageScenarioOptions): Promise<NodeFigures[]> {
  const dir = tempDir('outage');
  const storeDir = join(dir, 'store');
  const identities = Array.from({ length: options.nodes }, (_, i) => `reg${String.fromCharCode(97 + i)}-${process.pid}`);
  const secrets = new Map([...identities, 'collector'].map((name) => [name, `${name}-secret`]));
  const acknowledgementsTo = new Map<string, number>(identities.map((identity) => [identity, 0]));
  const daemons: DaemonHandle[] = [];
  let collectorConnectedAt = 0;

  const start = async (identity: string, settings: Record<string, string | number | boolean>, countAcks = false): Promise<DaemonHandle> => {
    const logger = new CapturingLogger();
    const config = configFromObject({
      identity, collectives: options.collective, 'plugin.yaml': join(dir, 'none.yaml'), ...options.connectorSettings, ...settings,
    }, { source: join(dir, `${identity}.cfg`) });
    const provider = new FakeSecurity(identity, secrets);
    if (countAcks) {
      // Every acknowledgement the collector encodes is one stored registration, whether or not its publish succeeds.
      const encodeReply = provider.encodeReply.bind(provider);
      provider.encodeReply = (reply, request) => {
        if (request.agent === 'registration' && acknowledgementsTo.has(request.senderid)) acknowledgementsTo.set(request.senderid, acknowledgementsTo.get(request.senderid)! + 1);
        return encodeReply(reply, request);
      };
    }
    const connector = options.connectorFor?.(identity, logger)
      ?? createConnector(String(options.connectorSettings['connector']), { config, identity, logger, counters: new MemoryCounters() });
    if (countAcks) connector.on('state', (state) => { if (state === 'connected') collectorConnectedAt = Date.now(); });
    const daemon = await startDaemon(config, { provider, logger, connector });
    daemons.push(daemon);
    return daemon;
  };

  try {
    const nodes = await Promise.all(identities.map((identity) => start(identity, { registerinterval: options.intervalSeconds })));
    await new Promise((resolve) => setTimeout(resolve, options.collectorDelayMs));
    await start('collector', { 'plugin.registration.store_dir': storeDir }, true);
    const store = RecordFiles.open(storeDir);
    const hangGuardMs = options.intervalSeconds * 1000 * 10;
    await waitFor(() => identities.every((identity) => store.get(identity) !== undefined), 'every node registered', hangGuardMs);

    // Snapshot when no node has an attempt in flight, so sent == acknowledged + failed holds for every node.
    const inFlight = (daemon: DaemonHandle): number =>
      daemon.counters.get('registration.sent') - daemon.counters.get('registration.acknowledged') - daemon.counters.get('registration.failed');
    const quiet = (): Promise<void> => waitFor(() => nodes.every((daemon) => inFlight(daemon) === 0), 'a moment without registrations in flight', hangGuardMs);

    const freshAfterMs = new Map<string, number[]>(identities.map((identity) => [identity, []]));
    for (let outage = 0; outage < options.outages; outage++) {
      // The outage starts at a random point of the registration cycle, as a broker crash would.
      await quiet();
      await new Promise((resolve) => setTimeout(resolve, Math.random() * options.intervalSeconds * 1000));
      const cutAt = Date.now();
      await options.cut(options.outageMs);
      const brokerBack = Date.now();
      await waitFor(() => collectorConnectedAt > cutAt, `the collector to reconnect after outage ${outage + 1}`, hangGuardMs);
      const recovered = Math.max(brokerBack, collectorConnectedAt);
      await waitFor(() => identities.every((identity) => (store.get(identity)?.lastSeen ?? 0) >= brokerBack), `every record fresh after outage ${outage + 1}`, hangGuardMs);
      for (const identity of identities) freshAfterMs.get(identity)!.push(store.get(identity)!.lastSeen - recovered);
    }

    await quiet();
    return identities.map((identity, index) => {
      const counters = nodes[index]!.counters;
      const received = counters.get('registration.acknowledged') + counters.get('registration.refused') + counters.get('registration.unmatched_acknowledgements');
      return {
        identity,
        sent: counters.get('registration.sent'),
        published: counters.get('registration.published'),
        acknowledged: counters.get('registration.acknowledged'),
        failed: counters.get('registration.failed'),
        refused: counters.get('registration.refused'),
        retried: counters.get('registration.retried'),
        reconnectRounds: counters.get('registration.reconnect_rounds'),
        unmatchedAcknowledgements: counters.get('registration.unmatched_acknowledgements'),
        stored: store.get(identity)!.registrations,
        acknowledgementsSent: acknowledgementsTo.get(identity)!,
        lostAcknowledgements: acknowledgementsTo.get(identity)! - received,
        freshAfterMs: freshAfterMs.get(identity)!,
      };
    });
  } finally {
    await Promise.allSettled(daemons.map((daemon) => daemon.stop()));
  }
}

/** One line per node of the figures, for the test log and the report. */
export function formatFigures(figures: readonly NodeFigures[]): string[] {
  const rows = figures.map((f) =>
    `${f.identity.padEnd(16)} sent=${f.sent} published=${f.published} acknowledged=${f.acknowledged} stored=${f.stored} failed=${f.failed} `
    + `retried=${f.retried} reconnect_rounds=${f.reconnectRounds} lost_acks=${f.lostAcknowledgements} unmatched_acks=${f.unmatchedAcknowledgements} `
    + `fresh_after_ms=${f.freshAfterMs.join(',')}`);
  return rows;
}

/** The targets, asserted on the figures of any connector's run. */
export function assertOutageTargets(figures: readonly NodeFigures[], intervalSeconds: number, outages: number): void {
  for (const node of figures) {
    const where = `${node.identity}: ${JSON.stringify(node)}`;
    assert.equal(node.stored, node.acknowledgementsSent, `${where}: the collector acknowledges every registration it stores`);
    assert.equal(node.sent - node.stored, node.failed - node.unmatchedAcknowledgements - node.lostAcknowledgements, `${where}: sent - stored == failed (less acknowledgements lost or late)`);
    assert.equal(node.refused, 0, where);
    assert.ok(node.reconnectRounds >= outages, `${where}: registered again on every reconnection`);
    assert.equal(node.freshAfterMs.length, outages);
    for (const ms of node.freshAfterMs) assert.ok(ms <= intervalSeconds * 1000, `${where}: fresh within one interval of the recovery`);
  }
  assert.ok(figures.some((node) => node.failed > 0), 'registrations that found no collector were counted as failed');
}
