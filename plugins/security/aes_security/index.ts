/**
 * The aes_security plugin: registers the provider and its `plugin.aes.*` configuration keys (core.ts), and the
 * version 1 codec of legacy mode (v1/register.ts).
 */
import './core.js';
import './v1/register.js';

export { AesSecurityProvider } from './provider.js';
export { aesConfigSchema } from './schema.js';
export { learnedRecordPath, type LearnedRecord } from '../../../src/keys/layout.js';
