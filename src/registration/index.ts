/** Registration: the periodic publisher (daemon side) and the store the registration agent fills. */
export { RegistrationStore } from './store.js';
export type { NodeRecord, RegistrationUpdate } from './store.js';
export { RegistrationPublisher, registrationBody } from './publisher.js';
export type { RegistrationPublisherOptions } from './publisher.js';
