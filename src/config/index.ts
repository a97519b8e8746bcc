/**
 * Configuration: MCollective-style `key = value` files and their YAML equivalent, validated once
 * against every registered schema and frozen. Importing this module registers the top-level schema.
 */
import './core-schema.js';

export { Config } from './config.js';
export { registerConfigSchema, registeredSchemas } from './schema-registry.js';
export { loadConfig, parseConfig, configFromObject } from './load.js';
export type { LoadOptions, ParseOptions, ObjectOptions, Environment } from './load.js';
export { BOOLEAN_SPELLINGS } from './values.js';
