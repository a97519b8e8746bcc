/**
 * `npm run bench [-- --json] [-- --seconds S]`: ops/s of the aes_security hot paths next to the node:crypto floor,
 * measured in the same run and interleaved so machine noise hits both. The floor of a step is the RSA / X25519 /
 * AES-GCM operations that step cannot avoid, done with raw node:crypto calls on pre-parsed keys and applied to
 * the very same messages the step processes (re-verifying one fixed message would flatter the floor: caches make
 * it about a third faster than verifying distinct ones). cost_ratio = floor_ops_per_s / ops_per_s.
 */
import {
  constants, createCipheriv, createDecipheriv, createPublicKey, diffieHellman, generateKeyPairSync, privateDecrypt,
  publicEncrypt, randomBytes, sign, verify, type KeyObject,
} from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configFromObject } from '../src/config/index.js';
import '../plugins/security/aes_security/index.js';
import { AesSecurityProvider } from '../plugins/security/aes_security/provider.js';
import { hmacSha256 } from '../plugins/security/aes_security/primitives.js';
import { LABELS, decodeEnvelope, parseReplyHeader, parseRequestHeader } from '../plugins/security/aes_security/v2/wire.js';
import type { DecodedRequest, OutgoingRequest } from '../src/inter/message.js';
import type { ReplyHandle } from '../src/inter/security.js';
import type { V2Handle } from '../plugins/security/aes_security/v2/codec.js';
import { MemoryCounters } from '../src/util/counters.js';
import { legacyReport, legacyRows } from './legacy-rows.js';
import { CapturingLogger } from '../src/util/log.js';

const args = process.argv.slice(2);
const json = args.includes('--json');
const secondsIndex = args.indexOf('--seconds');
const seconds = secondsIndex >= 0 ? Number(args[secondsIndex + 1]) : 0.5;
const ROUNDS = 3;
/** Distinct messages per decode measurement (each round decodes all of them once). */
const POOL = Math.max(300, Math.round(seconds * 4000));

const dir = mkdtempSync(join(tmpdir(), 'tsco-bench-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
mkdirSync(join(dir, 'certs'));

function writePair(name: string): { privateKey: KeyObject; publicKey: KeyObject; privatePath: string; publicPath: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const privatePath = join(dir, `${name}-private.pem`);
  const publicPath = join(dir, `${name}.pem`);
  writeFileSync(privatePath, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  writeFileSync(publicPath, publicKey.export({ type: 'spki', format: 'pem' }));
  writeFileSync(join(dir, 'certs', `${name}.pem`), publicKey.export({ type: 'spki', format: 'pem' }));
  return { privateKey, publicKey, privatePath, publicPath };
}

const alice = writePair('alice');
const server = writePair('server1');

let states = 0;
function provider(role: 'client' | 'server', settings: Record<string, string | number>): AesSecurityProvider {
  // Each server gets a state directory (replay journal) of its own: a fresh receiver must not remember the last one's requests.
  const top: Record<string, string> = role === 'server' ? { statedir: join(dir, `state-${++states}`) } : {};
  const config = configFromObject({ ...top, ...Object.fromEntries(Object.entries(settings).map(([k, v]) => [`plugin.aes.${k}`, v])) }, { source: 'bench' });
  return new AesSecurityProvider({ config, role, logger: new CapturingLogger(), counters: new MemoryCounters() });
}

const certs = join(dir, 'certs');
const clientSettings = { client_private: alice.privatePath, client_public: alice.publicPath, server_cert_dir: certs };
const clients = { rsa: provider('client', clientSettings), ephemeral: provider('client', { ...clientSettings, reply_encryption: 'ephemeral' }) };
const serverSettings = { server_private: server.privatePath, server_public: server.publicPath, client_cert_dir: certs, replay_cache_size: 10_000_000 };
const receiver = provider('server', serverSettings);

const BODIES: Record<string, unknown> = {
  '200B': { action: 'get_fact', data: { fact: 'operatingsystem', note: 'x'.repeat(140) } },
  '64KiB': { action: 'upload', data: { blob: randomBytes(65536) } },
};

let sequence = 0;
function request(body: unknown): OutgoingRequest {
  const requestid = (++sequence).toString(16).padStart(32, '0');
  return { requestid, senderid: 'client.example.net', agent: 'rpcutil', collective: 'mcollective', filter: { fact: [], cf_class: [], agent: [], identity: [], compound: [] }, ttl: 3600, body };
}

/** Runs `fn(i)` for about `seconds`, cycling i; returns ops/s. */
function measure(fn: (i: number) => void): number {
  for (let i = 0; i < 20; i++) fn(i);
  let ops = 0;
  const start = process.hrtime.bigint();
  const budget = BigInt(Math.round(seconds * 1e9));
  let elapsed = 0n;
  while (elapsed < budget) {
    for (let i = 0; i < 10; i++) fn(ops + i);
    ops += 10;
    elapsed = process.hrtime.bigint() - start;
  }
  return ops / (Number(elapsed) / 1e9);
}

/** Runs `fn(i)` once for each i < count; returns ops/s. For steps that consume their input. */
function measurePass(count: number, fn: (i: number) => void): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) fn(i);
  return count / (Number(process.hrtime.bigint() - start) / 1e9);
}

const PSS = { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };
const OAEP = { padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' };

function gcmOpen(key: Uint8Array, iv: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]);
}

function gcmSeal(key: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): void {
  const cipher = createCipheriv('aes-256-gcm', key, randomBytes(12));
  cipher.setAAD(aad);
  Buffer.concat([cipher.update(plaintext), cipher.final()]);
  cipher.getAuthTag();
}

function x25519Agree(privateKey: KeyObject, raw: Uint8Array): Buffer {
  return diffieHellman({ privateKey, publicKey: createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' }) });
}

type Step = { op: (i: number) => void; floor: (i: number) => void; consumes?: boolean };

function steps(body: unknown, plaintextBytes: number): Record<string, Step> {
  const requestKey = hmacSha256(LABELS.requestKey, alice.publicKey.export({ format: 'der', type: 'spki' }));
  const plain = randomBytes(plaintextBytes);
  const aad = randomBytes(300);
  const signed = Array.from({ length: 64 }, () => randomBytes(plaintextBytes + 300));

  // Requests: the same pool is decoded by a fresh receiver each round, and verified/decrypted raw by the floor.
  const requestWires = Array.from({ length: POOL }, () => clients.rsa.encodeRequest(request(body)).wire);
  const requestParts = requestWires.map((wire) => {
    const envelope = decodeEnvelope(wire, 'request');
    const header = parseRequestHeader(envelope.headerBytes);
    return { envelope, iv: header.iv, signed: Buffer.concat([LABELS.requestSignature, envelope.headerBytes, envelope.ciphertext]) };
  });
  let fresh = provider('server', serverSettings);

  const handles = new Map<string, ReplyHandle>();
  const lookup = (requestid: string) => handles.get(requestid);
  const decodedFor = (mode: 'rsa' | 'ephemeral'): DecodedRequest => {
    const { wire, handle } = clients[mode].encodeRequest(request(body));
    handles.set(handle.requestid, handle);
    return receiver.decodeRequest(wire);
  };
  const replyBody = { statuscode: 0, statusmsg: 'OK', data: body };
  const replyCount = Math.min(POOL, 400);
  const replies = (mode: 'rsa' | 'ephemeral') => Array.from({ length: replyCount }, () => {
    const wire = receiver.encodeReply({ senderid: 'server1', senderagent: 'rpcutil', body: replyBody }, decodedFor(mode));
    const envelope = decodeEnvelope(wire, 'reply');
    const header = parseReplyHeader(envelope.headerBytes);
    const pending = (handles.get(header.requestid) as V2Handle).ephemeral ?? { privateKey: undefined, publicKey: undefined };
    return { wire, envelope, header, pending, signed: Buffer.concat([LABELS.replySignature, envelope.headerBytes, envelope.ciphertext]) };
  });
  const rsaReplies = replies('rsa');
  const ephemeralReplies = replies('ephemeral');
  const decoded = { rsa: decodedFor('rsa'), ephemeral: decodedFor('ephemeral') };
  const outgoing = Array.from({ length: 64 }, () => request(body));

  return {
    'request encode': {
      op: (i) => { const r = outgoing[i % 64]!; r.requestid = (++sequence).toString(16).padStart(32, '0'); clients.rsa.encodeRequest(r); },
      floor: (i) => { gcmSeal(requestKey, plain, aad); sign('sha256', signed[i % 64]!, { key: alice.privateKey, ...PSS }); },
    },
    'request decode': {
      consumes: true,
      op: (i) => {
        if (i === 0) { fresh = provider('server', serverSettings); fresh.decodeRequest(requestWires[0]!); return; }
        fresh.decodeRequest(requestWires[i]!);
      },
      floor: (i) => {
        const p = requestParts[i]!;
        verify('sha256', p.signed, { key: alice.publicKey, ...PSS }, p.envelope.signature);
        gcmOpen(requestKey, p.iv, p.envelope.ciphertext, p.envelope.headerBytes);
      },
    },
    'reply encode rsa': {
      op: () => { receiver.encodeReply({ senderid: 'server1', senderagent: 'rpcutil', body: replyBody }, decoded.rsa); },
      floor: (i) => { publicEncrypt({ key: alice.publicKey, ...OAEP }, requestKey); gcmSeal(requestKey, plain, aad); sign('sha256', signed[i % 64]!, { key: server.privateKey, ...PSS }); },
    },
    'reply decode rsa': {
      op: (i) => { clients.rsa.decodeReply(rsaReplies[i % replyCount]!.wire, lookup); },
      floor: (i) => {
        const r = rsaReplies[i % replyCount]!;
        const key = privateDecrypt({ key: alice.privateKey, ...OAEP }, (r.header as { wrappedkey: Uint8Array }).wrappedkey);
        verify('sha256', r.signed, { key: server.publicKey, ...PSS }, r.envelope.signature);
        gcmOpen(key, r.header.iv, r.envelope.ciphertext, r.envelope.headerBytes);
      },
    },
    'reply encode ephemeral': {
      op: () => { receiver.encodeReply({ senderid: 'server1', senderagent: 'rpcutil', body: replyBody }, decoded.ephemeral); },
      floor: (i) => {
        const pair = generateKeyPairSync('x25519');
        x25519Agree(pair.privateKey, ephemeralReplies[0]!.pending.publicKey!);
        gcmSeal(requestKey, plain, aad);
        sign('sha256', signed[i % 64]!, { key: server.privateKey, ...PSS });
      },
    },
    'reply decode ephemeral': {
      op: (i) => { clients.ephemeral.decodeReply(ephemeralReplies[i % replyCount]!.wire, lookup); },
      floor: (i) => {
        const r = ephemeralReplies[i % replyCount]!;
        x25519Agree(r.pending.privateKey!, (r.header as { epk: Uint8Array }).epk);
        verify('sha256', r.signed, { key: server.publicKey, ...PSS }, r.envelope.signature);
        // The floor may not know the derived key; decrypting with a fixed key costs the same (GCM cost is data-bound).
        try { gcmOpen(requestKey, r.header.iv, r.envelope.ciphertext, r.envelope.headerBytes); } catch { /* tag mismatch expected */ }
      },
    },
  };
}

const results: Record<string, { ops_per_s: number; floor_ops_per_s: number; cost_ratio: number }> = {};
for (const [size, body] of Object.entries(BODIES)) {
  const plaintextBytes = size === '200B' ? 256 : 65600;
  for (const [name, step] of Object.entries(steps(body, plaintextBytes))) {
    let best = 0;
    let bestFloor = 0;
    // Interleaved rounds, best of each: noise from other tenants of the machine only ever slows a round down.
    for (let round = 0; round < ROUNDS; round++) {
      bestFloor = Math.max(bestFloor, step.consumes ? measurePass(POOL, step.floor) : measure(step.floor));
      best = Math.max(best, step.consumes ? measurePass(POOL, step.op) : measure(step.op));
    }
    results[`${name}/${size}`] = { ops_per_s: Math.round(best), floor_ops_per_s: Math.round(bestFloor), cost_ratio: Number((bestFloor / best).toFixed(3)) };
  }
}

// Protocol version 1 rows: their own floor (EVP_BytesToKey is part of it), and ms per message next to MCollective's.
const legacy = legacyRows(seconds, ROUNDS);

if (json) {
  console.log(JSON.stringify({ ...results, ...legacy }));
} else {
  console.log('aes_security, RSA-2048, msgpack bodies, one core; floor = the raw node:crypto operations of the step, on the same messages\n');
  console.log(`${'operation'.padEnd(32)}${'ops/s'.padStart(10)}${'floor ops/s'.padStart(14)}${'cost ratio'.padStart(12)}`);
  for (const [name, r] of Object.entries(results)) {
    console.log(`${name.padEnd(32)}${String(r.ops_per_s).padStart(10)}${String(r.floor_ops_per_s).padStart(14)}${r.cost_ratio.toFixed(3).padStart(12)}${r.cost_ratio > 1.3 ? '  > 1.3 target' : ''}`);
  }
  const ephemeral = results['reply decode ephemeral/200B']!.ops_per_s;
  console.log(`\nreply decode (ephemeral, 200 B): ${ephemeral} ops/s (target >= 10000: ${ephemeral >= 10000 ? 'met' : 'missed'})`);
  const worst = Math.max(...Object.values(results).map((r) => r.cost_ratio));
  console.log(`worst cost ratio: ${worst.toFixed(3)} (target <= 1.3: ${worst <= 1.3 ? 'met' : 'missed'})`);
  console.log(legacyReport(legacy).join('\n'));
}
