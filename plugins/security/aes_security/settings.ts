/** The aes_security settings, read once from the configuration and frozen. */
import type { ConfigView } from '../../../src/inter/config.js';
import type { SecurityRole } from '../../../src/inter/security.js';
import type { ReplyMode } from '../../../src/inter/message.js';

/** Everything the provider reads from `plugin.aes.*`, resolved for one role. */
export interface AesSettings {
  readonly role: SecurityRole;
  readonly serializer: string;
  readonly sendPubkey: boolean;
  readonly learnPubkeys: boolean;
  readonly insecureLearning: boolean;
  readonly caCert: string | undefined;
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
}

const P = 'plugin.aes.';

/** Reads and freezes the settings for `role`. */
export function readAesSettings(config: ConfigView, role: SecurityRole): AesSettings {
  const own = role === 'client' ? 'client' : 'server';
  const clientCertDir = config.string(`${P}client_cert_dir`);
  return Object.freeze({
    role,
    serializer: config.string(`${P}serializer`) ?? 'msgpack',
    sendPubkey: config.boolean(`${P}send_pubkey`),
    learnPubkeys: config.boolean(`${P}learn_pubkeys`),
    insecureLearning: config.boolean(`${P}insecure_learning`),
    caCert: config.string(`${P}ca_cert`),
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
  });
}
