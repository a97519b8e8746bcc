/**
 * The serializers of protocol version 2 payloads. `marshal` (MCollective's default) is known but refused here: it
 * is Ruby's native object format, read and written only by the protocol version 1 codec (legacy mode), whose own
 * reader accepts plain data types only (plugins/security/aes_security/v1/marshal.ts).
 */
import { SerializationError, UnknownPluginError } from '../errors.js';
import { MsgpackSerializer } from './msgpack.js';
import type { Serializer } from './serializer.js';
import { YamlSerializer } from './yaml.js';

export type { Serializer, StructureLimits, StructureVerdict } from './serializer.js';
export { scanMsgpack } from './scan-msgpack.js';
export { scanYaml } from './scan-yaml.js';
export { MsgpackSerializer } from './msgpack.js';
export { YamlSerializer } from './yaml.js';

/** Serializers are stateless apart from msgpackr's output arena, so one instance each is shared. */
const serializers: ReadonlyMap<string, Serializer> = new Map<string, Serializer>([
  ['msgpack', new MsgpackSerializer()],
  ['yaml', new YamlSerializer()],
]);

/** The names getSerializer accepts, sorted. */
export function serializerNames(): string[] {
  return [...serializers.keys()].sort();
}

/**
 * The serializer called `name` (`yaml` or `msgpack`).
 * Throws SerializationError for `marshal` (Ruby-only) and UnknownPluginError for anything else.
 */
export function getSerializer(name: string): Serializer {
  const serializer = serializers.get(name);
  if (serializer) return serializer;
  if (name === 'marshal') {
    throw new SerializationError(
      'serializer "marshal" is Ruby-only: Marshal is Ruby\'s native object format, spoken only in protocol version 1 ' +
        `(plugin.aes.legacy = 1, for Ruby MCollective peers); version 2 payloads use one of: ${serializerNames().join(', ')}`,
    );
  }
  throw new UnknownPluginError('serializer', name, serializerNames());
}
