/**
 * The tscollective demo (`npm run demo`): three servers and a client in ONE process over the in-process
 * memory bus, with the real aes_security provider. It generates keys into a temporary folder, starts the
 * servers (rpcutil, discovery, the example nettest agent, and a registration store on node1), then runs a
 * ping, an rpc with a fact filter and an inventory, shows the registration store, and cleans up.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import '../plugins/connector/memory/index.js';
import '../plugins/security/aes_security/index.js';
import { MemoryBroker } from '../plugins/connector/memory/index.js';
import { RegistrationQueryDiscoverer, connectClient, exitCodeFor, type ClientSession } from '../src/client/index.js';
import { formatReply, formatSummary } from '../src/cli/tsco/output.js';
import { configFromObject } from '../src/config/index.js';
import { startDaemon, type DaemonHandle } from '../src/daemon/index.js';
import { generateKeyPairFiles, publicKeyInfo } from '../src/keys/index.js';
import { RecordFiles } from '../src/registration/index.js';
import { CapturingLogger } from '../src/util/log.js';

const BROKER = 'demo';
// dist/examples/demo.js -> dist/examples/agents, where the nettest example agent is compiled.
const EXAMPLE_LIBDIR = fileURLToPath(new URL('./agents/', import.meta.url));

const SERVERS = [
  { identity: 'node1', facts: { country: 'uk', role: 'web' }, classes: ['web'] },
  { identity: 'node2', facts: { country: 'uk', role: 'db' }, classes: ['db'] },
  { identity: 'node3', facts: { country: 'de', role: 'web' }, classes: ['web'] },
];

const say = (text = ''): void => { process.stdout.write(`${text}\n`); };
const bold = (text: string): string => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text);
const step = (n: number, title: string): void => say(`\n${bold(`${n}. ${title}`)}`);
const indent = (text: string): string => text.replace(/^(?=.)/gm, '     ');

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tsc-demo-'));
  const daemons: DaemonHandle[] = [];
  let session: ClientSession | undefined;
  try {
    say('tscollective demo: three servers and a client in one process, talking over the in-process memory bus.');
    say('Every request is signed by the client and every reply is signed by the server and readable only by the client.');

    step(1, `Keys: one RSA pair per identity, in ${dir}`);
    const certDir = join(dir, 'certs');
    mkdirSync(certDir);
    const names = ['operator', ...SERVERS.map((s) => s.identity)];
    const keys = await Promise.all(names.map((name) => generateKeyPairFiles(name, { dir: join(dir, 'keys') })));
    for (const [i, name] of names.entries()) {
      copyFileSync(keys[i]!.publicPath, join(certDir, `${name}.pem`));
      const fingerprint = publicKeyInfo(readFileSync(keys[i]!.publicPath, 'utf8')).fingerprint.slice(0, 16);
      say(`   ${name.padEnd(9)} ${`${name}-private.pem + ${name}.pem`.padEnd(34)} callerid cert=${name.padEnd(9)} sha256:${fingerprint}…`);
    }
    say('   All public keys are installed in certs/ (what `tsco keys preauthorize` does): servers trust the');
    say('   operator\'s key for requests, the operator trusts the servers\' keys for replies, and node1 trusts');
    say('   the other servers\' keys for their registration messages (the seed\'s manual-distribution scenario).');

    step(2, 'Servers: each hosts rpcutil, discovery and the example nettest agent; node1 also stores registrations');
    const storeDir = join(dir, 'registrations');
    for (const [i, server] of SERVERS.entries()) {
      const nodeDir = join(dir, server.identity);
      mkdirSync(nodeDir);
      writeFileSync(join(nodeDir, 'facts.yaml'), Object.entries(server.facts).map(([k, v]) => `${k}: ${v}`).join('\n') + '\n');
      writeFileSync(join(nodeDir, 'classes.txt'), server.classes.join('\n') + '\n');
      const config = configFromObject({
        identity: server.identity, connector: 'memory', 'plugin.memory.broker': BROKER, securityprovider: 'aes_security',
        libdir: EXAMPLE_LIBDIR, 'plugin.yaml': join(nodeDir, 'facts.yaml'), classesfile: join(nodeDir, 'classes.txt'),
        'plugin.aes.server_private': keys[i + 1]!.privatePath, 'plugin.aes.server_public': keys[i + 1]!.publicPath,
        'plugin.aes.client_cert_dir': certDir, statedir: join(nodeDir, 'state'),
        registerinterval: 1, registration: 'facts', ...(i === 0 ? { 'plugin.registration.store_dir': storeDir } : {}),
      }, { source: `${server.identity}/server.cfg` });
      const daemon = await startDaemon(config, { logger: new CapturingLogger() });
      daemons.push(daemon);
      const facts = Object.entries(server.facts).map(([k, v]) => `${k}=${v}`).join(' ');
      say(`   ${server.identity}: ${facts}, classes ${server.classes.join(',')}; agents ${daemon.agents().sort().join(', ')}`);
    }

    step(3, 'The client connects as "operator" (client_private/client_public = operator\'s pair)');
    session = await connectClient(configFromObject({
      identity: 'operator', connector: 'memory', 'plugin.memory.broker': BROKER, securityprovider: 'aes_security',
      libdir: EXAMPLE_LIBDIR, discovery_timeout: 1,
      'plugin.aes.client_private': keys[0]!.privatePath, 'plugin.aes.client_public': keys[0]!.publicPath,
      'plugin.aes.client_cert_dir': certDir,
    }, { source: 'client.cfg' }), { logger: new CapturingLogger() });
    const { client } = session;

    step(4, '$ tsco ping      (a broadcast to the discovery agent; every node that answers within --dt is listed)');
    const ping = await client.ping();
    for (const reply of ping.replies) say(`   ${reply.sender.padEnd(10)} time=${reply.rttMs.toFixed(2)} ms`);

    step(5, '$ tsco rpc nettest echo message=hello -F country=uk');
    say('   Discovery finds the UK nodes, then the request goes directly to each (few targets: directed, not broadcast).');
    const echo = await client.call('nettest', 'echo', { message: 'hello' }, { filter: { fact: [{ fact: 'country', operator: '==', value: 'uk' }] } });
    say(indent(echo.items.map(formatReply).join('').trimEnd()));
    say(indent(formatSummary(echo.stats, true).trimEnd()));
    say(`   exit code ${exitCodeFor(echo.stats)}; each reply was signed by its node: ${echo.items.map((i) => i.signer).join(', ')}`);

    step(6, '$ tsco inventory node3   (rpcutil#inventory, addressed to node3 only)');
    const inventory = await client.call('rpcutil', 'inventory', {}, { nodes: ['node3'] });
    const data = inventory.items[0]?.data ?? {};
    say(`   agents:  ${(data['agents'] as string[] | undefined)?.join(', ') ?? '(no reply)'}`);
    say(`   facts:   ${JSON.stringify(data['facts'] ?? {})}`);
    say(`   classes: ${(data['classes'] as string[] | undefined)?.join(', ') ?? ''}`);

    step(7, 'The registration store on node1: every server registers each second, signed with its own key');
    const store = RecordFiles.open(storeDir);
    for (let waited = 0; store.list().length < SERVERS.length && waited < 5000; waited += 100) await sleep(100);
    for (const record of store.list()) {
      say(`   ${record.identity.padEnd(6)} signed by ${record.signer.padEnd(11)} (${record.senderProof}) last seen ${new Date(record.lastSeen).toISOString()}  agents ${record.agents.join(', ')}`);
    }
    const registered = await client.discover({ discoverer: new RegistrationQueryDiscoverer(client), filter: { fact: [{ fact: 'role', operator: '==', value: 'web' }] } });
    say(`   $ tsco discover --dm registration -F role=web   (asks node1's registration_query agent): ${registered.join(', ')}`);

    step(8, 'Cleaning up: stopping the client and the servers, removing the temporary folder');
  } finally {
    await session?.close();
    await Promise.all(daemons.map((daemon) => daemon.stop()));
    MemoryBroker.named(BROKER).stop();
    rmSync(dir, { recursive: true, force: true });
  }
  say('   done.');
  say('\nNext: the same with real processes over RabbitMQ is README.md, "Run for real"; installing the package,');
  say('systemd, logrotate and metrics: docs/install.md.');
}

main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
