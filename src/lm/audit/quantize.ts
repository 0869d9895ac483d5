/**
 * Quantisation audit (Zhang et al., ICLR 2025, "Catastrophic Failure of LLM Unlearning via
 * Quantization": after 4-bit quantisation, unlearned models recover much of the forgotten
 * knowledge). The weights are round-tripped through a low-bit integer grid and the forgetting
 * audits are re-run on the dequantised model.
 *
 * Scheme: round-to-nearest (RTN), symmetric, per output channel, on every weight matrix (the
 * 2-D parameters); biases and LayerNorm gains/offsets stay float32, as in GPTQ/AWQ/bitsandbytes.
 * For b bits, q_max = 2^(b−1) − 1 (int8: 127; 4-bit: 7, the grid −7..7). For channel j,
 * s_j = max_i |W_ij| / q_max, q_ij = clamp(round(W_ij / s_j), −q_max, q_max), Ŵ_ij = s_j·q_ij.
 * Error bound: |W_ij − Ŵ_ij| ≤ s_j / 2 (no value is clipped since |W_ij| ≤ q_max·s_j), plus
 * float32 rounding. The output channel of a linear map `x·W` (W: [in, out]) is a column; of the
 * embedding tables `wte` [V, d] and `wpe` [T, d] a row (the head is wteᵀ: a token's logit is
 * computed from its row).
 */
import * as tf from '@tensorflow/tfjs-core';
import { UnlearnError } from '../../errors.js';
import { paramShapes, type LanguageModel } from '../model.js';

/** Quantisation widths of the audit. */
export const QUANT_BITS = [8, 4] as const;
export type QuantBits = (typeof QUANT_BITS)[number];

/** The largest grid value of a signed symmetric b-bit grid: 2^(b−1) − 1. */
export const qMax = (bits: number) => 2 ** (bits - 1) - 1;

/** Per-channel axis of a parameter: 0 (rows) for the embedding tables, 1 (columns) for linear maps. */
export const channelAxis = (name: string): 0 | 1 => (name === 'wte' || name === 'wpe' ? 0 : 1);

/**
 * Round-trip a row-major [rows, cols] float32 matrix through the symmetric per-channel b-bit grid.
 * axis 0: one scale per row; 1: one per column. Returns the dequantised matrix and the scales.
 * @throws UnlearnError INVALID_PARAMS when bits is not in 2..16 or the size is not rows·cols.
 */
export function quantizeRoundTrip(w: Float32Array, rows: number, cols: number, bits: number, axis: 0 | 1): { values: Float32Array; scales: Float32Array } {
  if (!Number.isInteger(bits) || bits < 2 || bits > 16) throw new UnlearnError('INVALID_PARAMS', `quantisation to ${bits} bits is not supported`, 'use 2..16 bits (the audit uses 8 and 4)');
  if (w.length !== rows * cols) throw new UnlearnError('INVALID_PARAMS', `matrix of ${w.length} values is not ${rows}×${cols}`, 'pass the parameter shape');
  const Q = qMax(bits);
  const nCh = axis === 0 ? rows : cols;
  const ch = (i: number, j: number) => (axis === 0 ? i : j);
  const scales = new Float32Array(nCh);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) scales[ch(i, j)] = Math.max(scales[ch(i, j)], Math.abs(w[i * cols + j]));
  for (let c = 0; c < nCh; c++) scales[c] /= Q;
  const values = new Float32Array(w.length);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const s = scales[ch(i, j)];
      if (s === 0) continue; // an all-zero channel stays zero
      const q = Math.max(-Q, Math.min(Q, Math.round(w[i * cols + j] / s)));
      values[i * cols + j] = q * s;
    }
  }
  return { values, scales };
}

/** How far a quantised copy of a model is from it, against the scheme's bound. */
export interface QuantizationReport {
  bits: number;
  matrices: number;
  /** Max over every weight of |W_ij − Ŵ_ij| / (s_j / 2), s_j its channel's scale: ≤ 1 (+ float rounding) by the scheme. */
  maxErrorOverBound: number;
}

/**
 * A dequantised copy of `m` (new variables; `m` unchanged): every 2-D parameter round-tripped to
 * `bits` bits per output channel, the 1-D ones copied. Dispose the copy's model after use.
 */
export function quantizeModel(m: LanguageModel, bits: number): { model: LanguageModel; report: QuantizationReport } {
  const params = new Map<string, tf.Variable>();
  let matrices = 0;
  let ratio = 0;
  for (const [name, shape] of paramShapes(m.config)) {
    const v = m.params.get(name)!;
    if (shape.length !== 2) {
      const c = v.clone();
      params.set(name, tf.variable(c, true));
      c.dispose();
      continue;
    }
    const w = v.dataSync() as Float32Array;
    const { values, scales } = quantizeRoundTrip(w, shape[0], shape[1], bits, channelAxis(name));
    const axis = channelAxis(name);
    for (let k = 0; k < w.length; k++) {
      const s = scales[axis === 0 ? Math.floor(k / shape[1]) : k % shape[1]];
      if (s > 0) ratio = Math.max(ratio, Math.abs(w[k] - values[k]) / (s / 2));
    }
    matrices++;
    const t = tf.tensor(values, shape, 'float32');
    params.set(name, tf.variable(t, true));
    t.dispose();
  }
  return { model: { config: { ...m.config }, params }, report: { bits, matrices, maxErrorOverBound: ratio } };
}
