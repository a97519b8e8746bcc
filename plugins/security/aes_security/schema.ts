/** The `plugin.aes.*` configuration keys of the aes_security provider. */
import type { ConfigSchema } from '../../../src/inter/config.js';

/** Reply encryption modes: `rsa` (MCollective's, to the caller's RSA key) and `ephemeral` (per-request X25519). */
export const REPLY_MODES = ['rsa', 'ephemeral'] as const;

/** Declaration of every `plugin.aes.` key, registered with the configuration loader. */
export const aesConfigSchema: ConfigSchema = {
  namespace: 'aes',
  keys: {
    serializer: {
      type: 'string',
      doc: 'What this side writes: version 2 msgpack (when unset) or yaml; version 1 yaml when this is yaml, else Marshal (MCollective\'s rule); marshal needs legacy = 1',
    },
    send_pubkey: { type: 'boolean', default: false, doc: 'Attach our public key or certificate to every message' },
    learn_pubkeys: { type: 'boolean', default: false, doc: 'Cache public keys received from the network in client_cert_dir' },
    insecure_learning: { type: 'boolean', default: false, doc: 'Learn keys without a CA (anyone can introduce a key); logs a warning' },
    ca_cert: { type: 'path', doc: 'CA certificate (PEM) that learned and cached certificates must be signed by' },
    ca_crl: { type: 'path', doc: "Certificate revocation list signed by ca_cert: certificates whose serial it lists are refused (re-read when it changes)" },
    revoked_keys: {
      type: 'path',
      doc: 'File of revoked keys, one a line: a key id or serial:<hex> of a certificate, # comments; re-read when it changes',
    },
    client_private: { type: 'path', env: 'MCOLLECTIVE_AES_PRIVATE', doc: "The client's private key (PEM; RSA, ECDSA P-256 or Ed25519)" },
    client_public: { type: 'path', env: 'MCOLLECTIVE_AES_PUBLIC', doc: "The client's public keys or X.509 certificates (one matches client_private); its name is the callerid" },
    client_private_passphrase_file: { type: 'path', doc: 'File holding the passphrase of client_private (mode 0600)' },
    client_cert_dir: { type: 'path', doc: 'Directory of senders\' public keys, <name>.pem; learned keys are written here' },
    server_cert_dir: { type: 'path', doc: "Directory of servers' public keys for authenticating replies (default: client_cert_dir)" },
    server_private: { type: 'path', doc: "The server's private key (RSA, ECDSA P-256 or Ed25519): signs replies and registration requests" },
    server_public: { type: 'path', doc: "The server's public keys or X.509 certificates (one matches server_private); its name is the server's callerid" },
    server_private_passphrase_file: { type: 'path', doc: 'File holding the passphrase of server_private (mode 0600)' },
    enforce_ttl: { type: 'boolean', default: true, doc: 'Reject expired and future-dated requests; 0 only warns (signatures are always checked)' },
    clock_skew: { type: 'integer', default: 5, min: 0, max: 3600, doc: 'Seconds a request may be dated in the future' },
    reply_encryption: { type: 'enum', default: 'rsa', values: REPLY_MODES, doc: 'rsa: to the caller\'s RSA key (needs an RSA client key); ephemeral: forward-secret X25519 per request (any key type)' },
    replay_cache_size: { type: 'integer', default: 100000, min: 1000, max: 10000000, doc: 'Request ids remembered to refuse replays' },
    key_recheck_interval: { type: 'number', default: 1, min: 0, max: 3600, doc: 'Seconds between checks of key files (and identity_map, revoked_keys, ca_crl) for changes' },
    identity_map: {
      type: 'path',
      doc: 'File of "<key name> <identity or /regex/>..." lines: which identities a server key may sign replies and registrations as, besides its own name',
    },
    shared_server_keys: {
      type: 'list',
      doc: 'Server key names several servers share (scenarios 3 and 4): their replies are accepted but marked as from an unauthenticated sender',
    },
    replay_journal: {
      type: 'path',
      doc: "A server's replay journal, which keeps replay protection across restarts (default <statedir>/replay-<identity>.journal)",
    },
    verdict_cache: {
      type: 'string',
      doc: 'File of CA verdicts (HMAC-authenticated with our private key), so a certificate checked once is not parsed and verified again on the next run; 0 or empty: off (default: a client <$XDG_CACHE_HOME or ~/.cache>/tscollective/ca-verdicts/<key id>.json, a server <statedir>/ca-verdicts/<key id>.json)',
    },
    accept_serializers: {
      type: 'list',
      doc: 'Serializers accepted in received messages besides the ones written (msgpack, yaml; marshal with legacy = 1); any other is refused before decrypting',
    },
    protocol: {
      type: 'integer', default: 2, min: 1, max: 2,
      doc: 'The protocol version this side writes its requests in: 2, or 1 (MCollective 2.x aes_security, needs legacy = 1); a reply is always in its request\'s version',
    },
    legacy: {
      type: 'boolean', default: false,
      doc: 'Also accept protocol version 1 (Ruby MCollective 2.x), answered in version 1: forgeable by holders of a client\'s public key, replies unauthenticated',
    },
    legacy_callers: {
      type: 'list',
      doc: 'With legacy = 1: the only callers (key names, or cert=<name>) whose version 1 requests are accepted; unset: every known caller',
    },
    max_payload_items: {
      type: 'integer', default: 100000, min: 100, max: 100000000,
      doc: 'Most values (map keys, items, containers) a received payload may hold; checked by a linear scan before deserializing',
    },
    max_payload_depth: { type: 'integer', default: 64, min: 2, max: 100, doc: 'Deepest nesting a received payload may have; checked before deserializing' },
  },
};
