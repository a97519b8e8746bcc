/**
 * The aes_security provider in legacy mode, protocol version 1 (MCollective 2.x), as a fuzz target. Requests in
 * Marshal and YAML (RPC, discovery with and without a filter, a one-way registration, a key sent along and learned,
 * a receiver with enforce_ttl = 0), the frames captured from the real Ruby MCollective (decoded at their own
 * clock), and replies to each client's own requests. Every provider is built through the security registry with a
 * frozen clock.
 *
 * A version 1 message is taken apart as its outer Hash (the fields, Symbol keys) and three sections: the Hash without
 * `:body` and `:sslkey` (written in Marshal), the ciphertext and the key block (both base64-decoded); the prefix byte
 * says the serializer (1 Marshal, 2 YAML). The receivers have decoded every request seed before fuzzing starts: a
 * mutant that still decodes whole (version 1 authenticates only its key block) is then a replay, refused as one. The
 * reply side authenticates nothing (anyone holding a client's public key can write a reply), so a reply mutant that
 * decodes is counted, not reported as a forgery.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import '../../plugins/security/aes_security/index.js';
import { decode64, encode64 } from '../../plugins/security/aes_security/v1/crypto.js';
import { RubyHash, RubySymbol, deserializeV1, fromPlain, looksLikeV1, serializeV1, sym, type RubyValue, type V1Serializer } from '../../plugins/security/aes_security/v1/index.js';
import { configFromObject } from '../../src/config/index.js';
import type { OutgoingRequest } from '../../src/inter/message.js';
import type { ReplyHandle, SecurityProvider, SecurityRole } from '../../src/inter/security.js';
import { generatePemKeyPair } from '../../src/keys/index.js';
import { createSecurityProvider } from '../../src/security/registry.js';
import { MemoryCounters } from '../../src/util/counters.js';
import { CapturingLogger } from '../../src/util/log.js';
import type { Dissected, FuzzTarget, Seed, SideTarget } from '../target.js';

const SERIALIZER_BYTE: Record<V1Serializer, number> = { marshal: 1, yaml: 2 };
/** The frames captured from Ruby MCollective 2.13 (test/fixtures/interop), and the clock they were made at. */
const INTEROP = fileURLToPath(new URL('../../../test/fixtures/interop/', import.meta.url));
const CAPTURE_CLOCK_MS = 1796027195_000;

function outerOf(wire: Uint8Array): { serializer: V1Serializer; outer: RubyHash } | null {
  const serializer = looksLikeV1(wire);
  if (serializer === null) return null;
  try {
    const outer = deserializeV1(wire, serializer);
    return outer instanceof RubyHash ? { serializer, outer } : null;
  } catch {
    return null;
  }
}

function base64Section(value: RubyValue | undefined): Uint8Array {
  if (typeof value !== 'string') return new Uint8Array(0);
  try {
    return decode64(value, 'fuzz');
  } catch {
    return Buffer.from(value);
  }
}

function dissect(wire: Uint8Array): Dissected | null {
  const parsed = outerOf(wire);
  if (!parsed) return null;
  const fields: Record<string, unknown> = {};
  const header = new RubyHash();
  for (const [key, value] of parsed.outer.entries()) {
    if (!(key instanceof RubySymbol)) return null;
    fields[key.name] = value;
    if (key.name !== 'body' && key.name !== 'sslkey') header.set(key, value);
  }
  return {
    fields,
    sections: [serializeV1(header, 'marshal'), base64Section(parsed.outer.getSym('body')), base64Section(parsed.outer.getSym('sslkey'))],
    prefix: Uint8Array.of(SERIALIZER_BYTE[parsed.serializer]),
  };
}

/** The fields as a Hash, whatever odd values a mutator put in them (a value with no Ruby form becomes its text). */
function encodeFields(fields: Record<string, unknown>): Uint8Array {
  const hash = new RubyHash();
  for (const [name, value] of Object.entries(fields)) {
    if (name === 'body' || name === 'sslkey') continue;
    let ruby: RubyValue;
    try {
      ruby = fromPlain(value, 'string');
      serializeV1(ruby, 'marshal');
    } catch {
      ruby = String(value);
    }
    hash.set(sym(name), ruby);
  }
  return serializeV1(hash, 'marshal');
}

function frame(prefix: Uint8Array, sections: readonly Uint8Array[]): Uint8Array {
  const serializer = prefix[0] === 1 ? 'marshal' : prefix[0] === 2 ? 'yaml' : null;
  const header = sections[0] ? outerOf(sections[0]) : null;
  if (serializer === null || header === null) return Buffer.concat([prefix, ...sections]);
  const outer = new RubyHash(header.outer.entries());
  if (sections[1] !== undefined) outer.set(sym('body'), encode64(sections[1]));
  if (sections[2] !== undefined) outer.set(sym('sslkey'), encode64(sections[2]));
  try {
    return serializeV1(outer, serializer);
  } catch {
    return Buffer.concat([prefix, ...sections]);
  }
}

/** Where the framed message holds a length or a number to lie about: Marshal's :body length, YAML's :ttl or :msgtime. */
function lengthFields(prefix: Uint8Array, sections: readonly Uint8Array[]): Array<{ offset: number; bytes: 2 | 4 }> {
  const out = Buffer.from(frame(prefix, sections));
  let offset = -1;
  if (prefix[0] === 1 && sections[1] && sections[1].length > 0) {
    offset = out.indexOf(encode64(sections[1]).slice(0, 16)) - 3;
  } else {
    for (const key of ['\n:ttl: ', '\n:msgtime: ']) {
      const at = out.indexOf(key);
      if (at >= 0) { offset = at + key.length; break; }
    }
  }
  if (offset < 0 || offset + 2 > out.length) offset = 0;
  return out.length >= 2 ? [{ offset, bytes: 2 }] : [{ offset: 0, bytes: 2 }];
}

const codec = { dissect, frame, lengthFields, encodeFields };

/** Builds the protocol version 1 target in `workDir`. */
export async function createLegacyV1Target(workDir: string): Promise<FuzzTarget> {
  const clock = Date.now();
  const dir = (name: string): string => {
    const path = join(workDir, name);
    mkdirSync(path, { recursive: true, mode: 0o700 });
    return path;
  };
  const keys = dir('keys');
  const pair = async (name: string, pems?: { privateKeyPem: string; publicKeyPem: string }) => {
    const { privateKeyPem, publicKeyPem } = pems ?? (await generatePemKeyPair('rsa'));
    writeFileSync(join(keys, `${name}-private.pem`), privateKeyPem, { mode: 0o600 });
    writeFileSync(join(keys, `${name}.pem`), publicKeyPem);
    return { privatePath: join(keys, `${name}-private.pem`), publicPath: join(keys, `${name}.pem`), publicPem: publicKeyPem };
  };
  const [carol, dave, node1] = await Promise.all([pair('carol'), pair('dave'), pair('node1')]);
  const certs = dir('certs');
  for (const [name, files] of [['carol', carol], ['node1', node1]] as const) writeFileSync(join(certs, `${name}.pem`), files.publicPem);

  let providers = 0;
  const provider = (role: SecurityRole, settings: Record<string, string | number>, now = clock): SecurityProvider => {
    const config = configFromObject({ statedir: dir(`state-${++providers}`), ...Object.fromEntries(Object.entries(settings).map(([k, v]) => [`plugin.aes.${k}`, v])) }, { source: `fuzz v1 ${role}` });
    const built = createSecurityProvider('aes_security', { config, role, logger: new CapturingLogger(), counters: new MemoryCounters(), now: () => now });
    const problems = built.validate();
    if (problems.length > 0) throw new Error(`fuzz target setup: ${problems.join('; ')}`);
    return built;
  };
  const legacy = { legacy: 1, accept_serializers: 'yaml, marshal' };
  const serverKeys = { server_private: node1.privatePath, server_public: node1.publicPath };
  const receiver = provider('server', { ...serverKeys, client_cert_dir: certs, ...legacy });
  const tolerant = provider('server', { ...serverKeys, client_cert_dir: certs, enforce_ttl: 0, ...legacy });
  const learning = provider('server', { ...serverKeys, client_cert_dir: dir('learned'), learn_pubkeys: 1, insecure_learning: 1, ...legacy });
  const client = (who: { privatePath: string; publicPath: string }, extra: Record<string, string | number> = {}) =>
    provider('client', { client_private: who.privatePath, client_public: who.publicPath, server_cert_dir: certs, protocol: 1, ...legacy, ...extra });
  const carolMarshal = client(carol);
  const carolYaml = client(carol, { serializer: 'yaml' });
  const daveWithKey = client(dave, { send_pubkey: 1 });
  const node1Registering = provider('server', { ...serverKeys, client_cert_dir: certs, protocol: 1, ...legacy });

  const handles = new Map<string, ReplyHandle>();
  const send = (from: SecurityProvider, overrides: Partial<OutgoingRequest> = {}): Uint8Array => {
    const request: OutgoingRequest = {
      requestid: randomBytes(16).toString('hex'), senderid: 'client.example.net', agent: 'rpcutil', collective: 'mcollective',
      filter: { fact: [{ fact: 'role', operator: '==', value: 'web' }], cf_class: ['apache'], agent: ['rpcutil'], identity: ['/^web/'], compound: ['country=uk and not (role=db or /web/)'] },
      ttl: 3600, body: { action: 'get_fact', data: { fact: 'os', n: 42, list: [1, 'two', null], bytes: Buffer.from([0, 1, 255]) } }, ...overrides,
    };
    const encoded = from.encodeRequest(request);
    handles.set(request.requestid, encoded.handle);
    return encoded.wire;
  };
  const decodeWith = (by: SecurityProvider) => (wire: Uint8Array) => by.decodeRequest(wire);
  const empty = { fact: [], cf_class: [], agent: [], identity: [], compound: [] };
  const requestSeeds: Seed[] = [
    { label: 'RPC request, Marshal', wire: send(carolMarshal), decode: decodeWith(receiver) },
    { label: 'RPC request, YAML', wire: send(carolYaml), decode: decodeWith(receiver) },
    { label: 'discovery ping, empty filter (mco ping)', wire: send(carolMarshal, { agent: 'discovery', filter: empty, body: { action: 'ping', data: {} } }), decode: decodeWith(receiver) },
    { label: 'discovery ping, agent filter and "collective", YAML', wire: send(carolYaml, { agent: 'discovery', filter: { ...empty, agent: ['rpcutil'] }, body: { action: 'ping', data: {} } }), decode: decodeWith(receiver) },
    { label: 'RPC request to a receiver with enforce_ttl = 0', wire: send(carolMarshal), decode: decodeWith(tolerant) },
    { label: 'RPC request with :sslpubkey, learned without a CA', wire: send(daveWithKey), decode: decodeWith(learning) },
    {
      label: 'registration (one-way), signed by a server',
      wire: send(node1Registering, { agent: 'registration', senderid: 'node1', filter: { ...empty, agent: ['registration'] }, body: { agentlist: ['rpcutil'], facts: { role: 'web' }, classes: ['web'], collectives: ['mcollective'] } }),
      decode: decodeWith(receiver),
    },
  ];

  const replySeeds: Seed[] = [];
  const decodeReplyWith = (by: SecurityProvider) => (wire: Uint8Array) => by.decodeReply(wire, (requestid) => handles.get(requestid));
  const answered = (from: SecurityProvider, body: unknown, overrides: Partial<OutgoingRequest> = {}): Uint8Array => {
    const request = receiver.decodeRequest(send(from, overrides));
    return receiver.encodeReply({ senderid: 'node1', senderagent: request.agent, body }, request);
  };
  const ok = { statuscode: 0, statusmsg: 'OK', data: { value: 'Debian', nested: { list: [1, 2.5, 'three'] }, bytes: Buffer.from([1, 2, 3]) } };
  replySeeds.push(
    { label: 'RPC reply, Marshal', wire: answered(carolMarshal, ok), decode: decodeReplyWith(carolMarshal) },
    { label: 'RPC reply, YAML, failed status', wire: answered(carolYaml, { statuscode: 5, statusmsg: 'boom', data: {} }), decode: decodeReplyWith(carolYaml) },
    { label: 'discovery pong', wire: answered(carolMarshal, ok, { agent: 'discovery', filter: empty, body: { action: 'ping', data: {} } }), decode: decodeReplyWith(carolMarshal) },
  );

  // The frames of the real Ruby MCollective, decoded at their own clock with the keys that made them.
  if (existsSync(INTEROP)) {
    const fixture = (path: string): Buffer => readFileSync(join(INTEROP, path));
    const ruby = await pair('alice', { privateKeyPem: fixture('keys/alice-private.pem').toString(), publicKeyPem: fixture('keys/alice.pem').toString() });
    const rubyCerts = dir('ruby-certs');
    writeFileSync(join(rubyCerts, 'alice.pem'), ruby.publicPem);
    const rubyReceiver = provider('server', { ...serverKeys, client_cert_dir: rubyCerts, ...legacy }, CAPTURE_CLOCK_MS);
    const rubyClient = provider('client', { client_private: ruby.privatePath, client_public: ruby.publicPath, server_cert_dir: rubyCerts, protocol: 1, ...legacy }, CAPTURE_CLOCK_MS);
    for (const serializer of ['marshal', 'yaml'] as const) {
      for (const [request, reply, agent] of [['request-rpcutil-ping', 'reply-rpcutil-ping', 'rpcutil'], ['request-discovery-ping', 'reply-discovery-pong', 'discovery']] as const) {
        const wire = fixture(`${serializer}/${request}.body`);
        requestSeeds.push({ label: `Ruby ${agent} request, ${serializer}`, wire, decode: decodeWith(rubyReceiver) });
        const requestid = (deserializeV1(wire, serializer) as RubyHash).getSym('requestid') as string;
        send(rubyClient, { requestid, agent, body: { action: 'ping', data: {} } });
        replySeeds.push({ label: `Ruby ${agent} reply, ${serializer}`, wire: fixture(`${serializer}/${reply}.body`), decode: decodeReplyWith(rubyClient) });
      }
    }
  }
  // Every request seed is decoded once by its receiver: a mutant that decodes whole is then a replay.
  for (const seed of [...requestSeeds, ...replySeeds]) seed.decode(seed.wire);

  const side = (seeds: Seed[], authenticates: boolean): SideTarget => ({ seeds, ...codec, authenticates });
  return {
    name: 'aes_security v1 (legacy)',
    sides: { request: side(requestSeeds, true), reply: side(replySeeds, false) },
    close: () => rmSync(workDir, { recursive: true, force: true }),
  };
}
