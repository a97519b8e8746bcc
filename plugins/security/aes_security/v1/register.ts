/**
 * The legacy part of the aes_security plugin: importing it makes the version 1 codec (Ruby MCollective 2.x
 * messages) available to providers with `plugin.aes.legacy = 1`. The plugin entry (../index.ts) imports it; `tsco`
 * imports it only when its configuration turns legacy mode on, so a version 2 client does not load the codec.
 */
import { registerLegacyCodec } from '../legacy.js';
import { V1Codec } from './adapter.js';

registerLegacyCodec((services) => new V1Codec(services));
