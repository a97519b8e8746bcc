/**
 * Registration: the periodic publisher (daemon side), the collector (who collects, its open store, expiry), the
 * registration stores the registration agent fills and discovery queries (sqlite, postgresql, directory; the
 * contract is src/inter/registration.ts), and the import from the directory format.
 */
export { RecordFiles } from './record-files.js';
export type { NodeRecord, RecordFileUpdate } from './record-files.js';
export { RegistrationPublisher, registrationBody, MAX_ATTEMPTS, MAX_ACK_WAIT_MS } from './publisher.js';
export { Acknowledgements } from './acknowledgements.js';
export type { AttemptOutcome, AcknowledgementOptions } from './acknowledgements.js';
export type { RegistrationPublisherOptions, RegistrationKind } from './publisher.js';
export { openRegistrationStore, openConfiguredRegistrationStore, registrationStoreSettings } from './stores/index.js';
export type { OpenRegistrationStoreOptions, RegistrationStoreSettings } from './stores/index.js';
export { importDirectory } from './import.js';
export type { ImportReport } from './import.js';
export { registrationConfigSchema, REGISTRATION_BACKENDS } from './schema.js';
export { RegistrationCollector, collectorSettings, STORE_AGENTS, COLLECTOR_COUNTER } from './collector.js';
export type { CollectorSettings, CollectorParts } from './collector.js';
export { collectorConfigured, storeConfigured, registrationAges, DEFAULT_STALE_AFTER_SECONDS } from './settings.js';
export type { RegistrationAges } from './settings.js';
