/** The provider and connector registries: lookup by configured name, and a clear error naming the known ones. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../../plugins/security/aes_security/index.js';
import '../../plugins/connector/memory/index.js';
import { configFromObject } from '../../src/config/index.js';
import { createConnector, connectorNames } from '../../src/connector/registry.js';
import { createSecurityProvider, securityProviderNames } from '../../src/security/registry.js';
import { UnknownPluginError } from '../../src/errors.js';
import { MemoryCounters } from '../../src/util/counters.js';
import { CapturingLogger } from '../../src/util/log.js';

const context = { config: configFromObject({}), logger: new CapturingLogger(), counters: new MemoryCounters() };

test('securityprovider = aes_security builds the aes_security provider', () => {
  assert.ok(securityProviderNames().includes('aes_security'));
  assert.equal(createSecurityProvider('aes_security', { ...context, role: 'client' }).name, 'aes_security');
});

test('an unknown security provider is refused, naming it and the known ones', () => {
  assert.throws(() => createSecurityProvider('ssl', { ...context, role: 'server' }), (error: unknown) => {
    assert.ok(error instanceof UnknownPluginError);
    assert.equal(error.code, 'TSC_UNKNOWN_PLUGIN');
    assert.match(error.message, /unknown security provider "ssl"; known: .*aes_security/);
    return true;
  });
});

test('an unknown connector is refused, naming it and the known ones', () => {
  assert.ok(connectorNames().includes('memory'));
  assert.throws(() => createConnector('zeromq', { ...context, identity: 'node1' }), /unknown connector "zeromq"; known: .*memory/);
});
