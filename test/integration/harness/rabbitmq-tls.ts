/**
 * Mutual TLS for RabbitMQ's AMQP listener, for the TLS integration tests. `setupRabbitTls()`:
 * 1. generates (once) a test CA, a server certificate (CN=localhost, SAN DNS:localhost, IP:127.0.0.1),
 *    a client certificate, and a second "rogue" CA with its own client certificate, under TLS_DIR;
 * 2. writes a marked block to /etc/rabbitmq/rabbitmq.conf (AMQPS on 127.0.0.1:5671 and STOMP over TLS
 *    on 127.0.0.1:61615, verify_peer, fail_if_no_peer_cert) so the listeners are there after every
 *    node restart;
 * 3. starts the AMQPS listener in the running node through `rabbitmqctl eval` (no restart: the plain
 *    5672 listener and everyone's connections stay up), restarts only the rabbitmq_stomp application
 *    for the STOMP one (once), and sets the application environment so `rabbitmqctl stop_app` /
 *    `start_app` (scripts/brokers.sh restart) bring both back too.
 * Every step is idempotent: a second run changes nothing. CI runs it once:
 *   node dist/test/integration/harness/rabbitmq-tls.js setup     (or: status)
 */
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tcpReachable } from './brokers.js';

/** Where RabbitMQ's AMQPS listener runs. */
export const AMQPS_HOST = '127.0.0.1';
/** The AMQPS port (RABBITMQ_AMQPS_PORT overrides it). */
export const AMQPS_PORT = Number(process.env.RABBITMQ_AMQPS_PORT ?? 5671);
/** RabbitMQ's STOMP-over-TLS port (RABBITMQ_STOMPS_PORT overrides it; 61614 is ActiveMQ's STOMP). */
export const STOMPS_PORT = Number(process.env.RABBITMQ_STOMPS_PORT ?? 61615);
/** Where the certificates live: readable by the rabbitmq user (TSC_RABBITMQ_TLS_DIR overrides it). */
export const TLS_DIR = process.env.TSC_RABBITMQ_TLS_DIR ?? '/etc/rabbitmq/tscollective-tls';
/** RabbitMQ's configuration file. */
export const RABBITMQ_CONF = process.env.RABBITMQ_CONFIG_FILE_PATH ?? '/etc/rabbitmq/rabbitmq.conf';

const BLOCK_BEGIN = '# BEGIN tscollective AMQPS (test/integration/harness/rabbitmq-tls.ts)';
const BLOCK_END = '# END tscollective AMQPS';

/** The PEM files the harness provides. */
export interface TlsMaterial {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A client certificate signed by a CA the broker does not trust. */
  rogueClientCert: string;
  rogueClientKey: string;
}

/** The file paths of the TLS material in `dir` (they exist once setupRabbitTls or ensureTlsMaterial ran). */
export function tlsMaterialPaths(dir = TLS_DIR): TlsMaterial {
  return {
    dir,
    caCert: join(dir, 'ca.pem'),
    serverCert: join(dir, 'server.pem'),
    serverKey: join(dir, 'server.key'),
    clientCert: join(dir, 'client.pem'),
    clientKey: join(dir, 'client.key'),
    rogueClientCert: join(dir, 'rogue-client.pem'),
    rogueClientKey: join(dir, 'rogue-client.key'),
  };
}

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: 120_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.slice(0, 3).join(' ')} failed: ${error.message}\n${stdout}${stderr}`));
      else resolve(stdout);
    });
  });
}

/** Whether every file exists and the server and client certificates are valid for at least a day more. */
async function materialUsable(material: TlsMaterial): Promise<boolean> {
  const files = [material.caCert, material.serverCert, material.serverKey, material.clientCert, material.clientKey, material.rogueClientCert, material.rogueClientKey];
  if (!files.every((file) => existsSync(file))) return false;
  try {
    for (const cert of [material.caCert, material.serverCert, material.clientCert]) await run('openssl', ['x509', '-checkend', '86400', '-noout', '-in', cert]);
    await run('openssl', ['verify', '-CAfile', material.caCert, material.serverCert, material.clientCert]);
    return true;
  } catch {
    return false;
  }
}

/** Issues `name`.pem/.key signed by the CA `ca` (files ca.pem / ca.key in dir) with the given extensions. */
async function issue(dir: string, ca: string, name: string, subject: string, extensions: string): Promise<void> {
  const extFile = join(dir, `${name}.ext`);
  writeFileSync(extFile, `${extensions}\n`);
  try {
    await run('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.csr`), '-subj', subject]);
    await run('openssl', [
      'x509', '-req', '-in', join(dir, `${name}.csr`), '-CA', join(dir, `${ca}.pem`), '-CAkey', join(dir, `${ca}.key`),
      '-set_serial', `0x${Date.now().toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`, '-days', '825', '-sha256',
      '-extfile', extFile, '-out', join(dir, `${name}.pem`),
    ]);
  } finally {
    rmSync(extFile, { force: true });
    rmSync(join(dir, `${name}.csr`), { force: true });
  }
}

async function makeCa(dir: string, name: string, subject: string): Promise<void> {
  await run('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '3650', '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.pem`),
    '-subj', subject, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
}

/**
 * Generates the CA, server, client and rogue certificates in `dir` unless usable ones are there.
 * Returns whether new material was written (the broker then has to reload its listener).
 */
export async function ensureTlsMaterial(dir = TLS_DIR): Promise<{ material: TlsMaterial; generated: boolean }> {
  const material = tlsMaterialPaths(dir);
  if (await materialUsable(material)) return { material, generated: false };
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  await makeCa(dir, 'ca', '/CN=tscollective test CA/O=tscollective');
  await issue(dir, 'ca', 'server', '/CN=localhost/O=tscollective',
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1');
  await issue(dir, 'ca', 'client', '/CN=tscollective-client/O=tscollective',
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth');
  await makeCa(dir, 'rogue-ca', '/CN=untrusted test CA/O=elsewhere');
  await issue(dir, 'rogue-ca', 'rogue-client', '/CN=tscollective-client/O=elsewhere',
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth');
  // The broker runs as rabbitmq: it reads the server key; CA keys stay root-only.
  for (const file of ['ca.key', 'rogue-ca.key']) chmodSync(join(dir, file), 0o600);
  for (const file of ['ca.pem', 'server.pem', 'client.pem', 'rogue-ca.pem', 'rogue-client.pem']) chmodSync(join(dir, file), 0o644);
  chmodSync(material.serverKey, 0o640);
  try {
    const ids = (await run('id', ['rabbitmq'])).match(/uid=(\d+).*gid=(\d+)/);
    if (ids) chownSync(material.serverKey, 0, Number(ids[2]));
  } catch {
    // No rabbitmq user (no local broker): the material is still usable by the tests.
  }
  return { material, generated: true };
}

/** The rabbitmq.conf block for the AMQPS listener. */
export function rabbitConfBlock(material: TlsMaterial, withStomp: boolean, port = AMQPS_PORT): string {
  return [
    BLOCK_BEGIN,
    `listeners.ssl.1 = ${AMQPS_HOST}:${port}`,
    `ssl_options.cacertfile = ${material.caCert}`,
    `ssl_options.certfile = ${material.serverCert}`,
    `ssl_options.keyfile = ${material.serverKey}`,
    'ssl_options.verify = verify_peer',
    'ssl_options.fail_if_no_peer_cert = true',
    // A stomp.* key is unknown (and the node would not boot) unless rabbitmq_stomp is enabled.
    ...(withStomp ? [`stomp.listeners.ssl.1 = ${AMQPS_HOST}:${STOMPS_PORT}`] : []),
    BLOCK_END,
  ].join('\n');
}

/** Writes (or replaces) the marked block in rabbitmq.conf; returns whether the file changed. */
export function writeRabbitConf(material: TlsMaterial, withStomp: boolean, path = RABBITMQ_CONF): boolean {
  const current = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const block = rabbitConfBlock(material, withStomp);
  const pattern = new RegExp(`${escape(BLOCK_BEGIN)}[\\s\\S]*?${escape(BLOCK_END)}`);
  const next = pattern.test(current) ? current.replace(pattern, block) : `${current}${current === '' || current.endsWith('\n') ? '' : '\n'}${block}\n`;
  if (next === current) return false;
  writeFileSync(path, next);
  return true;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function erlangString(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * Starts (or, after new material, restarts) the AMQPS listener of the running node without restarting
 * it, and records the listener in the application environment for later stop_app / start_app.
 */
async function startListener(material: TlsMaterial, reload: boolean): Promise<void> {
  const listener = `{${erlangString(AMQPS_HOST)}, ${AMQPS_PORT}}`;
  const options = `[{cacertfile, ${erlangString(material.caCert)}}, {certfile, ${erlangString(material.serverCert)}}, {keyfile, ${erlangString(material.serverKey)}}, {verify, verify_peer}, {fail_if_no_peer_cert, true}]`;
  const expression = [
    `application:set_env(rabbit, ssl_options, ${options})`,
    `application:set_env(rabbit, ssl_listeners, [${listener}])`,
    reload ? `catch rabbit_networking:stop_tcp_listener(${listener})` : 'ok',
    'catch ssl:clear_pem_cache()',
    `case lists:any(fun(L) -> element(3, L) =:= 'amqp/ssl' andalso element(6, L) =:= ${AMQPS_PORT} end, rabbit_networking:active_listeners()) of true -> already; false -> rabbit_networking:start_ssl_listener(${listener}, rabbit_networking:ensure_ssl(), 10) end`,
  ].join(', ');
  await run('rabbitmqctl', ['-q', 'eval', `${expression}.`]);
}

/**
 * Starts RabbitMQ's STOMP-over-TLS listener (same certificates) by restarting the rabbitmq_stomp
 * application with `ssl_listeners` set: plain STOMP clients are disconnected once and reconnect; AMQP
 * is untouched. Only called when the listener is missing.
 */
async function startStompListener(): Promise<void> {
  const listener = `{${erlangString(AMQPS_HOST)}, ${STOMPS_PORT}}`;
  await run('rabbitmqctl', ['-q', 'eval', [
    `application:set_env(rabbitmq_stomp, ssl_listeners, [${listener}])`,
    'ok = application:stop(rabbitmq_stomp)',
    'ok = application:start(rabbitmq_stomp)',
  ].join(', ') + '.']);
}

/** Whether the rabbitmq_stomp plugin is enabled (in the enabled_plugins file next to rabbitmq.conf). */
export function stompPluginEnabled(conf = RABBITMQ_CONF): boolean {
  const file = join(conf, '..', 'enabled_plugins');
  return existsSync(file) && /\brabbitmq_stomp\b/.test(readFileSync(file, 'utf8'));
}

/** Whether RabbitMQ accepts TCP connections on the AMQPS port. */
export function amqpsReachable(): Promise<boolean> {
  return tcpReachable(AMQPS_HOST, AMQPS_PORT);
}

/** Whether RabbitMQ accepts TCP connections on the STOMP-over-TLS port. */
export function stompsReachable(): Promise<boolean> {
  return tcpReachable(AMQPS_HOST, STOMPS_PORT);
}

/** Whether the plain AMQP port answers (the broker is up at all). */
export function amqpReachable(): Promise<boolean> {
  return tcpReachable(AMQPS_HOST, 5672);
}

/** Sets up mutual TLS on RabbitMQ (see the module comment); returns the material and what changed. */
export async function setupRabbitTls(): Promise<{ material: TlsMaterial; changes: string[] }> {
  const changes: string[] = [];
  const { material, generated } = await ensureTlsMaterial();
  if (generated) changes.push(`generated CA, server and client certificates in ${material.dir}`);
  const withStomp = stompPluginEnabled();
  if (writeRabbitConf(material, withStomp)) changes.push(`wrote the AMQPS block to ${RABBITMQ_CONF}`);
  if (!(await amqpReachable())) throw new Error(`RabbitMQ is not running on ${AMQPS_HOST}:5672; start it first (scripts/brokers.sh start rabbitmq)`);
  const listening = await amqpsReachable();
  if (!listening || generated) {
    await startListener(material, listening && generated);
    changes.push(`started the AMQPS listener on ${AMQPS_HOST}:${AMQPS_PORT}`);
  }
  await waitFor(amqpsReachable, `the AMQPS listener on ${AMQPS_HOST}:${AMQPS_PORT}`);
  if (!withStomp) {
    changes.push('rabbitmq_stomp is not enabled: no STOMP-over-TLS listener (scripts/brokers.sh start rabbitmq enables it)');
  } else if (!(await stompsReachable())) {
    await startStompListener();
    changes.push(`started the STOMP-over-TLS listener on ${AMQPS_HOST}:${STOMPS_PORT}`);
    await waitFor(stompsReachable, `the STOMP-over-TLS listener on ${AMQPS_HOST}:${STOMPS_PORT}`);
  }
  return { material, changes };
}

async function waitFor(probe: () => Promise<boolean>, what: string): Promise<void> {
  for (let waited = 0; !(await probe()); waited += 200) {
    if (waited > 15_000) throw new Error(`${what} did not come up`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function main(argv: string[]): Promise<number> {
  const [command] = argv;
  if (command === 'setup') {
    const { material, changes } = await setupRabbitTls();
    console.log(changes.length === 0
      ? `rabbitmq-tls: already set up (AMQPS ${AMQPS_HOST}:${AMQPS_PORT}, STOMP+TLS ${AMQPS_HOST}:${STOMPS_PORT}, material in ${material.dir})`
      : `rabbitmq-tls: ${changes.join('; ')}`);
    return 0;
  }
  if (command === 'status') {
    const amqps = await amqpsReachable();
    const stomps = await stompsReachable();
    console.log(`rabbitmq-tls: AMQPS ${AMQPS_HOST}:${AMQPS_PORT} ${amqps ? 'up' : 'DOWN'}; STOMP+TLS ${AMQPS_HOST}:${STOMPS_PORT} ${stomps ? 'up' : 'DOWN'}; material ${(await materialUsable(tlsMaterialPaths())) ? 'present' : 'missing'} in ${TLS_DIR}`);
    return amqps && stomps ? 0 : 1;
  }
  console.error('usage: node dist/test/integration/harness/rabbitmq-tls.js setup|status');
  return 2;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: Error) => {
      console.error(`rabbitmq-tls: ${error.message}`);
      process.exit(1);
    },
  );
}
