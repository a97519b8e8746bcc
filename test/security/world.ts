/**
 * Test scaffolding for the security provider: temporary key directories, real RSA keys (generated in the
 * background at import so files do not wait on each other), and providers built from plain settings.
 */
import { generateKeyPair, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { configFromObject } from '../../src/config/index.js';
import '../../plugins/security/aes_security/index.js';
import { AesSecurityProvider } from '../../plugins/security/aes_security/provider.js';
import type { DecodedReply, OutgoingRequest, RequestFilter } from '../../src/inter/message.js';
import type { ReplyHandle, SecurityRole } from '../../src/inter/security.js';
import { MemoryCounters } from '../../src/util/counters.js';
import { CapturingLogger } from '../../src/util/log.js';
import { createCa, generatePemKeyPair, signCertificate, type KeyType } from '../../src/keys/index.js';

const generate = promisify(generateKeyPair);

/** An RSA key pair as PEM text. */
export interface PemPair {
  privatePem: string;
  publicPem: string;
}

async function newPair(): Promise<PemPair> {
  const { privateKey, publicKey } = await generate('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { privatePem: privateKey, publicPem: publicKey };
}

const pool: Promise<PemPair>[] = Array.from({ length: 6 }, () => newPair());

/** A fresh RSA-2048 key pair (from a pool generated in the background). */
export function rsaPair(): Promise<PemPair> {
  return pool.shift() ?? newPair();
}

/** A fresh key pair of any type as PEM text (RSA from the background pool). */
export async function pairOf(type: KeyType): Promise<PemPair> {
  if (type === 'rsa') return rsaPair();
  const pair = await generatePemKeyPair(type);
  return { privatePem: pair.privateKeyPem, publicPem: pair.publicKeyPem };
}

/**
 * A provider together with what it logged and counted, and the reply handles of the requests it sent: `send`
 * encodes a request and keeps its handle, as a client keeps it while it waits; `receive` decodes a reply with them;
 * `forget` drops one, as a client does when it stops waiting.
 */
export interface ProviderUnderTest {
  provider: AesSecurityProvider;
  logger: CapturingLogger;
  counters: MemoryCounters;
  handles: Map<string, ReplyHandle>;
  send(request: OutgoingRequest): Uint8Array;
  receive(wire: Uint8Array): DecodedReply;
  forget(requestid: string): void;
}

/** Wraps a provider with the handle bookkeeping of a sender. */
export function underTest(provider: AesSecurityProvider, logger: CapturingLogger, counters: MemoryCounters): ProviderUnderTest {
  const handles = new Map<string, ReplyHandle>();
  return {
    provider, logger, counters, handles,
    send(request) {
      const { wire, handle } = provider.encodeRequest(request);
      handles.set(request.requestid, handle);
      return wire;
    },
    receive: (wire) => provider.decodeReply(wire, (requestid) => handles.get(requestid)),
    forget: (requestid) => { handles.delete(requestid); },
  };
}

/** A temporary directory tree with helpers to place keys and build providers. */
export class World {
  readonly root = mkdtempSync(join(tmpdir(), 'tsco-sec-'));
  /** The injectable clock of every provider this world builds (ms). */
  clock = Date.now();
  private states = 0;

  /** Creates (and returns) a directory under the world's root. */
  dir(name: string): string {
    const path = join(this.root, name);
    mkdirSync(path, { recursive: true });
    return path;
  }

  /** Writes `<dir>/<name>-private.pem` (0600) and `<dir>/<name>.pem`; returns their paths and PEMs. */
  async keys(name: string, dir = this.dir('keys'), pair?: PemPair): Promise<{ privatePath: string; publicPath: string } & PemPair> {
    const pem = pair ?? (await rsaPair());
    const privatePath = join(dir, `${name}-private.pem`);
    const publicPath = join(dir, `${name}.pem`);
    writeFileSync(privatePath, pem.privatePem, { mode: 0o600 });
    chmodSync(privatePath, 0o600);
    writeFileSync(publicPath, pem.publicPem);
    return { privatePath, publicPath, ...pem };
  }

  /** Copies a public key (or certificate) into a certificate directory as `<name>.pem`. */
  install(dir: string, name: string, pem: string): string {
    const path = join(dir, `${name}.pem`);
    writeFileSync(path, pem);
    return path;
  }

  /**
   * Builds a provider for `role` from `plugin.aes.*` settings (keys given without the prefix) and top-level ones.
   * A server gets a state directory of its own (its replay journal and CA verdicts), unless `top` names one; a
   * client a verdict cache file of its own, unless `aes` names one (so no test writes to the user's cache, and a
   * second client of a test verifies certificates cold unless it shares the file on purpose).
   */
  provider(role: SecurityRole, aes: Record<string, string | number | boolean>, top: Record<string, string | number | boolean> = {}): ProviderUnderTest {
    const settings: Record<string, string | number | boolean> = { ...top };
    if (role === 'server' && top['statedir'] === undefined) settings['statedir'] = this.dir(`state-${++this.states}`);
    if (role === 'client' && aes['verdict_cache'] === undefined) settings['plugin.aes.verdict_cache'] = join(this.dir('verdicts'), `client-${++this.states}.json`);
    for (const [key, value] of Object.entries(aes)) settings[`plugin.aes.${key}`] = value;
    const logger = new CapturingLogger();
    const counters = new MemoryCounters();
    const config = configFromObject(settings, { source: `${role}.cfg` });
    const provider = new AesSecurityProvider({ config, role, logger, counters, now: () => this.clock });
    return underTest(provider, logger, counters);
  }

  /** Removes everything the world wrote. */
  cleanup(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** A CA and a way to issue certificates from it. */
export async function makeCa(cn = 'Test CA', type: KeyType = 'rsa'): Promise<{ certPem: string; keyPem: string; issue(name: string, publicPem: string, options?: { days?: number; notBefore?: Date; dnsNames?: string[] }): Promise<string> }> {
  const ca = await createCa({ cn, type });
  return {
    ...ca,
    issue: (name, publicPem, options = {}) => signCertificate({ caCertPem: ca.certPem, caKeyPem: ca.keyPem, publicKeyPem: publicPem, cn: name, ...options }),
  };
}

/** An empty filter. */
export function emptyFilter(): RequestFilter {
  return { fact: [], cf_class: [], agent: [], identity: [], compound: [] };
}

/** A request with sensible defaults and a fresh request id. */
export function request(overrides: Partial<OutgoingRequest> = {}): OutgoingRequest {
  return {
    requestid: randomBytes(16).toString('hex'),
    senderid: 'client.example.net',
    agent: 'rpcutil',
    collective: 'mcollective',
    filter: emptyFilter(),
    ttl: 60,
    body: { action: 'ping', data: { secret: 'launch codes', n: 42 } },
    ...overrides,
  };
}
