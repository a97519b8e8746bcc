/** Registers the aes_security provider and its `plugin.aes.*` configuration keys. */
import { registerConfigSchema } from '../../../src/config/index.js';
import { registerSecurityProvider } from '../../../src/security/registry.js';
import { AesSecurityProvider } from './provider.js';
import { aesConfigSchema } from './schema.js';

registerConfigSchema(aesConfigSchema);
registerSecurityProvider('aes_security', (context) => new AesSecurityProvider(context));

export { AesSecurityProvider } from './provider.js';
export { aesConfigSchema } from './schema.js';
export { learnedRecordPath, type LearnedRecord } from '../../../src/keys/layout.js';
