/** Per-example predictions live in src/train (below both methods and metrics); re-exported here for existing importers. */
export * from '../train/predict.js';
