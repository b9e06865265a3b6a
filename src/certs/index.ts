// The certificates module's public surface: what the webhook (and later the controller) imports.
export {
  CA_SUBJECT,
  createCa,
  fingerprint,
  fingerprintIfValid,
  issueServingCert,
  issuedBy,
  coversNames,
  keyMatches,
  renewalTime,
  splitPemBundle,
  validityOf,
} from "./certificates.js";
export type { KeyPair, Lifetime, ServingNames, Validity } from "./certificates.js";
export { CERT_FILES, CertDirectory, readCertDirectory, type CertDirectoryOptions, type DirectoryCertificates } from "./cert-directory.js";
export { planRotation, stateProblem, type PkiState, type RotationPlan, type RotationPolicy, type RotationStep } from "./rotation.js";
export { sanDnsName, sanIpAddress } from "./san.js";
export { ConflictError, KEYS, NamespaceMissingError, PHASE_SINCE_ANNOTATION, SecretStore, decodeState, encodeState, type StoredState } from "./secret-store.js";
export { TlsManager, type BundleTarget, type CertificateStore, type TlsManagerOptions } from "./tls-manager.js";
