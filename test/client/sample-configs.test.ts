/** The sample configurations under config/ load without problems or warnings, for every connector. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readClientSettings } from '../../src/client/index.js';
import { loadConfig } from '../../src/config/index.js';
import { loadBuiltinPlugins, readDaemonSettings } from '../../src/daemon/index.js';

const CONFIG_DIR = fileURLToPath(new URL('../../../config/', import.meta.url));

for (const connector of ['memory', 'amqp', 'rabbitmq', 'activemq', 'nats']) {
  test(`config/${connector}/server.cfg and client.cfg are valid and name the ${connector} connector`, async () => {
    const plugins = await loadBuiltinPlugins();
    assert.deepEqual(plugins.failed, []);
    const server = loadConfig(join(CONFIG_DIR, connector, 'server.cfg'));
    assert.deepEqual(server.warnings, []);
    const daemon = readDaemonSettings(server);
    assert.deepEqual(daemon.problems, []);
    assert.equal(daemon.settings.connector, connector);
    assert.equal(server.raw('plugin.aes.server_public'), '/etc/tscollective/ssl/server1.example.com.pem');

    const client = loadConfig(join(CONFIG_DIR, connector, 'client.cfg'));
    assert.deepEqual(client.warnings, []);
    const settings = readClientSettings(client);
    assert.deepEqual(settings.problems, []);
    assert.equal(settings.settings.connector, connector);
    assert.equal(settings.settings.identity, 'workstation.example.com');
    assert.equal(client.raw('plugin.aes.client_public'), '/home/alice/.tscollective/alice.pem');
  });
}
