/** Key and CA primitives for tscollective identities (used by `tsco keys`, the security provider, tests and the demo). */
export { isValidKeyName, assertKeyName } from './names.js';
export {
  ALLOWED_RSA_BITS,
  checkRsaBits,
  generatePemKeyPair,
  generateRsaKeyPair,
  generateKeyPairFiles,
  type RsaBits,
  type GenerateKeyPairOptions,
  type KeyPairFiles,
  type PemKeyPair,
} from './generate.js';
export { rotateKeyPair, retireKey, type RotateOptions, type RotateResult, type RetireResult } from './rotate.js';
export { KEY_TYPES, SIGNATURE_SCHEMES, checkKeyType, isKeyType, describeKey, type KeyType } from './key-types.js';
export { createCa, signCertificate, createCrl, type CreateCaOptions, type CaMaterial, type SignCertificateOptions, type CreateCrlOptions } from './ca.js';
export {
  certificateInfo,
  publicKeyInfo,
  publicKeyInfos,
  spkiFingerprint,
  verifyCertificate,
  type CertificateInfo,
  type PublicKeyInfo,
  type CertificateVerdict,
} from './inspect.js';
export {
  preauthorizeKey,
  listKeys,
  listCrlProblem,
  type PreauthorizeOptions,
  type PreauthorizeResult,
  type KeyEntry,
  type KeyListing,
  type KeyStatus,
  type ListKeysOptions,
} from './store.js';
export {
  publicKeyPath,
  privateKeyPath,
  keptPrivateKeyPath,
  learnedRecordPath,
  parseLearnedRecord,
  type LearnedRecord,
  type LearnedKey,
} from './layout.js';
export { appendRevocation, parseRevocationList, revocationEntry, type RevocationList } from './revocation-list.js';
