/**
 * Protocol version 1 rows of `npm run bench`: ops/s of each step of the MCollective-compatible codec next to its
 * floor, the node:crypto work (plus the EVP_BytesToKey derivation, which version 1 cannot avoid) done on the same
 * messages, interleaved so machine noise hits both. Also the derivation itself against the obvious node:crypto loop.
 * MCollective 2.13 on this kind of machine (docs/protocol.md, 8.5): request encode 2.5 ms, request decode 3.0 ms,
 * reply encode 3.0 ms, reply decode 2.3 ms, of which about 1.9 ms is the derivation.
 */
import { constants, createCipheriv, createDecipheriv, createHash, privateDecrypt, privateEncrypt, publicDecrypt, publicEncrypt, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import {
  decodeV1Reply, decodeV1Request, encodeV1Reply, encodeV1Request, rpcReplyBody, rpcRequestBody, type V1Serializer,
} from '../plugins/security/aes_security/v1/index.js';
import { evpBytesToKey } from '../plugins/security/aes_security/v1/evp.js';

/** One row: ops/s, floor ops/s, their ratio, and ms per operation. */
export interface LegacyRow { ops_per_s: number; floor_ops_per_s: number; cost_ratio: number; ms_per_op: number }

/** MCollective 2.13's own cost per message, measured on this machine (docs/protocol.md, 8.5). */
export const RUBY_MS: Record<string, number> = { 'request encode': 2.5, 'request decode': 3.0, 'reply encode': 3.0, 'reply decode': 2.3, 'EVP_BytesToKey': 1.9 };

const root = new URL('../../', import.meta.url);
const keyFile = (name: string) => readFileSync(new URL(`test/fixtures/interop/keys/${name}`, root));
const alicePrivate = createPrivateKey(keyFile('alice-private.pem'));
const alicePublic = createPublicKey(keyFile('alice.pem'));

function measure(seconds: number, fn: (i: number) => void): number {
  for (let i = 0; i < 5; i++) fn(i);
  let ops = 0;
  const start = process.hrtime.bigint();
  const budget = BigInt(Math.round(seconds * 1e9));
  let elapsed = 0n;
  while (elapsed < budget) {
    fn(ops++);
    elapsed = process.hrtime.bigint() - start;
  }
  return ops / (Number(elapsed) / 1e9);
}

function cbc(pass: Uint8Array, data: Uint8Array, decrypt: boolean): Buffer {
  const { key, iv } = evpBytesToKey(pass);
  const cipher = decrypt ? createDecipheriv('aes-256-cbc', key, iv) : createCipheriv('aes-256-cbc', key, iv);
  return Buffer.concat([cipher.update(data), cipher.final()]);
}

type Step = { op: (i: number) => void; floor: (i: number) => void };

function steps(serializer: V1Serializer): Record<string, Step> {
  const now = () => 1796027195_000;
  const filter = { fact: [], cf_class: [], agent: ['rpcutil'], identity: [], compound: [] };
  const body = rpcRequestBody({ agent: 'rpcutil', action: 'get_fact', caller: 'cert=alice', data: { fact: 'operatingsystem', note: 'x'.repeat(100) }, processResults: true });
  let sequence = 0;
  const encode = () => encodeV1Request({ requestid: (++sequence).toString(16).padStart(32, '0'), senderid: 'client1', callerid: 'cert=alice', agent: 'rpcutil', collective: 'mcollective', filter, ttl: 60, body },
    { clientPrivateKey: alicePrivate, serializer, now });
  const requests = Array.from({ length: 32 }, encode);
  const replyBody = rpcReplyBody({ statuscode: 0, statusmsg: 'OK', data: { value: 'Debian', note: 'x'.repeat(100) } });
  const reply = () => encodeV1Reply({ requestid: 'ab'.repeat(16), senderid: 'node1', senderagent: 'rpcutil', body: replyBody }, { callerPublicKey: alicePublic, serializer, now });
  const replies = Array.from({ length: 32 }, reply);
  const plain = randomBytes(serializer === 'yaml' ? 240 : 180);
  const sealed = Array.from({ length: 32 }, () => { const pass = randomBytes(32); return { pass, data: cbc(pass, plain, false), rsa: privateEncrypt({ key: alicePrivate, padding: constants.RSA_PKCS1_PADDING }, pass), toAlice: publicEncrypt({ key: alicePublic, padding: constants.RSA_PKCS1_PADDING }, pass) }; });
  const raw = { key: alicePrivate, padding: constants.RSA_NO_PADDING };
  return {
    'request encode': {
      op: () => { encode(); },
      floor: () => { const pass = randomBytes(32); cbc(pass, plain, false); privateEncrypt({ key: alicePrivate, padding: constants.RSA_PKCS1_PADDING }, pass); },
    },
    'request decode': {
      op: (i) => { decodeV1Request(requests[i % 32]!, { resolveCallerKey: () => alicePublic, now }); },
      floor: (i) => { const s = sealed[i % 32]!; publicDecrypt({ key: alicePublic, padding: constants.RSA_PKCS1_PADDING }, s.rsa); cbc(s.pass, s.data, true); },
    },
    'reply encode': {
      op: () => { reply(); },
      floor: () => { const pass = randomBytes(32); cbc(pass, plain, false); publicEncrypt({ key: alicePublic, padding: constants.RSA_PKCS1_PADDING }, pass); },
    },
    'reply decode': {
      op: (i) => { decodeV1Reply(replies[i % 32]!, { clientPrivateKey: alicePrivate, isOutstanding: () => true }); },
      floor: (i) => { const s = sealed[i % 32]!; privateDecrypt(raw, s.toAlice); cbc(s.pass, s.data, true); },
    },
  };
}

/** The node:crypto way to iterate MD5, one call a round: what the unrolled derivation is compared with. */
function evpWithNodeHash(pass: Uint8Array): Buffer {
  const out: Buffer[] = [];
  let previous: Buffer | null = null;
  for (let block = 0; block < 3; block++) {
    const first = createHash('md5');
    if (previous) first.update(previous);
    let digest = first.update(pass).digest();
    for (let i = 1; i < 2048; i++) digest = createHash('md5').update(digest).digest();
    out.push(digest);
    previous = digest;
  }
  return Buffer.concat(out);
}

/** Measures every version 1 row, best of `rounds` interleaved rounds of `seconds` each. */
export function legacyRows(seconds: number, rounds: number): Record<string, LegacyRow> {
  const rows: Record<string, LegacyRow> = {};
  const record = (name: string, best: number, floor: number) => {
    rows[name] = { ops_per_s: Math.round(best), floor_ops_per_s: Math.round(floor), cost_ratio: Number((floor / best).toFixed(3)), ms_per_op: Number((1000 / best).toFixed(3)) };
  };
  const pass = randomBytes(32);
  let best = 0;
  let floor = 0;
  for (let round = 0; round < rounds; round++) {
    floor = Math.max(floor, measure(seconds, () => evpWithNodeHash(pass)));
    best = Math.max(best, measure(seconds, () => evpBytesToKey(pass)));
  }
  record('v1 EVP_BytesToKey (floor: node:crypto MD5 per round)', best, floor);
  for (const serializer of ['marshal', 'yaml'] as const) {
    for (const [name, step] of Object.entries(steps(serializer))) {
      best = 0;
      floor = 0;
      for (let round = 0; round < rounds; round++) {
        floor = Math.max(floor, measure(seconds, step.floor));
        best = Math.max(best, measure(seconds, step.op));
      }
      record(`v1 ${name}/${serializer}`, best, floor);
    }
  }
  return rows;
}

/** Text lines for the human-readable bench output, with MCollective's own figures alongside. */
export function legacyReport(rows: Record<string, LegacyRow>): string[] {
  const lines = ['', 'protocol version 1 (MCollective aes_security), RSA-2048, ~200-byte RPC bodies; floor = node:crypto work + EVP_BytesToKey on the same sizes', ''];
  lines.push(`${'operation'.padEnd(56)}${'ops/s'.padStart(8)}${'ms/op'.padStart(8)}${'floor ops/s'.padStart(13)}${'ratio'.padStart(8)}${'Ruby ms'.padStart(9)}`);
  for (const [name, r] of Object.entries(rows)) {
    const step = Object.keys(RUBY_MS).find((k) => name.includes(k));
    lines.push(`${name.padEnd(56)}${String(r.ops_per_s).padStart(8)}${r.ms_per_op.toFixed(2).padStart(8)}${String(r.floor_ops_per_s).padStart(13)}${r.cost_ratio.toFixed(3).padStart(8)}${(step ? RUBY_MS[step]!.toFixed(1) : '').padStart(9)}`);
  }
  return lines;
}
