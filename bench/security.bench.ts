/**
 * `npm run bench [-- --json] [-- --seconds S]`: ops/s of the aes_security hot paths next to the node:crypto floor,
 * measured in the same run and interleaved so machine noise hits both, for every key type (RSA-2048 and -4096,
 * ECDSA P-256, Ed25519); then raw signature costs per key type, and the cost of resolving a key file cold
 * (bench/key-resolution.ts). The floor of a step is the signature / RSA-OAEP / X25519 / AES-GCM operations that
 * step cannot avoid, done with raw node:crypto calls on pre-parsed keys and applied to
 * the very same messages the step processes (re-verifying one fixed message would flatter the floor: caches make
 * it about a third faster than verifying distinct ones). cost_ratio = floor_ops_per_s / ops_per_s.
 */
import { generateKeyPairSync, privateDecrypt, publicEncrypt, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hmacSha256 } from '../plugins/security/aes_security/primitives.js';
import { LABELS, decodeEnvelope, parseReplyHeader, parseRequestHeader } from '../plugins/security/aes_security/v2/wire.js';
import type { V2Handle } from '../plugins/security/aes_security/v2/codec.js';
import type { DecodedRequest, OutgoingRequest } from '../src/inter/message.js';
import type { ReplyHandle } from '../src/inter/security.js';
import { keyResolutionReport, keyResolutionRows } from './key-resolution.js';
import { OAEP, fixture, gcmOpen, gcmSeal, rawSign, rawVerify, x25519Agree, type Fixture, type Variant } from './security-fixtures.js';

const args = process.argv.slice(2);
const json = args.includes('--json');
const secondsIndex = args.indexOf('--seconds');
const seconds = secondsIndex >= 0 ? Number(args[secondsIndex + 1]) : 0.5;
const ROUNDS = 3;
/** Distinct messages per decode measurement (each round decodes all of them once). */
const POOL = Math.max(300, Math.round(seconds * 4000));

const dir = mkdtempSync(join(tmpdir(), 'tsco-bench-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

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

type Step = { op: (i: number) => void; floor: (i: number) => void; consumes?: boolean };

function steps(fx: Fixture, body: unknown, plaintextBytes: number): Record<string, Step> {
  const { alice, server, clients, receiver, serverSettings, type } = fx;
  const provider = fx.provider;
  const requestKey = hmacSha256(LABELS.requestKey, alice.publicKey.export({ format: 'der', type: 'spki' }));
  const plain = randomBytes(plaintextBytes);
  const aad = randomBytes(300);
  const signed = Array.from({ length: 64 }, () => randomBytes(plaintextBytes + 300));

  // Requests: the same pool is decoded by a fresh receiver each round, and verified/decrypted raw by the floor.
  // An RSA client asks for rsa replies (as MCollective does); other key types can only ask for ephemeral ones.
  const sender = clients.rsa ?? clients.ephemeral;
  const requestWires = Array.from({ length: POOL }, () => sender.encodeRequest(request(body)).wire);
  const requestParts = requestWires.map((wire) => {
    const envelope = decodeEnvelope(wire, 'request');
    const header = parseRequestHeader(envelope.headerBytes);
    return { envelope, iv: header.iv, signed: Buffer.concat([LABELS.requestSignature, envelope.headerBytes, envelope.ciphertext]) };
  });
  let fresh = provider('server', serverSettings);

  const handles = new Map<string, ReplyHandle>();
  const lookup = (requestid: string) => handles.get(requestid);
  const decodedFor = (mode: 'rsa' | 'ephemeral'): DecodedRequest => {
    const { wire, handle } = clients[mode]!.encodeRequest(request(body));
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
  const rsaReplies = clients.rsa ? replies('rsa') : [];
  const ephemeralReplies = replies('ephemeral');
  const decoded = { rsa: clients.rsa ? decodedFor('rsa') : undefined, ephemeral: decodedFor('ephemeral') };
  const outgoing = Array.from({ length: 64 }, () => request(body));

  return {
    'request encode': {
      op: (i) => { const r = outgoing[i % 64]!; r.requestid = (++sequence).toString(16).padStart(32, '0'); sender.encodeRequest(r); },
      floor: (i) => {
        if (!clients.rsa) generateKeyPairSync('x25519');
        gcmSeal(requestKey, plain, aad);
        rawSign(type, alice.privateKey, signed[i % 64]!);
      },
    },
    'request decode': {
      consumes: true,
      op: (i) => {
        if (i === 0) { fresh = provider('server', serverSettings); fresh.decodeRequest(requestWires[0]!); return; }
        fresh.decodeRequest(requestWires[i]!);
      },
      floor: (i) => {
        const p = requestParts[i]!;
        rawVerify(type, alice.publicKey, p.signed, p.envelope.signature);
        gcmOpen(requestKey, p.iv, p.envelope.ciphertext, p.envelope.headerBytes);
      },
    },
    'reply encode rsa': {
      op: () => { receiver.encodeReply({ senderid: 'server1', senderagent: 'rpcutil', body: replyBody }, decoded.rsa!); },
      floor: (i) => { publicEncrypt({ key: alice.publicKey, ...OAEP }, requestKey); gcmSeal(requestKey, plain, aad); rawSign(type, server.privateKey, signed[i % 64]!); },
    },
    'reply decode rsa': {
      op: (i) => { clients.rsa!.decodeReply(rsaReplies[i % replyCount]!.wire, lookup); },
      floor: (i) => {
        const r = rsaReplies[i % replyCount]!;
        const key = privateDecrypt({ key: alice.privateKey, ...OAEP }, (r.header as { wrappedkey: Uint8Array }).wrappedkey);
        rawVerify(type, server.publicKey, r.signed, r.envelope.signature);
        gcmOpen(key, r.header.iv, r.envelope.ciphertext, r.envelope.headerBytes);
      },
    },
    'reply encode ephemeral': {
      op: () => { receiver.encodeReply({ senderid: 'server1', senderagent: 'rpcutil', body: replyBody }, decoded.ephemeral); },
      floor: (i) => {
        const pair = generateKeyPairSync('x25519');
        x25519Agree(pair.privateKey, ephemeralReplies[0]!.pending.publicKey!);
        gcmSeal(requestKey, plain, aad);
        rawSign(type, server.privateKey, signed[i % 64]!);
      },
    },
    'reply decode ephemeral': {
      op: (i) => { clients.ephemeral.decodeReply(ephemeralReplies[i % replyCount]!.wire, lookup); },
      floor: (i) => {
        const r = ephemeralReplies[i % replyCount]!;
        x25519Agree(r.pending.privateKey!, (r.header as { epk: Uint8Array }).epk);
        rawVerify(type, server.publicKey, r.signed, r.envelope.signature);
        // The floor may not know the derived key; decrypting with a fixed key costs the same (GCM cost is data-bound).
        try { gcmOpen(requestKey, r.header.iv, r.envelope.ciphertext, r.envelope.headerBytes); } catch { /* tag mismatch expected */ }
      },
    },
  };
}

type Row = { ops_per_s: number; floor_ops_per_s: number; cost_ratio: number };

function run(step: Step): Row {
  let best = 0;
  let bestFloor = 0;
  // Interleaved rounds, best of each: noise from other tenants of the machine only ever slows a round down.
  for (let round = 0; round < ROUNDS; round++) {
    bestFloor = Math.max(bestFloor, step.consumes ? measurePass(POOL, step.floor) : measure(step.floor));
    best = Math.max(best, step.consumes ? measurePass(POOL, step.op) : measure(step.op));
  }
  return { ops_per_s: Math.round(best), floor_ops_per_s: Math.round(bestFloor), cost_ratio: Number((bestFloor / best).toFixed(3)) };
}

/** The rows of each key variant: RSA-2048 (the default, both body sizes) keeps its historical row names. */
const results: Record<string, Row> = {};
const VARIANTS: Variant[] = ['rsa2048', 'rsa4096', 'p256', 'ed25519'];
const fixtures = new Map(VARIANTS.map((variant) => [variant, fixture(dir, variant)]));
for (const [variant, fx] of fixtures) {
  for (const [size, body] of Object.entries(BODIES)) {
    if (variant !== 'rsa2048' && size !== '200B') continue;
    const plaintextBytes = size === '200B' ? 256 : 65600;
    for (const [name, step] of Object.entries(steps(fx, body, plaintextBytes))) {
      if (name.endsWith(' rsa') && fx.type !== 'rsa') continue;
      results[variant === 'rsa2048' ? `${name}/${size}` : `${name}/${size}/${variant}`] = run(step);
    }
  }
}

/** Raw signing and verifying of a 300-byte message per key variant (what a reply's signature costs a server and a client). */
const signatures: Record<string, { sign_per_s: number; verify_per_s: number }> = {};
for (const [variant, fx] of fixtures) {
  const message = randomBytes(300);
  const signature = rawSign(fx.type, fx.server.privateKey, message);
  let signs = 0;
  let verifies = 0;
  for (let round = 0; round < ROUNDS; round++) {
    signs = Math.max(signs, measure(() => rawSign(fx.type, fx.server.privateKey, message)));
    verifies = Math.max(verifies, measure(() => rawVerify(fx.type, fx.server.publicKey, message, signature)));
  }
  signatures[variant] = { sign_per_s: Math.round(signs), verify_per_s: Math.round(verifies) };
}

const resolution = await keyResolutionRows(dir, ROUNDS);
const rsaReply = results['reply encode ephemeral/200B']!.ops_per_s;
const edReply = results['reply encode ephemeral/200B/ed25519']!.ops_per_s;
const signingFactor = Number((signatures['ed25519']!.sign_per_s / signatures['rsa2048']!.sign_per_s).toFixed(1));
const replyFactor = Number((edReply / rsaReply).toFixed(1));

if (json) {
  console.log(JSON.stringify({ ...results, signatures, resolution, ed25519_vs_rsa2048: { reply_encode: replyFactor, signing: signingFactor } }));
} else {
  console.log('aes_security, msgpack bodies, one core; floor = the raw node:crypto operations of the step, on the same messages;');
  console.log('rows without a key suffix are RSA-2048 clients and servers (an RSA client asks for rsa replies), others name both keys\' type\n');
  console.log(`${'operation'.padEnd(40)}${'ops/s'.padStart(10)}${'floor ops/s'.padStart(14)}${'cost ratio'.padStart(12)}`);
  for (const [name, r] of Object.entries(results)) {
    console.log(`${name.padEnd(40)}${String(r.ops_per_s).padStart(10)}${String(r.floor_ops_per_s).padStart(14)}${r.cost_ratio.toFixed(3).padStart(12)}${r.cost_ratio > 1.3 ? '  > 1.3 target' : ''}`);
  }
  const ephemeral = results['reply decode ephemeral/200B']!.ops_per_s;
  console.log(`\nreply decode (ephemeral, 200 B): ${ephemeral} ops/s (target >= 10000: ${ephemeral >= 10000 ? 'met' : 'missed'})`);
  const worst = Math.max(...Object.values(results).map((r) => r.cost_ratio));
  console.log(`worst cost ratio: ${worst.toFixed(3)} (target <= 1.3: ${worst <= 1.3 ? 'met' : 'missed'})`);
  console.log(`\n${'signature, 300 B message'.padEnd(40)}${'sign/s'.padStart(10)}${'verify/s'.padStart(14)}`);
  for (const [variant, r] of Object.entries(signatures)) console.log(`${variant.padEnd(40)}${String(r.sign_per_s).padStart(10)}${String(r.verify_per_s).padStart(14)}`);
  console.log(`\nEd25519 server keys vs RSA-2048: signing ${signingFactor}x cheaper; a whole reply encode (ephemeral, 200 B) ${replyFactor}x faster`);
  console.log(keyResolutionReport(resolution).join('\n'));
}
