/**
 * Certified removal for convex models (Guo et al., ICML 2020) and exact removal for ridge
 * regression. Importing this module registers the `unlearn-certified/1` model format, so
 * `unlearn forget` / `unlearn eval` on such a directory take the certified path.
 */
import { registerFormat } from '../../models/formats.js';
import { certifiedFormat } from './format.js';
import { CERTIFIED_FORMAT } from './store.js';

try {
  registerFormat(certifiedFormat);
} catch {
  /* already registered (the module was loaded twice, e.g. by a test runner) */
}
export { CERTIFIED_FORMAT };
export { certifiedPredictor, featurise, fitCertified, removeFromCertified, trainCertifiedWorkflow, type CertifiedTrainOptions } from './format.js';
export { extractFeatures, penultimateExtractor } from './head.js';
export { CertifiedParamsSchema, noiseConstant, residualBudget, trainCertifiedLogistic, type CertifiedLogistic, type CertifiedParams, type CertifiedData } from './logistic.js';
export { removeCertified, type RemovalOutcome } from './removal.js';
export { fitRidge, removeRidge, RidgeParamsSchema, type RidgeModel } from './ridge.js';
export { loadCertified, saveCertified, type CertifiedManifest, type Certificate } from './store.js';
