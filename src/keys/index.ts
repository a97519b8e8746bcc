/** Key and CA primitives for tscollective identities (used by `tsco keys`, tests and the demo). */
export { isValidKeyName, assertKeyName } from './names.js';
export {
  ALLOWED_RSA_BITS,
  checkRsaBits,
  generateRsaKeyPair,
  generateKeyPairFiles,
  type RsaBits,
  type GenerateKeyPairOptions,
  type KeyPairFiles,
} from './generate.js';
export { createCa, signCertificate, type CreateCaOptions, type CaMaterial, type SignCertificateOptions } from './ca.js';
export {
  certificateInfo,
  publicKeyInfo,
  spkiFingerprint,
  verifyCertificate,
  type CertificateInfo,
  type PublicKeyInfo,
  type CertificateVerdict,
} from './inspect.js';
export {
  preauthorizeKey,
  listKeys,
  learnedRecordPath,
  type PreauthorizeOptions,
  type PreauthorizeResult,
  type KeyEntry,
} from './store.js';
