/** Small real data for the certified-removal tests and benchmark (not part of the public API). */
import type { Dataset } from '../../data/dataset.js';

/**
 * MNIST-style 28×28 digits average-pooled 2×2 to 14×14 (196 features) and L2-normalised per
 * example (‖x‖ = 1, the paper's setting). `binary`: label 1 for digits ≥ 5, else 0.
 */
export function pooledDigits(ds: Dataset, binary: boolean): Dataset {
  const n = ds.labels.length;
  const f = 196;
  const features = new Float32Array(n * f);
  for (let i = 0; i < n; i++) {
    let s2 = 0;
    for (let r = 0; r < 14; r++) {
      for (let c = 0; c < 14; c++) {
        let s = 0;
        for (const [dr, dc] of [[0, 0], [0, 1], [1, 0], [1, 1]]) s += ds.features[i * 784 + (2 * r + dr) * 28 + 2 * c + dc];
        features[i * f + r * 14 + c] = s / 4;
        s2 += (s / 4) ** 2;
      }
    }
    const nrm = Math.sqrt(s2) || 1;
    for (let j = 0; j < f; j++) features[i * f + j] /= nrm;
  }
  const labels = binary ? Int32Array.from(ds.labels, (y) => (y >= 5 ? 1 : 0)) : Int32Array.from(ds.labels);
  return { ...ds, features, shape: [f], labels, numClasses: binary ? 2 : ds.numClasses };
}
