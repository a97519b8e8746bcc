/**
 * The aes_security provider: a thin layer over the keyring (keyring/), the codecs (one per protocol version: v2/,
 * and v1/ for MCollective 2.x peers in legacy mode) and the checks every codec shares (freshness, payload bounds,
 * sender binding). It picks the codec, checks the configuration at start-up, and turns any failure of a decode into
 * a SecurityError. docs/protocol.md is the wire contract.
 */
import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import { InvalidArgumentError, LegacyRefusedError, MalformedMessageError, SecurityError } from '../../../src/errors.js';
import type { DecodedReply, DecodedRequest, OutgoingReply, OutgoingRequest } from '../../../src/inter/message.js';
import type { DecodeRequestOptions, EncodedRequest, ReplyHandleLookup, SecurityContext, SecurityProvider } from '../../../src/inter/security.js';
import { calleridFor, nameProblem } from '../../../src/names.js';
import { CodecReplyContext, type CodecServices, type ProtocolCodec } from './codec.js';
import { FreshnessGuard } from './freshness.js';
import { Keyring } from './keyring/index.js';
import { createLegacyCodec, legacyProblems, legacyWarning } from './legacy.js';
import { PayloadPolicy } from './payload.js';
import { SenderBinding } from './sender-binding.js';
import { readAesSettings, type AesSettings } from './settings.js';
import { looksLikeV1 } from './v1/detect.js';
import { V2Codec, replyModeFor } from './v2/codec.js';

/** The aes_security SecurityProvider. */
export class AesSecurityProvider implements SecurityProvider {
  readonly name = 'aes_security';
  readonly settings: AesSettings;
  readonly keyring: Keyring;
  private readonly freshness: FreshnessGuard;
  private readonly payload: PayloadPolicy;
  private readonly binding: SenderBinding;
  /** Every codec, in the order they are asked whether they read a message. */
  private readonly codecs: readonly ProtocolCodec[];
  /** The codec requests are written with. */
  private readonly encoder: ProtocolCodec;
  /** The codec that explains why a message no codec recognizes is refused. */
  private readonly fallback: ProtocolCodec;
  /** Whether validate() logged the legacy mode's warning (once per provider). */
  private warned = false;

  constructor(private readonly context: SecurityContext) {
    this.settings = readAesSettings(context.config, context.role);
    const s = this.settings;
    const now = context.now ?? Date.now;
    const shared = { now, logger: context.logger, counters: context.counters };
    this.keyring = new Keyring(s, { ...shared, writeVerdicts: !context.inspectOnly });
    const journal = s.role === 'client' ? 'off' : context.inspectOnly ? 'read' : 'write';
    this.freshness = new FreshnessGuard(s, shared, journal);
    this.payload = new PayloadPolicy(s);
    this.binding = new SenderBinding({
      sharedKeys: s.sharedServerKeys, identityMapPath: s.identityMapPath, recheckMs: s.keyRecheckMs, now, logger: context.logger,
      // Without a CA, learned certificates may be anyone's: their names then prove nothing beyond the key's own name.
      certificateProofs: !(s.learnPubkeys && s.insecureLearning && !s.caCert),
    });
    const services: CodecServices = {
      settings: s, keyring: this.keyring, freshness: this.freshness, payload: this.payload, binding: this.binding, ...shared,
    };
    const v2 = new V2Codec(services);
    // Version 1 is read only in legacy mode; without it a version 1 message is refused as such (decoderFor).
    const v1 = s.legacy ? createLegacyCodec(services) : undefined;
    this.codecs = v1 ? [v2, v1] : [v2];
    this.encoder = v1 && s.protocol === 1 ? v1 : v2;
    this.fallback = v2;
  }

  validate(): string[] {
    const s = this.settings;
    const config = this.context.config;
    const at = (key: string) => `${key} (${config.origin(key)})`;
    const problems = this.payload.problems().map(({ key, problem }) => `${at(key)}: ${problem}`);
    try {
      const own = this.keyring.own.get();
      if (s.role === 'client') replyModeFor(s.replyMode, own.privateKey.type, s.privateKeyKey);
    } catch (error) {
      problems.push((error as Error).message);
    }
    const server = s.role === 'server';
    const dir = server ? s.clientCertDir : s.serverCertDir;
    if (dir === undefined) {
      problems.push(server
        ? 'plugin.aes.client_cert_dir is not set: it is needed to authenticate requests'
        : 'plugin.aes.server_cert_dir is not set: it is needed to authenticate replies (or set plugin.aes.client_cert_dir)');
    } else {
      // A client's server_cert_dir defaults to client_cert_dir: name the key the directory actually came from.
      const dirKey = server || !config.has('plugin.aes.server_cert_dir') ? 'plugin.aes.client_cert_dir' : 'plugin.aes.server_cert_dir';
      const dirProblem = directoryProblem(dir, s.learnPubkeys);
      if (dirProblem) problems.push(`${at(dirKey)}: ${dirProblem}`);
    }
    if (s.learnPubkeys && !s.caCert && !s.insecureLearning) {
      problems.push(`${at('plugin.aes.learn_pubkeys')}: learning needs plugin.aes.ca_cert to verify keys, or plugin.aes.insecure_learning = 1 to accept any key`);
    }
    for (const { key, problem } of this.keyring.problems()) problems.push(`${at(key)}: ${problem}`);
    for (const name of s.sharedServerKeys) {
      const problem = nameProblem('keyName', 'a shared server key', name);
      if (problem) problems.push(`${at('plugin.aes.shared_server_keys')}: ${problem}`);
    }
    problems.push(...legacyProblems(s, at, () => {
      try {
        return this.keyring.own.get().privateKey.type;
      } catch {
        return undefined;
      }
    }));
    const warning = legacyWarning(s);
    if (warning !== null && !this.warned) {
      this.warned = true;
      this.context.logger.warn({ setting: 'plugin.aes.legacy' }, warning);
    }
    const mapProblem = this.binding.mapProblem();
    if (mapProblem) problems.push(`${at('plugin.aes.identity_map')}: ${mapProblem}`);
    const journalProblem = this.freshness.start();
    if (journalProblem) problems.push(journalProblem);
    return problems;
  }

  callerid(): string {
    return calleridFor(this.keyring.own.get().name);
  }

  encodeRequest(request: OutgoingRequest): EncodedRequest {
    return this.encoder.encodeRequest(request);
  }

  decodeRequest(wire: Uint8Array, options: DecodeRequestOptions = {}): DecodedRequest {
    try {
      this.payload.checkSize(wire, 'request');
      return this.decoderFor(wire).decodeRequest(wire, options);
    } catch (error) {
      throw asSecurityError(error);
    }
  }

  encodeReply(reply: OutgoingReply, request: DecodedRequest): Uint8Array {
    const context = request?.replyContext;
    if (!(context instanceof CodecReplyContext)) throw new InvalidArgumentError('"request" must be a request decoded by this aes_security provider');
    if (typeof reply?.senderid !== 'string' || typeof reply.senderagent !== 'string') {
      throw new InvalidArgumentError('"reply" needs string senderid and senderagent');
    }
    return context.codec.encodeReply(reply, context);
  }

  decodeReply(wire: Uint8Array, handles: ReplyHandleLookup): DecodedReply {
    try {
      this.payload.checkSize(wire, 'reply');
      return this.decoderFor(wire).decodeReply(wire, handles);
    } catch (error) {
      throw asSecurityError(error);
    }
  }

  reload(): void {
    this.keyring.reload();
    this.binding.reload();
  }

  /**
   * Syncs and closes the replay journal and writes the CA verdicts not yet written (tests and tools; a daemon's
   * provider lives as long as its process).
   */
  close(): void {
    this.keyring.close();
    this.freshness.close();
  }

  /**
   * The codec that reads `wire`; version 2 when none recognizes it (its envelope parser says what is wrong). A
   * version 1 message without legacy mode is refused as one.
   */
  private decoderFor(wire: Uint8Array): ProtocolCodec {
    if (wire instanceof Uint8Array) {
      for (const codec of this.codecs) if (codec.recognizes(wire)) return codec;
      const legacy = looksLikeV1(wire);
      if (legacy !== null) {
        throw new LegacyRefusedError(`a legacy protocol version 1 message (MCollective 2.x, ${legacy}), which this side does not accept (plugin.aes.legacy = 0)`);
      }
    }
    return this.fallback;
  }
}

/** Decode methods throw nothing but SecurityError subclasses: anything else becomes TSC_SEC_MALFORMED. */
function asSecurityError(error: unknown): SecurityError {
  if (error instanceof SecurityError) return error;
  return new MalformedMessageError(`message rejected: ${(error as Error).message}`, { cause: error });
}

function directoryProblem(dir: string, writable: boolean): string | null {
  try {
    if (!statSync(dir).isDirectory()) return `${dir} is not a directory`;
    if (writable) accessSync(dir, fsConstants.W_OK);
    return null;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return `${dir} does not exist`;
    if (code === 'EACCES') return `${dir} is not writable, but learn_pubkeys = 1 needs to store keys there`;
    return `${dir}: ${(error as Error).message}`;
  }
}
