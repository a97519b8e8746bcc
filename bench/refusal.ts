/**
 * `npm run bench:refusal`: what refusing an oversized request costs a server. Each case is a request signed by a
 * valid (trusted) key, built in this process and written to a file; a child process reads it, then decodes it
 * once with a server-role provider and reports the decode time and its peak RSS (process.resourceUsage().maxRSS)
 * before and after. Cases: a 57 MB yaml payload of 30 million list items, and a 10 MB msgpack map of 1.2 million
 * keys, each against the default settings and against settings that let it through to the next bound.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configFromObject } from '../src/config/index.js';
import '../plugins/security/aes_security/index.js';
import { AesSecurityProvider } from '../plugins/security/aes_security/provider.js';
import { aeadEncrypt, hmacSha256, rsaPssSign } from '../plugins/security/aes_security/primitives.js';
import { LABELS, encodeEnvelope, pack } from '../plugins/security/aes_security/v2/wire.js';
import { MemoryCounters } from '../src/util/counters.js';
import { CapturingLogger } from '../src/util/log.js';
import { UnknownSenderError } from '../src/errors.js';
import { keyIdOfSpki } from '../src/keys/key-types.js';

interface Case { name: string; wire: string; warmup: string; settings: Record<string, string | number>; precheckDenies?: boolean }

if (process.argv[2] === 'child') {
  child(JSON.parse(process.argv[3]!) as Case);
} else {
  parent();
}

/** Decodes one case and prints `{ms, rssBeforeMb, rssAfterMb, outcome}`. */
function child(c: Case): void {
  const wire = readFileSync(c.wire);
  const provider = new AesSecurityProvider({ config: configFromObject(c.settings), role: 'server', logger: new CapturingLogger(), counters: new MemoryCounters() });
  // A small request first: keys parsed, journal opened, code warmed, as in a running daemon.
  provider.decodeRequest(readFileSync(c.warmup));
  const before = process.resourceUsage().maxRSS;
  const started = process.hrtime.bigint();
  let outcome: string;
  try {
    provider.decodeRequest(wire, c.precheckDenies ? { precheck: () => { throw new UnknownSenderError('denied by policy (precheck)'); } } : {});
    outcome = 'accepted';
  } catch (error) {
    outcome = `${(error as { code?: string }).code}: ${(error as Error).message.slice(0, 140)}`;
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const after = process.resourceUsage().maxRSS;
  process.stdout.write(JSON.stringify({ ms, rssBeforeMb: before / 1024, rssAfterMb: after / 1024, outcome }));
}

function parent(): void {
  const root = mkdtempSync(join(tmpdir(), 'tsco-refusal-'));
  try {
    const certs = join(root, 'certs');
    mkdirSync(certs);
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    writeFileSync(join(certs, 'alice.pem'), publicPem);
    const server = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(join(root, 'node1-private.pem'), server.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    writeFileSync(join(root, 'node1.pem'), server.publicKey.export({ type: 'spki', format: 'pem' }));
    const requestKey = hmacSha256(LABELS.requestKey, publicKey.export({ format: 'der', type: 'spki' }));
    // A validly signed request around an arbitrary plaintext, as an attacker holding a trusted key would build it.
    const sign = (serializer: string, plaintext: Buffer): string => {
      const iv = randomBytes(12);
      const header = pack({
        requestid: randomBytes(16).toString('hex'), senderid: 'attacker', callerid: 'cert=alice', agent: 'rpcutil', collective: 'mcollective',
        ttl: 600, msgtime: Math.floor(Date.now() / 1000), kid: keyIdOfSpki(publicKey.export({ format: 'der', type: 'spki' })), serializer, iv, reply: { mode: 'rsa' },
      });
      const ciphertext = aeadEncrypt(requestKey, iv, plaintext, header);
      const signature = rsaPssSign(privateKey, [LABELS.requestSignature, header, ciphertext]);
      const path = join(root, `${serializer}-${plaintext.length}-${randomBytes(4).toString('hex')}.wire`);
      writeFileSync(path, encodeEnvelope('request', header, ciphertext, signature));
      return path;
    };
    const filter = 'filter: {fact: [], cf_class: [], agent: [], identity: [], compound: []}\n';
    const items = 30_000_000;
    const yamlPlaintext = Buffer.concat([Buffer.from(`${filter}body: {action: ping, data: {items: [`), Buffer.alloc(items * 2 - 1, '1,'), Buffer.from(']}}\n')]);
    const keys = 1_200_000;
    const mapHeader = Buffer.from([0xdf, (keys >>> 24) & 0xff, (keys >>> 16) & 0xff, (keys >>> 8) & 0xff, keys & 0xff]);
    const entries = Buffer.alloc(keys * 8);
    for (let i = 0; i < keys; i++) {
      entries[i * 8] = 0xa6; // fixstr of 6
      entries.write(i.toString(36).padStart(6, '0'), i * 8 + 1, 'latin1');
      entries[i * 8 + 7] = 0x01;
    }
    const msgpackPlaintext = Buffer.concat([Buffer.from([0x82, 0xa6]), Buffer.from('filter'), Buffer.from([0x85, 0xa4]), Buffer.from('fact'), Buffer.from([0x90, 0xa8]),
      Buffer.from('cf_class'), Buffer.from([0x90, 0xa5]), Buffer.from('agent'), Buffer.from([0x90, 0xa8]), Buffer.from('identity'), Buffer.from([0x90, 0xa8]),
      Buffer.from('compound'), Buffer.from([0x90, 0xa4]), Buffer.from('body'), mapHeader, entries]);
    const warmup = sign('msgpack', Buffer.from([0x82, 0xa6, ...Buffer.from('filter'), 0x85, 0xa4, ...Buffer.from('fact'), 0x90, 0xa8, ...Buffer.from('cf_class'), 0x90,
      0xa5, ...Buffer.from('agent'), 0x90, 0xa8, ...Buffer.from('identity'), 0x90, 0xa8, ...Buffer.from('compound'), 0x90, 0xa4, ...Buffer.from('body'), 0xc0]));
    const yamlWire = sign('yaml', yamlPlaintext);
    const smallYamlWire = sign('yaml', Buffer.concat([Buffer.from(`${filter}body: {action: ping, data: {items: [`), Buffer.alloc(2_000_000 * 2 - 1, '1,'), Buffer.from(']}}\n')]));
    const msgpackWire = sign('msgpack', msgpackPlaintext);
    const base = {
      'plugin.aes.server_private': join(root, 'node1-private.pem'), 'plugin.aes.server_public': join(root, 'node1.pem'),
      'plugin.aes.client_cert_dir': certs, identity: 'node1',
    };
    const cases: Case[] = [
      { name: 'yaml 57 MB / 30 M items, defaults', wire: yamlWire, warmup, settings: base },
      { name: 'yaml 57 MB / 30 M items, yaml accepted, max_message_size 64 MiB', wire: yamlWire, warmup, settings: { ...base, 'plugin.aes.accept_serializers': 'yaml', max_message_size: 67108864 } },
      { name: 'the same, denied by the precheck', wire: yamlWire, warmup, settings: { ...base, 'plugin.aes.accept_serializers': 'yaml', max_message_size: 67108864 }, precheckDenies: true },
      { name: 'yaml 4 MB / 2 M items (under max_message_size), yaml accepted', wire: smallYamlWire, warmup, settings: { ...base, 'plugin.aes.accept_serializers': 'yaml' } },
      { name: 'msgpack 10 MB / 1.2 M-key map, defaults', wire: msgpackWire, warmup, settings: base },
      { name: 'msgpack 10 MB / 1.2 M-key map, max_message_size 16 MiB', wire: msgpackWire, warmup, settings: { ...base, max_message_size: 16777216 } },
    ];
    console.log(`wires: yaml ${(readFileSync(yamlWire).length / 1e6).toFixed(1)} MB, msgpack ${(readFileSync(msgpackWire).length / 1e6).toFixed(1)} MB\n`);
    console.log(`${'case'.padEnd(66)}${'decode ms'.padStart(10)}${'maxRSS MB before'.padStart(18)}${'after'.padStart(8)}  outcome`);
    for (const [index, c] of cases.entries()) {
      const settings = { ...c.settings, statedir: join(root, `state-${index}`) };
      const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), 'child', JSON.stringify({ ...c, warmup, settings })], { maxBuffer: 1 << 20 });
      const r = JSON.parse(out.toString()) as { ms: number; rssBeforeMb: number; rssAfterMb: number; outcome: string };
      console.log(`${c.name.padEnd(66)}${r.ms.toFixed(1).padStart(10)}${r.rssBeforeMb.toFixed(0).padStart(18)}${r.rssAfterMb.toFixed(0).padStart(8)}  ${r.outcome}`);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
