import * as tf from '@tensorflow/tfjs-core';
import { tokenLogProbs } from '../engine/nativeOps.js';

/**
 * Per-example softmax cross-entropy in nats: −log softmax(logits)[y].
 * logits: float32 [b, k]; labels: int32 [b]. Returns float32 [b]. With the native kernels one
 * fused kernel forward and one backward (src/engine/nativeOps.ts tokenLogProbs); otherwise
 * tfjs's logSoftmax · oneHot, as before.
 */
export function perExampleCrossEntropy(logits: tf.Tensor, labels: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => tf.neg(tokenLogProbs(logits, labels.dtype === 'int32' ? labels : tf.cast(labels, 'int32'))) as tf.Tensor1D);
}

/** Mean softmax cross-entropy in nats (scalar). Shapes as {@link perExampleCrossEntropy}. */
export function crossEntropy(logits: tf.Tensor, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => tf.mean(perExampleCrossEntropy(logits, labels)) as tf.Scalar);
}

/**
 * Distillation KL divergence KL(teacher ‖ student) at temperature T, averaged over the batch and
 * scaled by T² (Hinton et al. 2015; the `DistillKL` of the SCRUB reference code):
 * T² · mean_b Σ_k p_t,k (log p_t,k − log p_s,k), p = softmax(logits / T).
 * teacher, student: float32 [b, k]. Gradients flow only into the variables being optimised, so
 * teacher logits computed by another (frozen) model act as constants.
 */
export function distillKl(teacherLogits: tf.Tensor, studentLogits: tf.Tensor, temperature: number): tf.Scalar {
  return tf.tidy(() => {
    const logPt = tf.logSoftmax(tf.div(teacherLogits, temperature) as tf.Tensor2D);
    const logPs = tf.logSoftmax(tf.div(studentLogits, temperature) as tf.Tensor2D);
    const kl = tf.sum(tf.mul(tf.exp(logPt), tf.sub(logPt, logPs)), 1);
    return tf.mul(tf.mean(kl), temperature * temperature) as tf.Scalar;
  });
}
