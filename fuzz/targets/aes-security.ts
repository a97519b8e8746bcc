/**
 * The aes_security provider (wire protocol version 2) as a fuzz target. It sets up, in a work directory, the
 * deployments that exercise every decode path: keys distributed by hand, keys sent along and learned with a
 * CA, keys learned without one, RSA and ephemeral (X25519) reply encryption, msgpack and yaml bodies, a server
 * signing its own request (registration), every key type (RSA, ECDSA P-256, Ed25519) as client and as server, a
 * sender file of two keys (a rotation), and a revocation list checked on every resolution. Every provider is built
 * through the security registry from plain settings, with a frozen clock so that no seed expires however long the
 * run takes.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Packr } from 'msgpackr';
import '../../plugins/security/aes_security/index.js';
import { configFromObject } from '../../src/config/index.js';
import type { OutgoingRequest } from '../../src/inter/message.js';
import type { ReplyHandle, SecurityProvider, SecurityRole } from '../../src/inter/security.js';
import { createCa, generatePemKeyPair, signCertificate, type KeyType } from '../../src/keys/index.js';
import { createSecurityProvider } from '../../src/security/registry.js';
import { MemoryCounters } from '../../src/util/counters.js';
import { CapturingLogger } from '../../src/util/log.js';
import type { Dissected, FuzzTarget, Seed, SideTarget } from '../target.js';

/** "TSC" | version | kind: the fixed prefix of a version 2 envelope (docs/protocol.md). */
const PREFIX_BYTES = 5;
/** Section length widths in wire order: header u32, ciphertext u32, signature u16. */
const LENGTH_WIDTHS = [4, 4, 2] as const;

const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true, bundleStrings: false });

/** The version 2 envelope taken apart independently of the provider's own parser. */
function dissect(wire: Uint8Array): Dissected | null {
  const bytes = Buffer.from(wire.buffer, wire.byteOffset, wire.length);
  if (bytes.length < PREFIX_BYTES) return null;
  let offset = PREFIX_BYTES;
  const sections: Uint8Array[] = [];
  for (const width of LENGTH_WIDTHS) {
    if (offset + width > bytes.length) return null;
    const length = width === 4 ? bytes.readUInt32BE(offset) : bytes.readUInt16BE(offset);
    offset += width;
    if (offset + length > bytes.length) return null;
    sections.push(bytes.subarray(offset, offset + length));
    offset += length;
  }
  if (offset !== bytes.length) return null;
  let fields: unknown;
  try {
    fields = packr.unpack(sections[0]!);
  } catch {
    return null;
  }
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) return null;
  return { fields: { ...(fields as Record<string, unknown>) }, sections, prefix: bytes.subarray(0, PREFIX_BYTES) };
}

function frame(prefix: Uint8Array, sections: readonly Uint8Array[]): Uint8Array {
  const parts: Uint8Array[] = [prefix];
  sections.forEach((section, index) => {
    const width = LENGTH_WIDTHS[Math.min(index, LENGTH_WIDTHS.length - 1)]!;
    const length = Buffer.alloc(width);
    if (width === 4) length.writeUInt32BE(Math.min(section.length, 0xffff_ffff));
    else length.writeUInt16BE(Math.min(section.length, 0xffff));
    parts.push(length, section);
  });
  return Buffer.concat(parts);
}

function lengthFields(prefix: Uint8Array, sections: readonly Uint8Array[]): Array<{ offset: number; bytes: 2 | 4 }> {
  const fields: Array<{ offset: number; bytes: 2 | 4 }> = [];
  let offset = prefix.length;
  sections.forEach((section, index) => {
    const width = LENGTH_WIDTHS[Math.min(index, LENGTH_WIDTHS.length - 1)]!;
    fields.push({ offset, bytes: width });
    offset += width + section.length;
  });
  return fields;
}

const codec = { dissect, frame, lengthFields, encodeFields: (fields: Record<string, unknown>) => packr.pack(fields) };

interface KeyFiles {
  privatePath: string;
  publicPath: string;
  publicPem: string;
}

/** Builds the aes_security target in `workDir`. */
export async function createAesSecurityTarget(workDir: string): Promise<FuzzTarget> {
  const clock = Date.now();
  const dir = (name: string): string => {
    const path = join(workDir, name);
    mkdirSync(path, { recursive: true, mode: 0o700 });
    return path;
  };
  const keys = async (name: string, where: string, certify?: (publicPem: string) => Promise<string>, type: KeyType = 'rsa'): Promise<KeyFiles> => {
    const pair = await generatePemKeyPair(type);
    const privatePath = join(where, `${name}-private.pem`);
    const publicPath = join(where, `${name}.pem`);
    writeFileSync(privatePath, pair.privateKeyPem, { mode: 0o600 });
    const publicPem = certify ? await certify(pair.publicKeyPem) : pair.publicKeyPem;
    writeFileSync(publicPath, publicPem);
    return { privatePath, publicPath, publicPem };
  };
  const install = (where: string, name: string, pem: string): void => writeFileSync(join(where, `${name}.pem`), pem);
  let providers = 0;
  const provider = (role: SecurityRole, settings: Record<string, string | number | boolean>): SecurityProvider => {
    // Each server gets its own state directory: its replay journal must not be shared with another provider.
    const state = { statedir: dir(`state-${++providers}`) };
    const config = configFromObject({ ...state, ...Object.fromEntries(Object.entries(settings).map(([k, v]) => [`plugin.aes.${k}`, v])) }, { source: `fuzz ${role}` });
    const built = createSecurityProvider('aes_security', { config, role, logger: new CapturingLogger(), counters: new MemoryCounters(), now: () => clock });
    const problems = built.validate();
    if (problems.length > 0) throw new Error(`fuzz target setup: ${problems.join('; ')}`);
    return built;
  };

  const ca = await createCa({ cn: 'fuzz CA' });
  const caPath = join(dir('ca'), 'ca.pem');
  writeFileSync(caPath, ca.certPem);
  const certifiedAs = (cn: string) => (pem: string) => signCertificate({ caCertPem: ca.certPem, caKeyPem: ca.keyPem, publicKeyPem: pem, cn });
  const [alice, carol, dave, node1, erin, erinOld, frank, gina, node2, node3] = await Promise.all([
    keys('alice', dir('alice')),
    keys('carol', dir('carol'), certifiedAs('carol')),
    keys('dave', dir('dave')),
    keys('node1', dir('node1')),
    keys('erin', dir('erin'), undefined, 'p256'),
    keys('erin', dir('erin-old')),
    keys('frank', dir('frank'), undefined, 'ed25519'),
    keys('gina', dir('gina'), certifiedAs('gina'), 'ed25519'),
    keys('node2', dir('node2'), undefined, 'ed25519'),
    keys('node3', dir('node3'), undefined, 'p256'),
  ]);
  const serverCerts = dir('server-certs');
  // erin rotated from RSA to P-256: her file holds both keys, the newest first.
  const trusted = [['alice', alice.publicPem], ['node1', node1.publicPem], ['erin', erin.publicPem + erinOld.publicPem], ['frank', frank.publicPem]] as const;
  for (const [name, pem] of trusted) install(serverCerts, name, pem);
  const clientCerts = dir('client-certs');
  for (const node of [node1, node2, node3]) install(clientCerts, basename(node.publicPath, '.pem'), node.publicPem);
  // A revocation list (of a key nobody uses), so every resolution runs the revocation check.
  const revokedPath = join(dir('revoked'), 'revoked');
  writeFileSync(revokedPath, `${'0'.repeat(32)}\n`);

  const serverKeys = { server_private: node1.privatePath, server_public: node1.publicPath, revoked_keys: revokedPath };
  // Keys given by hand; keys learned through a CA; keys learned without one.
  const manual = provider('server', { ...serverKeys, client_cert_dir: serverCerts });
  const node2Server = provider('server', { server_private: node2.privatePath, server_public: node2.publicPath, client_cert_dir: serverCerts });
  const node3Server = provider('server', { server_private: node3.privatePath, server_public: node3.publicPath, client_cert_dir: serverCerts });
  const caLearning = provider('server', { ...serverKeys, client_cert_dir: dir('learned-ca'), learn_pubkeys: 1, ca_cert: caPath });
  const openLearning = provider('server', { ...serverKeys, client_cert_dir: dir('learned-open'), learn_pubkeys: 1, insecure_learning: 1 });
  const serverWithKey = provider('server', { ...serverKeys, client_cert_dir: serverCerts, send_pubkey: 1 });
  const yamlServer = provider('server', { ...serverKeys, client_cert_dir: serverCerts, serializer: 'yaml' });

  const client = (who: KeyFiles, extra: Record<string, string | number> = {}) =>
    provider('client', { client_private: who.privatePath, client_public: who.publicPath, server_cert_dir: clientCerts, ...extra });
  const aliceRsa = client(alice);
  const aliceEphemeral = client(alice, { reply_encryption: 'ephemeral' });
  const aliceYaml = client(alice, { serializer: 'yaml' });
  const carolWithCert = client(carol, { send_pubkey: 1 });
  const daveWithKey = client(dave, { send_pubkey: 1 });
  const erinP256 = client(erin, { reply_encryption: 'ephemeral' });
  const frankEd25519 = client(frank, { reply_encryption: 'ephemeral' });
  const ginaWithCert = client(gina, { send_pubkey: 1, reply_encryption: 'ephemeral' });

  const outgoing = (overrides: Partial<OutgoingRequest> = {}): OutgoingRequest => ({
    requestid: randomBytes(16).toString('hex'), senderid: 'client.example.net', agent: 'rpcutil', collective: 'mcollective',
    filter: { fact: [{ fact: 'role', operator: '==', value: 'web' }], cf_class: ['apache'], agent: ['rpcutil'], identity: ['/^web/'], compound: [] },
    ttl: 3600, body: { action: 'ping', data: { n: 42, text: 'hello', list: [1, 2, 3], bytes: Buffer.from([0, 1, 255]) } }, ...overrides,
  });
  const decodeWith = (receiver: SecurityProvider) => (wire: Uint8Array) => receiver.decodeRequest(wire);
  // A sender keeps the handle of each request it sent; a reply is decoded with the handles of its sender.
  const handles = new Map<string, ReplyHandle>();
  const send = (from: SecurityProvider, request: OutgoingRequest): Uint8Array => {
    const { wire, handle } = from.encodeRequest(request);
    handles.set(request.requestid, handle);
    return wire;
  };
  const requestSeeds: Seed[] = [
    { label: 'request, rsa reply, msgpack, manual keys', wire: send(aliceRsa, outgoing()), decode: decodeWith(manual) },
    { label: 'request, ephemeral reply', wire: send(aliceEphemeral, outgoing()), decode: decodeWith(manual) },
    { label: 'request, yaml body', wire: send(aliceYaml, outgoing({ body: { action: 'run', data: { command: 'ls', args: ['-l', '/tmp'] } } })), decode: decodeWith(yamlServer) },
    { label: 'request, CA-signed certificate sent along, learned', wire: send(carolWithCert, outgoing()), decode: decodeWith(caLearning) },
    { label: 'request, key sent along, insecure learning', wire: send(daveWithKey, outgoing()), decode: decodeWith(openLearning) },
    { label: 'request, P-256 key (ephemeral replies), two keys in the sender\'s file', wire: send(erinP256, outgoing()), decode: decodeWith(manual) },
    { label: 'request, Ed25519 key', wire: send(frankEd25519, outgoing()), decode: decodeWith(manual) },
    { label: 'request, CA-signed Ed25519 certificate sent along, learned', wire: send(ginaWithCert, outgoing()), decode: decodeWith(caLearning) },
    {
      label: 'registration request signed by a server',
      wire: send(serverWithKey, outgoing({ agent: 'registration', senderid: 'node1', body: { agentlist: ['rpcutil'], facts: { role: 'web' } } })),
      decode: decodeWith(manual),
    },
  ];

  // Replies answer requests whose reply material the sending client keeps: each reply is decoded by its client.
  const answered = (from: SecurityProvider, by: SecurityProvider, senderid: string, body: unknown): Uint8Array => {
    const request = by.decodeRequest(send(from, outgoing()));
    return by.encodeReply({ senderid, senderagent: 'rpcutil', body }, request);
  };
  const replyBody = { statuscode: 0, statusmsg: 'OK', data: { pong: 1, facts: { role: 'web' }, bytes: Buffer.from([1, 2, 3]) } };
  const decodeReplyWith = (receiver: SecurityProvider) => (wire: Uint8Array) => receiver.decodeReply(wire, (requestid) => handles.get(requestid));
  const replySeeds: Seed[] = [
    { label: 'reply, rsa', wire: answered(aliceRsa, manual, 'node1', replyBody), decode: decodeReplyWith(aliceRsa) },
    { label: 'reply, ephemeral', wire: answered(aliceEphemeral, manual, 'node1', replyBody), decode: decodeReplyWith(aliceEphemeral) },
    { label: 'reply, server key sent along', wire: answered(aliceRsa, serverWithKey, 'node1', replyBody), decode: decodeReplyWith(aliceRsa) },
    { label: 'reply, Ed25519 server key', wire: answered(aliceEphemeral, node2Server, 'node2', replyBody), decode: decodeReplyWith(aliceEphemeral) },
    { label: 'reply, P-256 server key to a P-256 client', wire: answered(erinP256, node3Server, 'node3', replyBody), decode: decodeReplyWith(erinP256) },
    { label: 'reply, yaml body', wire: answered(aliceYaml, yamlServer, 'node1', { statuscode: 1, statusmsg: 'failed', data: { lines: ['a', 'b'] } }), decode: decodeReplyWith(aliceYaml) },
  ];
  for (const seed of [...requestSeeds, ...replySeeds]) seed.decode(seed.wire);
  // Decoding a request records it for replay protection: seeds were decoded once above, so their mutants are
  // checked by fresh receivers that have seen nothing (a replay refusal must not hide a forged signature).
  const fresh = { manual: provider('server', { ...serverKeys, client_cert_dir: serverCerts }) };
  const freshCa = provider('server', { ...serverKeys, client_cert_dir: dir('learned-ca-2'), learn_pubkeys: 1, ca_cert: caPath });
  const freshOpen = provider('server', { ...serverKeys, client_cert_dir: dir('learned-open-2'), learn_pubkeys: 1, insecure_learning: 1 });
  const freshYaml = provider('server', { ...serverKeys, client_cert_dir: serverCerts, serializer: 'yaml' });
  const freshCa2 = provider('server', { ...serverKeys, client_cert_dir: dir('learned-ca-3'), learn_pubkeys: 1, ca_cert: caPath });
  const receivers = [fresh.manual, fresh.manual, freshYaml, freshCa, freshOpen, fresh.manual, fresh.manual, freshCa2, fresh.manual];
  requestSeeds.forEach((seed, index) => { seed.decode = decodeWith(receivers[index]!); });

  const side = (seeds: Seed[]): SideTarget => ({ seeds, ...codec });
  return {
    name: 'aes_security v2',
    sides: { request: side(requestSeeds), reply: side(replySeeds) },
    close: () => rmSync(workDir, { recursive: true, force: true }),
  };
}
