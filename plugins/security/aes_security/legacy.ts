/**
 * The legacy wire mode's settings (`plugin.aes.protocol`, `legacy`, `legacy_callers`, the `marshal` serializer):
 * their start-up checks, the warning that says what protocol version 1 gives up, and where the version 1 codec
 * comes from. The codec (v1/, a YAML and a Marshal implementation) is the plugin's legacy part, v1/register.ts: the
 * plugin entry (index.ts) loads it, and `tsco` loads it only when `plugin.aes.legacy` is on (src/runtime/builtin-plugins.ts).
 */
import type { KeyType } from '../../../src/keys/key-types.js';
import { nameProblem } from '../../../src/names.js';
import type { CodecServices, ProtocolCodec } from './codec.js';
import type { AesSettings } from './settings.js';

/** Builds the version 1 codec. */
export type LegacyCodecFactory = (services: CodecServices) => ProtocolCodec;

let legacyCodecFactory: LegacyCodecFactory | undefined;

/** Makes the version 1 codec available (v1/register.ts calls it when imported). */
export function registerLegacyCodec(factory: LegacyCodecFactory): void {
  legacyCodecFactory = factory;
}

/** The version 1 codec; throws naming the module to import when the legacy part was not loaded. */
export function createLegacyCodec(services: CodecServices): ProtocolCodec {
  if (!legacyCodecFactory) {
    throw new Error('plugin.aes.legacy = 1 needs the version 1 codec, which is not loaded: import plugins/security/aes_security/index.js ' +
      '(or its legacy part, v1/register.js), or load the plugins with loadBuiltinPlugins()');
  }
  return legacyCodecFactory(services);
}

/** Every problem of the legacy settings; `at(key)` names a setting with its origin, `ownKeyType` reads our key (undefined when it cannot). */
export function legacyProblems(settings: AesSettings, at: (key: string) => string, ownKeyType: () => KeyType | undefined): string[] {
  const problems: string[] = [];
  const off = !settings.legacy;
  if (settings.protocol === 1 && off) {
    problems.push(`${at('plugin.aes.protocol')}: protocol 1 writes MCollective 2.x messages, which needs plugin.aes.legacy = 1 ` +
      '(the setting that accepts what version 1 gives up: see docs/protocol.md, section 8)');
  }
  if (settings.configuredSerializer === 'marshal' && off) {
    problems.push(`${at('plugin.aes.serializer')}: marshal is Ruby's own format, spoken only in protocol version 1 (MCollective 2.x): ` +
      'set plugin.aes.legacy = 1 to talk to Ruby nodes, or use msgpack or yaml');
  }
  if (settings.acceptSerializersList.includes('marshal') && off) {
    problems.push(`${at('plugin.aes.accept_serializers')}: marshal is accepted only in protocol version 1 (Ruby MCollective): it needs plugin.aes.legacy = 1`);
  }
  if (settings.legacyCallers !== undefined) {
    if (off) problems.push(`${at('plugin.aes.legacy_callers')}: does nothing without plugin.aes.legacy = 1`);
    for (const entry of settings.legacyCallers) {
      const problem = entry.startsWith('cert=') ? nameProblem('callerid', 'a legacy caller', entry) : nameProblem('keyName', 'a legacy caller', entry);
      if (problem) problems.push(`${at('plugin.aes.legacy_callers')}: ${problem}`);
    }
  }
  if (settings.protocol === 1) {
    const type = ownKeyType();
    if (type !== undefined && type !== 'rsa') {
      problems.push(`${at(settings.privateKeyKey)}: protocol 1 encrypts with RSA (PKCS#1 v1.5, as MCollective), but this key is ${type}`);
    }
  }
  return problems;
}

/** The start-up warning of the legacy mode, or null when version 1 is neither accepted nor written. */
export function legacyWarning(settings: AesSettings): string | null {
  if (!settings.legacy) return null;
  const gives = 'Version 1 gives up: anyone holding a client\'s public key can read and forge that client\'s version 1 requests, ' +
    'and version 1 replies are not authenticated (clients mark them unauthenticated)';
  if (settings.role === 'client') {
    return settings.protocol === 1
      ? `legacy wire mode: this client writes protocol version 1 (MCollective 2.x; plugin.aes.protocol = 1). ${gives}.`
      : null;
  }
  const callers = settings.legacyCallers === undefined ? 'from every known caller' : `from ${settings.legacyCallers.join(', ')} only (plugin.aes.legacy_callers)`;
  return `legacy wire mode: protocol version 1 (MCollective 2.x) requests are accepted ${callers} and answered in version 1` +
    `${settings.protocol === 1 ? ', and this node registers in version 1 (plugin.aes.protocol = 1), unacknowledged' : ''}. ${gives}. ` +
    'Every version 1 request still passes the replay cache, the clock_skew check, authorization and audit.';
}
