import * as tf from '@tensorflow/tfjs-core';

/**
 * Per-example softmax cross-entropy in nats: −log softmax(logits)[y].
 * logits: float32 [b, k]; labels: int32 [b]. Returns float32 [b].
 */
export function perExampleCrossEntropy(logits: tf.Tensor, labels: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const k = logits.shape[1] as number;
    const logp = tf.logSoftmax(logits as tf.Tensor2D);
    return tf.neg(tf.sum(tf.mul(logp, tf.oneHot(labels, k)), 1)) as tf.Tensor1D;
  });
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
