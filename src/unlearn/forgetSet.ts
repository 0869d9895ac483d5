/** The forget-set selection lives in src/data (below both methods and metrics); re-exported here for existing importers. */
export * from '../data/forgetSet.js';
