/** The interfaces of tscollective: every contract between layers, and nothing else. */
export type * from './message.js';
export type * from './logger.js';
export type * from './config.js';
export type * from './security.js';
export type * from './connector.js';
export { StatusCode, PROVEN_SENDER } from './message.js';
export type * from './registration.js';
