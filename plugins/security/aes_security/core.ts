/**
 * The aes_security provider and its `plugin.aes.*` configuration keys, without the legacy part (v1/register.ts): what
 * `tsco` loads when its configuration does not turn legacy mode on. index.ts is the whole plugin.
 */
import { registerConfigSchema } from '../../../src/config/index.js';
import { registerSecurityProvider } from '../../../src/security/registry.js';
import { AesSecurityProvider } from './provider.js';
import { aesConfigSchema } from './schema.js';

registerConfigSchema(aesConfigSchema);
registerSecurityProvider('aes_security', (context) => new AesSecurityProvider(context));
