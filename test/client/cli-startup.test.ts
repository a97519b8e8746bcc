/**
 * tsco's start-up loads only what a run uses (docs/client.md): the module of the command named on the command
 * line, the configured connector and security provider (every plugin's settings still validate), no key or X.509
 * code outside `tsco keys`, no description validator or regex engine for the built-in agents' descriptions (checked
 * by test/unit/builtin-agents.test.ts), no YAML library unless something is YAML, no pino unless logging JSON, no
 * native msgpack addon. Checked by
 * the modules a real run loads (test/harness/module-log.ts), by name, never by time.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { COMMAND_MODULES, commandName, modulesFor } from '../../src/cli/tsco-commands.js';
import { generateKeyPairFiles } from '../../src/keys/index.js';

const TSCO = fileURLToPath(new URL('../../src/cli/tsco.js', import.meta.url));
const MODULE_LOG = fileURLToPath(new URL('../harness/module-log.js', import.meta.url));

describe('which command module a run loads', () => {
  test('the command is the first word that is neither an option nor the value of -c/--config', () => {
    assert.equal(commandName(['-c', 'rpc', 'ping']), 'ping');
    assert.equal(commandName(['--config', 'x.cfg', '--log-json', 'rpc', 'rpcutil', 'ping']), 'rpc');
    assert.equal(commandName(['--config=x.cfg', 'keys', 'list']), 'keys');
    assert.equal(commandName(['--help']), undefined);
    assert.equal(commandName(['--', 'decode']), 'decode');
  });

  test('a known command loads its module only; help, no command or an unknown one load every module', () => {
    const names = (argv: string[]) => modulesFor(argv).flatMap((module) => module.names);
    assert.deepEqual(names(['rpc', 'rpcutil', 'ping']), ['ping', 'discover', 'find', 'rpc', 'inventory']);
    assert.deepEqual(names(['find', '-I', 'x']), ['ping', 'discover', 'find', 'rpc', 'inventory']);
    assert.deepEqual(names(['keys', 'list']), ['keys']);
    assert.deepEqual(names(['plugin', 'doc']), ['plugin']);
    assert.deepEqual(names(['--version']), []);
    assert.deepEqual(names(['-c', 'x.cfg', '-V']), []);
    const all = COMMAND_MODULES.flatMap((module) => module.names);
    for (const argv of [[], ['--help'], ['help', 'rpc'], ['frobnicate'], ['--version', '--help']]) assert.deepEqual(names(argv), all, argv.join(' '));
  });
});

describe('what a tsco run loads', () => {
  let dir = '';
  let deadPort = 0;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tsco-startup-'));
    const keys = await generateKeyPairFiles('tester', { dir });
    // A port nothing listens on: the run ends at its connect (exit 5) having loaded everything up to it.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    deadPort = (server.address() as AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const common = [
      'identity = tester', 'securityprovider = aes_security', `plugin.aes.client_private = ${keys.privatePath}`,
      `plugin.aes.client_public = ${keys.publicPath}`, `plugin.aes.client_cert_dir = ${dir}`,
    ];
    writeFileSync(join(dir, 'amqp.cfg'), [...common, 'connector = amqp', 'plugin.amqp.host = 127.0.0.1', `plugin.amqp.port = ${deadPort}`, 'plugin.amqp.connect_timeout = 5'].join('\n'));
    writeFileSync(join(dir, 'legacy.cfg'), [...common, 'plugin.aes.legacy = 1', 'connector = amqp', 'plugin.amqp.host = 127.0.0.1', `plugin.amqp.port = ${deadPort}`, 'plugin.amqp.connect_timeout = 5'].join('\n'));
    writeFileSync(join(dir, 'rabbitmq.cfg'), [...common, 'connector = rabbitmq', 'plugin.rabbitmq.pool.size = 1', 'plugin.rabbitmq.pool.1.host = 127.0.0.1',
      `plugin.rabbitmq.pool.1.port = ${deadPort}`, 'plugin.rabbitmq.connect_timeout = 5', 'plugin.rabbitmq.amqp_prt = 1'].join('\n'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs tsco with `args`; returns its result and the paths (under the package or node_modules) it loaded. */
  function loaded(args: string[]): { status: number | null; stderr: string; modules: string[] } {
    const log = join(dir, `modules-${Math.random().toString(36).slice(2)}.log`);
    writeFileSync(log, '');
    const result = spawnSync(process.execPath, ['--import', MODULE_LOG, TSCO, ...args], {
      encoding: 'utf8', timeout: 60_000, env: { ...process.env, TSC_MODULE_LOG: log },
    });
    const modules = readFileSync(log, 'utf8').split('\n').filter(Boolean).map((url) => url.replace(/^.*\/(dist|node_modules)\//, '$1/'));
    return { status: result.status, stderr: result.stderr, modules: [...new Set(modules)] };
  }

  const has = (modules: string[], fragment: string) => modules.some((path) => path.includes(fragment));

  test('tsco rpc over amqp: the rpc commands, the amqp connector and aes_security; nothing else heavy', () => {
    const run = loaded(['-c', join(dir, 'amqp.cfg'), 'rpc', 'rpcutil', 'ping', '-I', 'node1']);
    assert.equal(run.status, 5, run.stderr);
    assert.match(run.stderr, /TSC_BROKER_UNAVAILABLE|refused/);
    for (const used of ['dist/src/cli/tsco/rpc-commands.js', 'dist/plugins/connector/amqp/index.js', 'node_modules/amqplib/',
      'dist/plugins/security/aes_security/core.js', 'dist/plugins/connector/stomp/options.js']) {
      assert.ok(has(run.modules, used), `${used} is loaded`);
    }
    for (const unused of ['keys-commands.js', 'plugin-doc.js', 'tsco/decode.js', 'node_modules/@peculiar/', 'dist/src/keys/x509.js', 'dist/src/keys/ca.js', 'dist/src/keys/generate.js',
      'dist/plugins/connector/stomp/index.js', 'dist/plugins/connector/memory/index.js', 'node_modules/pino/', 'node_modules/ajv/dist/ajv.js',
      'node_modules/msgpackr-extract/', 'node_modules/re2js/', 'node_modules/js-yaml/', 'ddl-validator.generated', 'aes_security/v1/register.js', 'aes_security/v1/codec.js']) {
      assert.ok(!has(run.modules, unused), `${unused} is not loaded`);
    }
  });

  test('with plugin.aes.legacy = 1 the version 1 codec is loaded too (the plugin part the setting turns on)', () => {
    const run = loaded(['-c', join(dir, 'legacy.cfg'), 'rpc', 'rpcutil', 'ping', '-I', 'node1']);
    assert.equal(run.status, 5, run.stderr);
    for (const used of ['aes_security/v1/register.js', 'aes_security/v1/adapter.js']) assert.ok(has(run.modules, used), `${used} is loaded`);
  });

  test('tsco ping over rabbitmq (STOMP): no amqplib for a client, and the other plugins\' settings still validate', () => {
    const run = loaded(['-c', join(dir, 'rabbitmq.cfg'), 'ping']);
    assert.equal(run.status, 5, run.stderr);
    assert.match(run.stderr, /warning: .*amqp_prt.*did you mean plugin\.rabbitmq\.amqp_port\?/);
    assert.ok(has(run.modules, 'dist/plugins/connector/stomp/index.js'));
    for (const unused of ['node_modules/amqplib/', 'dist/plugins/connector/amqp/index.js', 'node_modules/@peculiar/', 'node_modules/ajv/']) {
      assert.ok(!has(run.modules, unused), `${unused} is not loaded`);
    }
  });

  test('tsco keys loads the key code and not the RPC client', () => {
    const run = loaded(['keys', '--help']);
    assert.equal(run.status, 0, run.stderr);
    assert.ok(has(run.modules, 'keys-commands.js'));
    for (const unused of ['rpc-commands.js', 'dist/src/client/client.js', 'node_modules/amqplib/']) assert.ok(!has(run.modules, unused), `${unused} is not loaded`);
  });
});
