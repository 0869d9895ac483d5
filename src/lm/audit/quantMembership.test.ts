/**
 * The quantisation round-trip against its error bound (hand-computed and random matrices) and the
 * membership statistics (zlib, Min-K%, Min-K%++) on hand-computed inputs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../engine/rng.js';
import { meanOfLowest, miaScores, zlibEntropy } from './membership.js';
import { channelAxis, qMax, quantizeRoundTrip } from './quantize.js';

const close = (a: number, b: number, tol = 1e-6) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('4-bit per-column round-trip on a hand-computed 2×2 matrix', () => {
  // W = [[1, −2.2], [0.6, 4]], q_max = 7. Column 0: s = 1/7; 1 → 7·s = 1; 0.6/s = 4.2 → 4 → 4/7.
  // Column 1: s = 4/7; −2.2/s = −3.85 → −4 → −16/7; 4 → 7·s = 4.
  const w = Float32Array.from([1, -2.2, 0.6, 4]);
  const { values, scales } = quantizeRoundTrip(w, 2, 2, 4, 1);
  close(scales[0], 1 / 7);
  close(scales[1], 4 / 7);
  [1, -16 / 7, 4 / 7, 4].forEach((v, i) => close(values[i], v));
  // Rows instead: row 0 s = 2.2/7 → 1/s = 3.18 → 3 → 6.6/7; −2.2 → −7·s; row 1 s = 4/7 → 0.6/s = 1.05 → 1 → 4/7.
  const r = quantizeRoundTrip(w, 2, 2, 4, 0);
  [6.6 / 7, -2.2, 4 / 7, 4].forEach((v, i) => close(r.values[i], v));
  assert.equal(qMax(8), 127);
  assert.equal(channelAxis('wte'), 0);
  assert.equal(channelAxis('h0.mlp.w1'), 1);
});

test('round-trip error ≤ s/2 per channel for int8 and 4-bit, both axes (random matrices)', () => {
  const rng = new Rng(7);
  for (const bits of [8, 4]) {
    for (const axis of [0, 1] as const) {
      const rows = 37;
      const cols = 23;
      const w = Float32Array.from({ length: rows * cols }, () => rng.normal() * (rng.next() < 0.05 ? 5 : 0.1));
      w[5] = 0; // zeros stay zero
      const { values, scales } = quantizeRoundTrip(w, rows, cols, bits, axis);
      let distinct = new Set<number>();
      for (let i = 0; i < rows; i++) {
        for (let j = 0; j < cols; j++) {
          const s = scales[axis === 0 ? i : j];
          const k = i * cols + j;
          assert.ok(Math.abs(w[k] - values[k]) <= (s / 2) * (1 + 1e-5) + 1e-12, `bits ${bits} axis ${axis} (${i},${j})`);
          if ((axis === 0 ? i : j) === 0) distinct.add(Math.round(values[k] / s));
        }
      }
      assert.equal(values[5], 0);
      assert.ok([...distinct].every((q) => Math.abs(q) <= qMax(bits)));
      distinct = new Set();
    }
  }
  assert.throws(() => quantizeRoundTrip(new Float32Array(4), 2, 2, 1, 0), /not supported/);
});

test('Min-K% and Min-K%++ on hand-computed token log-probabilities', () => {
  // lowest ⌊0.4·5⌋ = 2 of (−1, −3, −2, −0.5, −4): −4, −3 → −3.5
  close(meanOfLowest([-1, -3, -2, -0.5, -4], 0.4), -3.5);
  // ⌊0.4·2⌋ = 0 → at least one value
  close(meanOfLowest([-1, -2], 0.4), -2);
  // logp (−1, −2), μ (−1.5, −1.5), σ (0.5, 1): z = (1, −0.5); k = 0.5 keeps 1 value.
  const s = miaScores({ logp: Float32Array.from([-1, -2]), mu: Float32Array.from([-1.5, -1.5]), sigma: Float32Array.from([0.5, 1]) }, 'a', 0.5);
  close(s.loss, -1.5);
  close(s.minK, -2);
  close(s.minKpp, -0.5);
  // zlib entropy of "a" is 9 bytes (2 header + 3 deflate + 4 Adler-32), as Python's zlib.compress(b"a")
  close(s.zlib, -1.5 / 9);
});

test('zlib entropy: header-only empty text, repetitive text compresses', () => {
  assert.equal(zlibEntropy(''), 8);
  assert.equal(zlibEntropy('a'), 9);
  assert.equal(zlibEntropy('ab'.repeat(50)), 13);
  assert.ok(zlibEntropy('Call me Ishmael. Some years ago') > 30);
});
