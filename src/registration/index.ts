/** Registration: the periodic publisher (daemon side) and the store the registration agent fills. */
export { RegistrationStore } from './store.js';
export type { NodeRecord, RegistrationUpdate } from './store.js';
export { RegistrationPublisher, registrationBody, MAX_ATTEMPTS, MAX_ACK_WAIT_MS } from './publisher.js';
export { Acknowledgements } from './acknowledgements.js';
export type { AttemptOutcome, AcknowledgementOptions } from './acknowledgements.js';
export type { RegistrationPublisherOptions, RegistrationKind } from './publisher.js';
