/**
 * Certified removal for convex models (Guo et al., ICML 2020) and exact removal for ridge
 * regression. The `unlearn-certified/1` model format handler is src/workflows/certifiedFormat.ts.
 */
import { CERTIFIED_FORMAT } from './store.js';

export { CERTIFIED_FORMAT };
export { certifiedPredictor, featurise, fitCertified, removeFromCertified, trainCertifiedWorkflow, type CertifiedTrainOptions } from './format.js';
export { extractFeatures, penultimateExtractor } from './head.js';
export { CertifiedParamsSchema, noiseConstant, residualBudget, trainCertifiedLogistic, type CertifiedLogistic, type CertifiedParams, type CertifiedData } from './logistic.js';
export { removeCertified, type RemovalOutcome } from './removal.js';
export { fitRidge, removeRidge, RidgeParamsSchema, type RidgeModel } from './ridge.js';
export { loadCertified, saveCertified, type CertifiedManifest, type Certificate } from './store.js';
