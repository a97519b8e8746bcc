/**
 * Protocol version 2 known answers: committed requests, one per signature scheme (RSA-PSS, ECDSA P-256, Ed25519),
 * must keep decoding to the same fields (test/vectors/wire-v2-request*.json).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BadSignatureError } from '../../src/errors.js';
import { World } from './world.js';

const root = new URL('../../../', import.meta.url);
const world = new World();
after(() => world.cleanup());

for (const file of ['wire-v2-request.json', 'wire-v2-request-p256.json', 'wire-v2-request-ed25519.json']) {
  const vector = JSON.parse(readFileSync(new URL(`test/vectors/${file}`, root), 'utf8'));
  const receiver = () => {
    const certDir = world.dir(`certs-${file}`);
    copyFileSync(new URL(vector.sender_public_key, root), join(certDir, `${vector.callerid.slice('cert='.length)}.pem`));
    world.clock = vector.receiver_clock_ms;
    return world.provider('server', { server_private: '/x', server_public: '/x', client_cert_dir: certDir });
  };

  describe(file, () => {
    test('the committed version 2 request decodes to the recorded fields', () => {
      const decoded = receiver().provider.decodeRequest(Buffer.from(vector.wire_hex, 'hex'));
      const { expected } = vector;
      assert.equal(decoded.callerid, vector.callerid);
      for (const field of ['requestid', 'senderid', 'agent', 'collective', 'ttl', 'msgtime'] as const) assert.equal(decoded[field], expected[field], field);
      assert.deepEqual(decoded.filter, expected.filter);
      assert.deepEqual(decoded.body, expected.body);
    });

    test('the committed request with its last signature byte changed is refused', () => {
      const wire = Buffer.from(vector.wire_hex, 'hex');
      wire[wire.length - 1]! ^= 0x01;
      assert.throws(() => receiver().provider.decodeRequest(wire), BadSignatureError);
    });
  });
}
