/**
 * Bounds on received messages, applied before the steps whose cost grows with the input: the whole message
 * against `max_message_size` before anything is parsed or verified, the serializer a message names against the
 * accepted ones before anything is decrypted, and the payload's structure (values, nesting) by a linear pre-scan
 * before it is deserialized. A refusal costs at most one pass over the bytes read until the limit was passed.
 */
import { MalformedMessageError, PayloadLimitError, SerializationError } from '../../../src/errors.js';
import { getSerializer, type Serializer, type StructureLimits } from '../../../src/serializers/index.js';
import type { AesSettings } from './settings.js';

/** Size, serializer and structure bounds of one provider. */
export class PayloadPolicy {
  private readonly serializers = new Map<string, Serializer>();
  private readonly limits: StructureLimits;

  constructor(private readonly settings: AesSettings) {
    this.limits = { maxItems: settings.maxPayloadItems, maxDepth: settings.maxPayloadDepth };
  }

  /** Problems with the serializer settings, for validate(): the setting and what is wrong with it. */
  problems(): Array<{ key: string; problem: string }> {
    const problems: Array<{ key: string; problem: string }> = [];
    for (const name of this.settings.acceptedSerializers) {
      try {
        this.serializer(name);
      } catch (error) {
        problems.push({ key: name === this.settings.serializer ? 'plugin.aes.serializer' : 'plugin.aes.accept_serializers', problem: (error as Error).message });
      }
    }
    return problems;
  }

  /** The serializer this side writes with. */
  outgoing(): Serializer {
    return this.serializer(this.settings.serializer);
  }

  /** Refuses a message bigger than max_message_size, before any of it is parsed. */
  checkSize(wire: Uint8Array, kind: 'request' | 'reply'): void {
    if (wire instanceof Uint8Array && wire.length > this.settings.maxMessageBytes) {
      throw new PayloadLimitError(`${kind} of ${wire.length} bytes refused: larger than max_message_size (${this.settings.maxMessageBytes} bytes)`);
    }
  }

  /** Refuses a serializer that is not `serializer` or in `accept_serializers`, before anything is decrypted. */
  checkSerializer(name: string, what: string): void {
    if (!this.settings.acceptedSerializers.has(name)) {
      throw new MalformedMessageError(`${what} names serializer ${JSON.stringify(name)}, which is not accepted here ` +
        `(plugin.aes.serializer and plugin.aes.accept_serializers allow: ${[...this.settings.acceptedSerializers].join(', ')})`);
    }
  }

  /** Pre-scans `plaintext` against the structure limits, then deserializes it. */
  decode(name: string, plaintext: Uint8Array, what: string): unknown {
    const serializer = this.serializer(name);
    const verdict = serializer.scan(plaintext, this.limits);
    if (!verdict.ok) {
      if (verdict.kind === 'limit') throw this.limitError(what, verdict.reason);
      throw new MalformedMessageError(`${what}: payload is not valid ${name}: ${verdict.reason}`);
    }
    try {
      return serializer.deserialize(plaintext, this.limits);
    } catch (error) {
      if (error instanceof SerializationError && error.limitExceeded) throw this.limitError(what, error.message);
      throw new MalformedMessageError(`${what}: payload does not deserialize: ${(error as Error).message}`, { cause: error });
    }
  }

  private limitError(what: string, reason: string): PayloadLimitError {
    return new PayloadLimitError(`${what}: payload refused before deserializing: ${reason} ` +
      `(plugin.aes.max_payload_items = ${this.limits.maxItems}, max_payload_depth = ${this.limits.maxDepth})`);
  }

  private serializer(name: string): Serializer {
    let serializer = this.serializers.get(name);
    if (!serializer) {
      serializer = getSerializer(name);
      this.serializers.set(name, serializer);
    }
    return serializer;
  }
}
