/** The aes_security settings, read once from the configuration and frozen. */
import { join } from 'node:path';
import { isName } from '../../../src/names.js';
import { userCacheBase } from '../../../src/util/cache-dir.js';
import type { ConfigView } from '../../../src/inter/config.js';
import type { SecurityRole } from '../../../src/inter/security.js';
import type { ReplyMode } from '../../../src/inter/message.js';

/** Everything the provider reads from `plugin.aes.*`, resolved for one role. */
export interface AesSettings {
  readonly role: SecurityRole;
  /** What version 2 writes: `plugin.aes.serializer`, msgpack when unset (or marshal, which version 2 cannot carry). */
  readonly serializer: string;
  /** `plugin.aes.serializer` as configured, undefined when unset. */
  readonly configuredSerializer: string | undefined;
  readonly sendPubkey: boolean;
  readonly learnPubkeys: boolean;
  readonly insecureLearning: boolean;
  readonly caCert: string | undefined;
  /** CRL signed by the CA (`plugin.aes.ca_crl`). */
  readonly caCrl: string | undefined;
  /** Revocation list file (`plugin.aes.revoked_keys`). */
  readonly revokedKeys: string | undefined;
  /** Our own signing key: client_private for a client, server_private for a server. */
  readonly privateKeyPath: string | undefined;
  readonly privateKeyKey: string;
  readonly passphraseFile: string | undefined;
  /** Our own public key or certificate (its name is our callerid). */
  readonly publicKeyPath: string | undefined;
  readonly publicKeyKey: string;
  /** Where request senders' keys live (servers decode requests with it). */
  readonly clientCertDir: string | undefined;
  /** Where repliers' keys live (clients authenticate replies with it). */
  readonly serverCertDir: string | undefined;
  readonly enforceTtl: boolean;
  readonly clockSkewSeconds: number;
  readonly replyMode: ReplyMode;
  readonly replayCacheSize: number;
  readonly keyRecheckMs: number;
  /** File mapping key names to further identities they may sign as (`plugin.aes.identity_map`). */
  readonly identityMapPath: string | undefined;
  /** Key names several servers share: nothing they sign proves which server sent it. */
  readonly sharedServerKeys: ReadonlySet<string>;
  /** Where a server keeps its replay journal; undefined for a client. */
  readonly replayJournal: ReplayJournalLocation | undefined;
  /** Where CA verdicts persist (`plugin.aes.verdict_cache`); undefined when turned off. */
  readonly verdictCache: VerdictCacheLocation | undefined;
  /** Serializers a received version 2 message may name: `serializer` plus `accept_serializers` (but marshal). */
  readonly acceptedSerializers: ReadonlySet<string>;
  /** `accept_serializers` as configured. */
  readonly acceptSerializersList: readonly string[];
  /** The protocol version requests are written in (`plugin.aes.protocol`). */
  readonly protocol: 1 | 2;
  /** Whether version 1 messages are accepted (`plugin.aes.legacy`). */
  readonly legacy: boolean;
  /** What version 1 writes: yaml when `serializer` is yaml, else Marshal (MCollective's rule). */
  readonly legacySerializer: 'yaml' | 'marshal';
  /** Serializers a received version 1 message may be in: legacySerializer plus accept_serializers' yaml and marshal. */
  readonly legacyAccepted: ReadonlySet<string>;
  /** `plugin.aes.legacy_callers` as configured (key names or cert=<name>); undefined when unset (every caller). */
  readonly legacyCallers: readonly string[] | undefined;
  /** The top-level `max_message_size`: larger messages are refused before any parsing. */
  readonly maxMessageBytes: number;
  readonly maxPayloadItems: number;
  readonly maxPayloadDepth: number;
}

/** The replay journal's path and where it came from, or why it has none. */
export type ReplayJournalLocation =
  | { readonly path: string; readonly origin: string; readonly defaulted: boolean }
  | { readonly problem: string };

/**
 * The verdict cache file: `path` itself, or with `perKey` the file `<path>/<our key id>.json` (a default directory
 * shared by several key pairs of one user keeps one file per key, since each is authenticated with its own key).
 */
export interface VerdictCacheLocation {
  readonly path: string;
  readonly perKey: boolean;
}

const P = 'plugin.aes.';

/** Reads and freezes the settings for `role`. */
export function readAesSettings(config: ConfigView, role: SecurityRole): AesSettings {
  const own = role === 'client' ? 'client' : 'server';
  const clientCertDir = config.string(`${P}client_cert_dir`);
  const configured = config.string(`${P}serializer`);
  const accept = config.list(`${P}accept_serializers`);
  // Version 2 cannot carry Marshal; version 1 has only yaml and Marshal, Marshal for anything but yaml (as Ruby).
  const serializer = configured === undefined || configured === 'marshal' ? 'msgpack' : configured;
  const legacySerializer = configured === 'yaml' ? 'yaml' : 'marshal';
  return Object.freeze({
    role,
    serializer,
    configuredSerializer: configured,
    sendPubkey: config.boolean(`${P}send_pubkey`),
    learnPubkeys: config.boolean(`${P}learn_pubkeys`),
    insecureLearning: config.boolean(`${P}insecure_learning`),
    caCert: config.string(`${P}ca_cert`),
    caCrl: config.string(`${P}ca_crl`),
    revokedKeys: config.string(`${P}revoked_keys`),
    privateKeyPath: config.string(`${P}${own}_private`),
    privateKeyKey: `${P}${own}_private`,
    passphraseFile: config.string(`${P}${own}_private_passphrase_file`),
    publicKeyPath: config.string(`${P}${own}_public`),
    publicKeyKey: `${P}${own}_public`,
    clientCertDir,
    serverCertDir: config.string(`${P}server_cert_dir`) ?? clientCertDir,
    enforceTtl: config.boolean(`${P}enforce_ttl`),
    clockSkewSeconds: config.integer(`${P}clock_skew`),
    replyMode: (config.string(`${P}reply_encryption`) ?? 'rsa') as ReplyMode,
    replayCacheSize: config.integer(`${P}replay_cache_size`),
    keyRecheckMs: Math.round(config.number(`${P}key_recheck_interval`) * 1000),
    identityMapPath: config.string(`${P}identity_map`),
    sharedServerKeys: new Set(config.list(`${P}shared_server_keys`)),
    replayJournal: role === 'server' ? journalLocation(config) : undefined,
    verdictCache: verdictCacheLocation(config, role),
    acceptedSerializers: new Set([serializer, ...accept.filter((name) => name !== 'marshal')]),
    acceptSerializersList: accept,
    protocol: config.integer(`${P}protocol`) === 1 ? 1 : 2,
    legacy: config.boolean(`${P}legacy`),
    legacySerializer,
    legacyAccepted: new Set([legacySerializer, ...accept.filter((name) => name === 'yaml' || name === 'marshal')]),
    legacyCallers: config.has(`${P}legacy_callers`) ? config.list(`${P}legacy_callers`) : undefined,
    maxMessageBytes: config.integer('max_message_size'),
    maxPayloadItems: config.integer(`${P}max_payload_items`),
    maxPayloadDepth: config.integer(`${P}max_payload_depth`),
  });
}

/** `plugin.aes.verdict_cache` (0 or empty: off), else a per-key file in the user's cache (client) or statedir (server). */
function verdictCacheLocation(config: ConfigView, role: SecurityRole): VerdictCacheLocation | undefined {
  const explicit = config.string(`${P}verdict_cache`)?.trim();
  if (explicit !== undefined) return explicit === '' || explicit === '0' ? undefined : { path: explicit, perKey: false };
  const base = role === 'client' ? userCacheBase() : config.string('statedir') ?? '/var/lib/tscollective';
  return { path: join(base, 'ca-verdicts'), perKey: true };
}

/** `plugin.aes.replay_journal`, else `<statedir>/replay-<identity>.journal`. */
function journalLocation(config: ConfigView): ReplayJournalLocation {
  const explicit = config.string(`${P}replay_journal`);
  if (explicit !== undefined) return { path: explicit, origin: `${P}replay_journal (${config.origin(`${P}replay_journal`)})`, defaulted: false };
  const statedir = config.string('statedir') ?? '/var/lib/tscollective';
  const identity = config.string('identity');
  // The identity becomes part of a file name: an invalid one (reported by the daemon) must not name a path.
  if (!isName('identity', identity)) {
    return { problem: `${P}replay_journal is not set and identity ${JSON.stringify(identity)} cannot name the default <statedir>/replay-<identity>.journal` };
  }
  return { path: join(statedir, `replay-${identity}.journal`), origin: `statedir (${config.origin('statedir')}) and identity`, defaulted: true };
}
