/**
 * Telling a protocol version 1 message (Ruby MCollective 2.x) from its first bytes, without the version 1 codec:
 * a provider without legacy mode refuses such messages as version 1 (TSC_SEC_LEGACY_REFUSED) and never loads the codec.
 */

/** The two serializers of version 1: `plugin.aes.serializer = yaml`, or Marshal (Ruby's default). */
export type V1Serializer = 'yaml' | 'marshal';

/** The serializer a message is written in when it looks like version 1 (Marshal 0x04 0x08, YAML `---`), else null. */
export function looksLikeV1(bytes: Uint8Array): V1Serializer | null {
  if (bytes.length >= 2 && bytes[0] === 0x04 && bytes[1] === 0x08) return 'marshal';
  if (bytes.length >= 3 && bytes[0] === 0x2d && bytes[1] === 0x2d && bytes[2] === 0x2d) return 'yaml';
  return null;
}
