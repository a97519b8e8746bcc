/**
 * A small real cluster for client tests: RSA keys made with src/keys, in-process daemons (startDaemon) with the
 * aes_security provider, facts and classes per node, an action policy, and the matching client configuration
 * (as an object, or written as a client.cfg file for the CLI). The connector settings are the caller's.
 */
import { mkdirSync, rmSync, writeFileSync, copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '../../plugins/security/aes_security/index.js';
import { configFromObject } from '../../src/config/index.js';
import { startDaemon, type DaemonHandle } from '../../src/daemon/index.js';
import type { Agent } from '../../src/agent/types.js';
import { generateKeyPairFiles, type KeyPairFiles } from '../../src/keys/index.js';
import { CapturingLogger } from '../../src/util/log.js';
import { exampleAgent } from './example-agent.js';

export { exampleAgent };

/** One simulated node. */
export interface NodeSpec {
  identity: string;
  facts: Record<string, string>;
  classes: string[];
  /** In-process agents this node hosts besides the example agent. */
  agents?: Agent[];
  /** Settings of this node only (registration, legacy mode), over the shared ones. */
  settings?: Record<string, string | number>;
}

/** The default three nodes: two web servers in the UK, a database in Germany. */
export const NODES: NodeSpec[] = [
  { identity: 'web1', facts: { country: 'uk', role: 'web', cores: '4' }, classes: ['web', 'base'] },
  { identity: 'web2', facts: { country: 'de', role: 'web', cores: '8' }, classes: ['web', 'base'] },
  { identity: 'db1', facts: { country: 'uk', role: 'db', cores: '16' }, classes: ['db', 'base'] },
];

/** The files and settings of a test cluster. */
export interface Cluster {
  dir: string;
  certDir: string;
  client: KeyPairFiles;
  intruder: KeyPairFiles;
  daemons: DaemonHandle[];
  loggers: CapturingLogger[];
  /** The client configuration settings for identity `tester`. */
  clientSettings: Record<string, string | number>;
  /** Writes the client settings (plus `extra`) as a cfg file; returns its path. */
  writeClientConfig(name: string, extra?: Record<string, string | number>): string;
  stop(): Promise<void>;
}

/** Builds keys, facts and policies under a temporary directory and starts one daemon per node. */
export async function startCluster(
  connectorSettings: Record<string, string | number>, nodes: NodeSpec[] = NODES, policies: Record<string, string> = {},
): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), 'tsc-cluster-'));
  const keyDir = join(dir, 'keys');
  const certDir = join(dir, 'certs');
  const policyDir = join(dir, 'policies');
  for (const d of [certDir, policyDir]) mkdirSync(d, { recursive: true });
  const [client, intruder, ...serverKeys] = await Promise.all([
    generateKeyPairFiles('tester', { dir: keyDir }),
    generateKeyPairFiles('intruder', { dir: join(dir, 'intruder') }),
    ...nodes.map((node) => generateKeyPairFiles(node.identity, { dir: keyDir })),
  ]);
  // One directory of trusted public keys, used by servers (for the client) and by the client (for servers).
  copyFileSync(client!.publicPath, join(certDir, 'tester.pem'));
  nodes.forEach((node, i) => copyFileSync(serverKeys[i]!.publicPath, join(certDir, `${node.identity}.pem`)));
  writeFileSync(join(policyDir, 'example.policy'), 'policy default deny\nallow\tcert=tester\techo fail\t*\t*\n');
  // The client finds the agent's input declarations in <libdir>/agent, as an administrator would install it.
  const libdir = join(dir, 'lib');
  mkdirSync(join(libdir, 'agent'), { recursive: true });
  const agentModule = new URL('./example-agent.js', import.meta.url).href;
  writeFileSync(join(libdir, 'agent', 'example.js'), `export { exampleAgent as default } from ${JSON.stringify(agentModule)};\n`);
  writeFileSync(join(policyDir, 'default.policy'), 'policy default deny\nallow\tcert=tester\t*\t*\t*\n');
  for (const [agent, policy] of Object.entries(policies)) writeFileSync(join(policyDir, `${agent}.policy`), policy);

  const daemons: DaemonHandle[] = [];
  const loggers: CapturingLogger[] = [];
  const cluster: Cluster = {
    dir, certDir, client: client!, intruder: intruder!, daemons, loggers,
    clientSettings: {
      identity: 'tester', securityprovider: 'aes_security', ...connectorSettings,
      'plugin.aes.client_private': client!.privatePath, 'plugin.aes.client_public': client!.publicPath,
      'plugin.aes.client_cert_dir': certDir, libdir,
    },
    writeClientConfig(name, extra = {}) {
      const path = join(dir, name);
      const lines = Object.entries({ ...cluster.clientSettings, ...extra }).map(([key, value]) => `${key} = ${value}`);
      writeFileSync(path, `${lines.join('\n')}\n`);
      return path;
    },
    async stop() {
      await Promise.all(daemons.map((d) => d.stop()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    for (const [i, node] of nodes.entries()) {
      const nodeDir = join(dir, node.identity);
      mkdirSync(nodeDir, { recursive: true });
      writeFileSync(join(nodeDir, 'facts.yaml'), Object.entries(node.facts).map(([k, v]) => `${k}: "${v}"`).join('\n') + '\n');
      writeFileSync(join(nodeDir, 'classes.txt'), node.classes.join('\n') + '\n');
      const config = configFromObject({
        identity: node.identity, securityprovider: 'aes_security', ...connectorSettings,
        'plugin.yaml': join(nodeDir, 'facts.yaml'), classesfile: join(nodeDir, 'classes.txt'),
        'plugin.aes.server_private': serverKeys[i]!.privatePath, 'plugin.aes.server_public': serverKeys[i]!.publicPath,
        'plugin.aes.client_cert_dir': certDir, statedir: join(nodeDir, 'state'),
        rpcauthorization: 1, 'plugin.actionpolicy.policy_dir': policyDir, 'plugin.actionpolicy.enable_default': 1, ...node.settings,
      }, { source: join(nodeDir, 'server.cfg') });
      const logger = new CapturingLogger();
      loggers.push(logger);
      daemons.push(await startDaemon(config, { logger, agents: [exampleAgent, ...(node.agents ?? [])] }));
    }
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}
