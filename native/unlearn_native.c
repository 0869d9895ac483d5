/*
 * unlearn_native: float32 GEMM and convolution kernels on OpenBLAS for the wasm backend.
 *
 * Every function works in place on the wasm heap: the first argument is the heap's ArrayBuffer
 * (WebAssembly.Memory.buffer) and tensors are given as byte offsets into it, so no tensor is
 * copied. Outputs are allocated by the caller (tfjs makeOutput) before the call. Shapes are
 * row-major; convolutions are NHWC with filters [KH, KW, CI, CO]. Scratch memory for im2col
 * lives outside the wasm heap, one buffer per calling thread.
 *
 * Numerics: sgemm from OpenBLAS (multi-threaded, threads split the M/N blocks and never the
 * K sum, so a product's bytes do not depend on the thread count); the im2col/col2im loops and
 * the bias/activation tails are sequential with a fixed order.
 */
#include <node_api.h>
#include <cblas.h>
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* openblas_set_num_threads etc. are declared in OpenBLAS's cblas.h. */

enum { ACT_LINEAR = 0, ACT_RELU = 1, ACT_RELU6 = 2, ACT_ELU = 3, ACT_LEAKYRELU = 4, ACT_SIGMOID = 5 };

#define MAX_ARGS 24

typedef struct {
  napi_env env;
  napi_value argv[MAX_ARGS];
  size_t argc;
  uint8_t *heap;
  size_t heap_len;
  int ok;
} Args;

static int fail(napi_env env, const char *msg) {
  napi_throw_error(env, "UNLEARN_NATIVE", msg);
  return 0;
}

/* Reads the call's arguments; the first must be an ArrayBuffer (the wasm heap). */
static int read_args(napi_env env, napi_callback_info info, Args *a, size_t want) {
  a->env = env;
  a->argc = MAX_ARGS;
  if (napi_get_cb_info(env, info, &a->argc, a->argv, NULL, NULL) != napi_ok) return fail(env, "bad call");
  if (a->argc < want) return fail(env, "too few arguments");
  void *data = NULL;
  bool is_ab = false;
  napi_is_arraybuffer(env, a->argv[0], &is_ab);
  if (!is_ab) return fail(env, "first argument must be the wasm heap ArrayBuffer");
  if (napi_get_arraybuffer_info(env, a->argv[0], &data, &a->heap_len) != napi_ok) return fail(env, "cannot read heap");
  a->heap = (uint8_t *)data;
  a->ok = 1;
  return 1;
}

static int64_t arg_i(Args *a, size_t i) {
  int64_t v = 0;
  if (napi_get_value_int64(a->env, a->argv[i], &v) != napi_ok) {
    a->ok = 0;
    return 0;
  }
  return v;
}

static double arg_d(Args *a, size_t i) {
  double v = 0;
  if (napi_get_value_double(a->env, a->argv[i], &v) != napi_ok) a->ok = 0;
  return v;
}

/* Pointer to `count` floats at byte offset `off` of the heap, or NULL when out of range. */
static float *heap_f32(Args *a, int64_t off, int64_t count) {
  if (off < 0 || count < 0 || (off & 3) || (uint64_t)off + (uint64_t)count * 4 > a->heap_len) {
    a->ok = 0;
    return NULL;
  }
  return (float *)(a->heap + off);
}

static _Thread_local float *scratch = NULL;
static _Thread_local size_t scratch_cap = 0;

/* A per-thread scratch buffer of at least n floats (contents undefined). */
static float *scratch_f32(size_t n) {
  if (n > scratch_cap) {
    free(scratch);
    scratch = (float *)malloc(n * sizeof(float));
    scratch_cap = scratch ? n : 0;
  }
  return scratch;
}

static void bias_act(float *c, int64_t rows, int64_t n, const float *bias, int act, float alpha) {
  int64_t total = rows * n;
  if (bias) {
    for (int64_t r = 0; r < rows; r++) {
      float *row = c + r * n;
      for (int64_t j = 0; j < n; j++) row[j] += bias[j];
    }
  }
  switch (act) {
    case ACT_RELU:
      for (int64_t i = 0; i < total; i++) c[i] = c[i] > 0.f ? c[i] : 0.f;
      break;
    case ACT_RELU6:
      for (int64_t i = 0; i < total; i++) c[i] = c[i] < 0.f ? 0.f : (c[i] > 6.f ? 6.f : c[i]);
      break;
    case ACT_ELU:
      for (int64_t i = 0; i < total; i++) c[i] = c[i] >= 0.f ? c[i] : expm1f(c[i]);
      break;
    case ACT_LEAKYRELU:
      for (int64_t i = 0; i < total; i++) c[i] = c[i] >= 0.f ? c[i] : alpha * c[i];
      break;
    case ACT_SIGMOID:
      for (int64_t i = 0; i < total; i++) c[i] = 1.f / (1.f + expf(-c[i]));
      break;
    default:
      break;
  }
}

/*
 * gemm(heap, transA, transB, M, N, K, batch, aOff, aStride, bOff, bStride, cOff,
 *      biasOff, act, alpha)
 * For i < batch: C_i[M,N] = op(A_i)·op(B_i) (+ bias[N]) then activation, where A_i starts at
 * aOff + i·aStride bytes (stride 0 broadcasts one matrix), op(A) = Aᵀ when transA (A stored
 * [K, M]), likewise B ([K, N] or, transposed, [N, K]). biasOff < 0: no bias.
 */
static napi_value Gemm(napi_env env, napi_callback_info info) {
  Args a;
  if (!read_args(env, info, &a, 15)) return NULL;
  int tA = (int)arg_i(&a, 1), tB = (int)arg_i(&a, 2);
  int64_t M = arg_i(&a, 3), N = arg_i(&a, 4), K = arg_i(&a, 5), batch = arg_i(&a, 6);
  int64_t aOff = arg_i(&a, 7), aStride = arg_i(&a, 8), bOff = arg_i(&a, 9), bStride = arg_i(&a, 10);
  int64_t cOff = arg_i(&a, 11), biasOff = arg_i(&a, 12);
  int act = (int)arg_i(&a, 13);
  float alpha = (float)arg_d(&a, 14);
  if (!a.ok || M < 0 || N < 0 || K < 0 || batch < 1) return fail(env, "gemm: bad arguments"), NULL;
  float *A0 = heap_f32(&a, aOff + (batch - 1) * aStride, M * K);
  float *B0 = heap_f32(&a, bOff + (batch - 1) * bStride, K * N);
  float *C = heap_f32(&a, cOff, batch * M * N);
  const float *bias = biasOff >= 0 ? heap_f32(&a, biasOff, N) : NULL;
  if (!a.ok || !A0 || !B0 || !C) return fail(env, "gemm: operand outside the heap"), NULL;
  for (int64_t i = 0; i < batch; i++) {
    const float *A = (const float *)(a.heap + aOff + i * aStride);
    const float *B = (const float *)(a.heap + bOff + i * bStride);
    float *Ci = C + i * M * N;
    if (K == 0) {
      memset(Ci, 0, (size_t)(M * N) * sizeof(float));
    } else {
      cblas_sgemm(CblasRowMajor, tA ? CblasTrans : CblasNoTrans, tB ? CblasTrans : CblasNoTrans, (int)M, (int)N, (int)K,
                  1.f, A, tA ? (int)M : (int)K, B, tB ? (int)K : (int)N, 0.f, Ci, (int)N);
    }
  }
  if (bias || act != ACT_LINEAR) bias_act(C, batch * M, N, bias, act, alpha);
  return NULL;
}

typedef struct {
  int64_t B, H, W, CI, KH, KW, CO, OH, OW, sH, sW, dH, dW, padT, padL;
} ConvGeom;

static int read_geom(Args *a, size_t first, ConvGeom *g) {
  int64_t *f = &g->B;
  for (int i = 0; i < 15; i++) f[i] = arg_i(a, first + i);
  return a->ok && g->B > 0 && g->H > 0 && g->W > 0 && g->CI > 0 && g->KH > 0 && g->KW > 0 && g->CO > 0 && g->OH > 0 &&
         g->OW > 0 && g->sH > 0 && g->sW > 0 && g->dH > 0 && g->dW > 0;
}

/* Images per im2col chunk: bounded so a chunk's columns stay near 32 MB (at least one image). */
static int64_t chunk_images(const ConvGeom *g) {
  int64_t per = g->OH * g->OW * g->KH * g->KW * g->CI;
  int64_t n = (8 << 20) / (per > 0 ? per : 1);
  if (n < 1) n = 1;
  return n > g->B ? g->B : n;
}

/* col[(b, oh, ow), (kh, kw, ci)] = x[b0 + b, oh·sH + kh·dH − padT, ow·sW + kw·dW − padL, ci] or 0. */
static void im2col(const float *x, float *col, const ConvGeom *g, int64_t b0, int64_t nb) {
  int64_t rowLen = g->KH * g->KW * g->CI;
  for (int64_t b = 0; b < nb; b++) {
    const float *xb = x + (b0 + b) * g->H * g->W * g->CI;
    for (int64_t oh = 0; oh < g->OH; oh++) {
      for (int64_t ow = 0; ow < g->OW; ow++) {
        float *dst = col + ((b * g->OH + oh) * g->OW + ow) * rowLen;
        int64_t iw0 = ow * g->sW - g->padL;
        int contiguous = g->dW == 1 && iw0 >= 0 && iw0 + g->KW <= g->W;
        for (int64_t kh = 0; kh < g->KH; kh++) {
          int64_t ih = oh * g->sH + kh * g->dH - g->padT;
          if (contiguous && ih >= 0 && ih < g->H) {
            /* the KW·CI values of this filter row are adjacent in x */
            memcpy(dst, xb + (ih * g->W + iw0) * g->CI, (size_t)(g->KW * g->CI) * sizeof(float));
            dst += g->KW * g->CI;
            continue;
          }
          for (int64_t kw = 0; kw < g->KW; kw++) {
            int64_t iw = ow * g->sW + kw * g->dW - g->padL;
            if (ih < 0 || ih >= g->H || iw < 0 || iw >= g->W) {
              memset(dst, 0, (size_t)g->CI * sizeof(float));
            } else {
              memcpy(dst, xb + (ih * g->W + iw) * g->CI, (size_t)g->CI * sizeof(float));
            }
            dst += g->CI;
          }
        }
      }
    }
  }
}

/* dx[b0 + b, ...] += col scattered back (the adjoint of im2col), in a fixed order. */
static void col2im(const float *col, float *dx, const ConvGeom *g, int64_t b0, int64_t nb) {
  int64_t rowLen = g->KH * g->KW * g->CI;
  for (int64_t b = 0; b < nb; b++) {
    float *xb = dx + (b0 + b) * g->H * g->W * g->CI;
    for (int64_t oh = 0; oh < g->OH; oh++) {
      for (int64_t ow = 0; ow < g->OW; ow++) {
        const float *src = col + ((b * g->OH + oh) * g->OW + ow) * rowLen;
        for (int64_t kh = 0; kh < g->KH; kh++) {
          int64_t ih = oh * g->sH + kh * g->dH - g->padT;
          for (int64_t kw = 0; kw < g->KW; kw++, src += g->CI) {
            int64_t iw = ow * g->sW + kw * g->dW - g->padL;
            if (ih < 0 || ih >= g->H || iw < 0 || iw >= g->W) continue;
            float *d = xb + (ih * g->W + iw) * g->CI;
            for (int64_t c = 0; c < g->CI; c++) d[c] += src[c];
          }
        }
      }
    }
  }
}

/* True when im2col is the identity (1x1 filter, stride 1, no padding): x already is the column matrix. */
/*
 * maxPoolGrad(heap, dyOff, xOff, dxOff, B, H, W, C, OH, OW, FH, FW, sH, sW, padT, padL):
 * dx[B, H, W, C] = each dy[b, oh, ow, c] added at the argmax of its (clipped) window of x; ties
 * go to the first max in row-major window order, as on the cpu backend.
 */
static napi_value MaxPoolGrad(napi_env env, napi_callback_info info) {
  Args a;
  if (!read_args(env, info, &a, 16)) return NULL;
  int64_t dyOff = arg_i(&a, 1), xOff = arg_i(&a, 2), dxOff = arg_i(&a, 3);
  int64_t B = arg_i(&a, 4), H = arg_i(&a, 5), W = arg_i(&a, 6), C = arg_i(&a, 7), OH = arg_i(&a, 8), OW = arg_i(&a, 9);
  int64_t FH = arg_i(&a, 10), FW = arg_i(&a, 11), sH = arg_i(&a, 12), sW = arg_i(&a, 13), top = arg_i(&a, 14), left = arg_i(&a, 15);
  if (!a.ok || B < 1 || H < 1 || W < 1 || C < 1 || OH < 1 || OW < 1 || FH < 1 || FW < 1 || sH < 1 || sW < 1) return fail(env, "maxPoolGrad: bad geometry"), NULL;
  const float *dy = heap_f32(&a, dyOff, B * OH * OW * C);
  const float *x = heap_f32(&a, xOff, B * H * W * C);
  float *dx = heap_f32(&a, dxOff, B * H * W * C);
  if (!a.ok) return fail(env, "maxPoolGrad: operand outside the heap"), NULL;
  memset(dx, 0, (size_t)(B * H * W * C) * sizeof(float));
  int64_t rowStride = W * C;
  for (int64_t b = 0; b < B; b++) {
    int64_t xb = b * H * rowStride;
    for (int64_t oh = 0; oh < OH; oh++) {
      int64_t h0 = oh * sH - top, hs = h0 < 0 ? 0 : h0, he = h0 + FH < H ? h0 + FH : H;
      for (int64_t ow = 0; ow < OW; ow++) {
        int64_t w0 = ow * sW - left, ws = w0 < 0 ? 0 : w0, we = w0 + FW < W ? w0 + FW : W;
        const float *g = dy + ((b * OH + oh) * OW + ow) * C;
        int64_t corner = xb + hs * rowStride + ws * C;
        for (int64_t c = 0; c < C; c++) {
          float best = -INFINITY;
          int64_t pos = -1;
          for (int64_t h = hs, row = corner + c; h < he; h++, row += rowStride) {
            for (int64_t w = ws, i = row; w < we; w++, i += C) {
              if (x[i] > best) {
                best = x[i];
                pos = i;
              }
            }
          }
          if (pos >= 0) dx[pos] += g[c];
        }
      }
    }
  }
  return NULL;
}

/*
 * sumLeading(heap, xOff, yOff, rows, cols): y[cols] = Σ_r x[r, cols] (rows summed in order) — a
 * reduction over the leading axes, e.g. a bias gradient, without the transpose the wasm Sum needs.
 */
static napi_value SumLeading(napi_env env, napi_callback_info info) {
  Args a;
  if (!read_args(env, info, &a, 5)) return NULL;
  int64_t xOff = arg_i(&a, 1), yOff = arg_i(&a, 2), rows = arg_i(&a, 3), cols = arg_i(&a, 4);
  if (!a.ok || rows < 1 || cols < 1) return fail(env, "sumLeading: bad shape"), NULL;
  const float *x = heap_f32(&a, xOff, rows * cols);
  float *y = heap_f32(&a, yOff, cols);
  if (!a.ok) return fail(env, "sumLeading: operand outside the heap"), NULL;
  memcpy(y, x, (size_t)cols * sizeof(float));
  for (int64_t r = 1; r < rows; r++) {
    const float *row = x + r * cols;
    for (int64_t j = 0; j < cols; j++) y[j] += row[j];
  }
  return NULL;
}

/* tanh(heap, xOff, yOff, n): y = tanh(x) elementwise, as 1 − 2/(e^{2x} + 1) (exact at ±∞, NaN kept). */
static napi_value Tanh(napi_env env, napi_callback_info info) {
  Args a;
  if (!read_args(env, info, &a, 4)) return NULL;
  int64_t xOff = arg_i(&a, 1), yOff = arg_i(&a, 2), n = arg_i(&a, 3);
  if (!a.ok || n < 1) return fail(env, "tanh: bad size"), NULL;
  const float *x = heap_f32(&a, xOff, n);
  float *y = heap_f32(&a, yOff, n);
  if (!a.ok) return fail(env, "tanh: operand outside the heap"), NULL;
  for (int64_t i = 0; i < n; i++) y[i] = 1.f - 2.f / (expf(2.f * x[i]) + 1.f);
  return NULL;
}

/*
 * adam(heap, wOff, gOff, mOff, vOff, w2Off, m2Off, v2Off, n, b1, b2, oneMinusB1, oneMinusB2,
 *      c1, c2, eps, negLr): one Adam step (Kingma & Ba 2015) over n float32 parameters, with the
 * operations and order of tfjs-core's AdamOptimizer in IEEE float32 (c1 = 1 − β1^t,
 * c2 = 1 − β2^t; the wasm kernels' vectorised sqrt/div may differ in the last bit):
 *   m' = m·β1 + g·(1−β1);  v' = v·β2 + g²·(1−β2);  w' = ((m'/c1) / (√(v'/c2) + ε))·(−lr) + w.
 */
static napi_value Adam(napi_env env, napi_callback_info info) {
  Args a;
  if (!read_args(env, info, &a, 17)) return NULL;
  int64_t off[7];
  for (int i = 0; i < 7; i++) off[i] = arg_i(&a, 1 + i);
  int64_t n = arg_i(&a, 8);
  float k[8];
  for (int i = 0; i < 8; i++) k[i] = (float)arg_d(&a, 9 + i);
  if (!a.ok || n < 1) return fail(env, "adam: bad arguments"), NULL;
  const float *w = heap_f32(&a, off[0], n), *g = heap_f32(&a, off[1], n), *m = heap_f32(&a, off[2], n), *v = heap_f32(&a, off[3], n);
  float *w2 = heap_f32(&a, off[4], n), *m2 = heap_f32(&a, off[5], n), *v2 = heap_f32(&a, off[6], n);
  if (!a.ok) return fail(env, "adam: operand outside the heap"), NULL;
  const float b1 = k[0], b2 = k[1], omb1 = k[2], omb2 = k[3], c1 = k[4], c2 = k[5], eps = k[6], neglr = k[7];
  for (int64_t i = 0; i < n; i++) {
    float gi = g[i];
    float mi = m[i] * b1 + gi * omb1;
    float vi = v[i] * b2 + (gi * gi) * omb2;
    m2[i] = mi;
    v2[i] = vi;
    w2[i] = ((mi / c1) / (sqrtf(vi / c2) + eps)) * neglr + w[i];
  }
  return NULL;
}

static int is_pointwise(const ConvGeom *g) {
  return g->KH == 1 && g->KW == 1 && g->sH == 1 && g->sW == 1 && g->padT == 0 && g->padL == 0 && g->OH == g->H &&
         g->OW == g->W;
}

/*
 * conv2d(heap, xOff, wOff, yOff, biasOff, act, alpha, B, H, W, CI, KH, KW, CO, OH, OW, sH, sW,
 *        dH, dW, padT, padL): y[B, OH, OW, CO] = act(conv(x, w) + bias).
 */
static napi_value Conv2d(napi_env env, napi_callback_info info) {
  Args a;
  ConvGeom g;
  if (!read_args(env, info, &a, 22)) return NULL;
  int64_t xOff = arg_i(&a, 1), wOff = arg_i(&a, 2), yOff = arg_i(&a, 3), biasOff = arg_i(&a, 4);
  int act = (int)arg_i(&a, 5);
  float alpha = (float)arg_d(&a, 6);
  if (!read_geom(&a, 7, &g)) return fail(env, "conv2d: bad geometry"), NULL;
  int64_t Kd = g.KH * g.KW * g.CI, P = g.OH * g.OW;
  const float *x = heap_f32(&a, xOff, g.B * g.H * g.W * g.CI);
  const float *w = heap_f32(&a, wOff, Kd * g.CO);
  float *y = heap_f32(&a, yOff, g.B * P * g.CO);
  const float *bias = biasOff >= 0 ? heap_f32(&a, biasOff, g.CO) : NULL;
  if (!a.ok) return fail(env, "conv2d: operand outside the heap"), NULL;
  if (is_pointwise(&g)) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(g.B * P), (int)g.CO, (int)Kd, 1.f, x, (int)Kd, w,
                (int)g.CO, 0.f, y, (int)g.CO);
  } else {
    int64_t nb = chunk_images(&g);
    float *col = scratch_f32((size_t)(nb * P * Kd));
    if (!col) return fail(env, "conv2d: out of memory"), NULL;
    for (int64_t b0 = 0; b0 < g.B; b0 += nb) {
      int64_t n = g.B - b0 < nb ? g.B - b0 : nb;
      im2col(x, col, &g, b0, n);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(n * P), (int)g.CO, (int)Kd, 1.f, col, (int)Kd, w,
                  (int)g.CO, 0.f, y + b0 * P * g.CO, (int)g.CO);
    }
  }
  if (bias || act != ACT_LINEAR) bias_act(y, g.B * P, g.CO, bias, act, alpha);
  return NULL;
}

/*
 * conv2dBackpropInput(heap, dyOff, wOff, dxOff, B, H, W, CI, KH, KW, CO, OH, OW, sH, sW, dH, dW,
 *                     padT, padL): dx[B, H, W, CI] = col2im(dy[B·OH·OW, CO] · wᵀ[CO, KH·KW·CI]).
 */
static napi_value Conv2dBackpropInput(napi_env env, napi_callback_info info) {
  Args a;
  ConvGeom g;
  if (!read_args(env, info, &a, 19)) return NULL;
  int64_t dyOff = arg_i(&a, 1), wOff = arg_i(&a, 2), dxOff = arg_i(&a, 3);
  if (!read_geom(&a, 4, &g)) return fail(env, "conv2dBackpropInput: bad geometry"), NULL;
  int64_t Kd = g.KH * g.KW * g.CI, P = g.OH * g.OW;
  const float *dy = heap_f32(&a, dyOff, g.B * P * g.CO);
  const float *w = heap_f32(&a, wOff, Kd * g.CO);
  float *dx = heap_f32(&a, dxOff, g.B * g.H * g.W * g.CI);
  if (!a.ok) return fail(env, "conv2dBackpropInput: operand outside the heap"), NULL;
  if (is_pointwise(&g)) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(g.B * P), (int)Kd, (int)g.CO, 1.f, dy, (int)g.CO, w,
                (int)g.CO, 0.f, dx, (int)Kd);
    return NULL;
  }
  memset(dx, 0, (size_t)(g.B * g.H * g.W * g.CI) * sizeof(float));
  int64_t nb = chunk_images(&g);
  float *col = scratch_f32((size_t)(nb * P * Kd));
  if (!col) return fail(env, "conv2dBackpropInput: out of memory"), NULL;
  for (int64_t b0 = 0; b0 < g.B; b0 += nb) {
    int64_t n = g.B - b0 < nb ? g.B - b0 : nb;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(n * P), (int)Kd, (int)g.CO, 1.f, dy + b0 * P * g.CO,
                (int)g.CO, w, (int)g.CO, 0.f, col, (int)Kd);
    col2im(col, dx, &g, b0, n);
  }
  return NULL;
}

/*
 * conv2dBackpropFilter(heap, xOff, dyOff, dwOff, B, H, W, CI, KH, KW, CO, OH, OW, sH, sW, dH, dW,
 *                      padT, padL): dw[KH·KW·CI, CO] = Σ_chunks im2col(x)ᵀ · dy.
 */
static napi_value Conv2dBackpropFilter(napi_env env, napi_callback_info info) {
  Args a;
  ConvGeom g;
  if (!read_args(env, info, &a, 19)) return NULL;
  int64_t xOff = arg_i(&a, 1), dyOff = arg_i(&a, 2), dwOff = arg_i(&a, 3);
  if (!read_geom(&a, 4, &g)) return fail(env, "conv2dBackpropFilter: bad geometry"), NULL;
  int64_t Kd = g.KH * g.KW * g.CI, P = g.OH * g.OW;
  const float *x = heap_f32(&a, xOff, g.B * g.H * g.W * g.CI);
  const float *dy = heap_f32(&a, dyOff, g.B * P * g.CO);
  float *dw = heap_f32(&a, dwOff, Kd * g.CO);
  if (!a.ok) return fail(env, "conv2dBackpropFilter: operand outside the heap"), NULL;
  if (is_pointwise(&g)) {
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)Kd, (int)g.CO, (int)(g.B * P), 1.f, x, (int)Kd, dy,
                (int)g.CO, 0.f, dw, (int)g.CO);
    return NULL;
  }
  int64_t nb = chunk_images(&g);
  float *col = scratch_f32((size_t)(nb * P * Kd));
  if (!col) return fail(env, "conv2dBackpropFilter: out of memory"), NULL;
  for (int64_t b0 = 0; b0 < g.B; b0 += nb) {
    int64_t n = g.B - b0 < nb ? g.B - b0 : nb;
    im2col(x, col, &g, b0, n);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)Kd, (int)g.CO, (int)(n * P), 1.f, col, (int)Kd,
                dy + b0 * P * g.CO, (int)g.CO, b0 == 0 ? 0.f : 1.f, dw, (int)g.CO);
  }
  return NULL;
}

static atomic_int configured_threads = 0;

static int32_t thread_arg(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t n = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_value_int32(env, argv[0], &n) != napi_ok || n < 1) {
    napi_throw_error(env, "UNLEARN_NATIVE", "the thread count must be a positive integer");
    return 0;
  }
  return n;
}

/* configureThreads(n): sets n OpenBLAS threads unless a thread of this process already did; returns the count in effect. */
static napi_value ConfigureThreads(napi_env env, napi_callback_info info) {
  int32_t n = thread_arg(env, info);
  if (!n) return NULL;
  int expected = 0;
  if (atomic_compare_exchange_strong(&configured_threads, &expected, n)) openblas_set_num_threads(n);
  napi_value v;
  napi_create_int32(env, openblas_get_num_threads(), &v);
  return v;
}

/* setThreads(n): OpenBLAS worker threads for later calls (process-wide). */
static napi_value SetThreads(napi_env env, napi_callback_info info) {
  int32_t n = thread_arg(env, info);
  if (!n) return NULL;
  atomic_store(&configured_threads, n);
  openblas_set_num_threads(n);
  return NULL;
}

/* info(): { threads, config, core } of the OpenBLAS in use. */
static napi_value Info(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value obj, v;
  napi_create_object(env, &obj);
  napi_create_int32(env, openblas_get_num_threads(), &v);
  napi_set_named_property(env, obj, "threads", v);
  napi_create_string_utf8(env, openblas_get_config(), NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, "config", v);
  napi_create_string_utf8(env, openblas_get_corename(), NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, "core", v);
  napi_create_int32(env, openblas_get_parallel(), &v);
  napi_set_named_property(env, obj, "parallel", v);
  return obj;
}

/* Frees this thread's scratch buffer when its Node environment (main thread or worker) exits. */
static void free_scratch(void *unused) {
  (void)unused;
  free(scratch);
  scratch = NULL;
  scratch_cap = 0;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_add_env_cleanup_hook(env, free_scratch, NULL);
  napi_property_descriptor props[] = {
      {"gemm", NULL, Gemm, NULL, NULL, NULL, napi_default, NULL},
      {"conv2d", NULL, Conv2d, NULL, NULL, NULL, napi_default, NULL},
      {"conv2dBackpropInput", NULL, Conv2dBackpropInput, NULL, NULL, NULL, napi_default, NULL},
      {"conv2dBackpropFilter", NULL, Conv2dBackpropFilter, NULL, NULL, NULL, napi_default, NULL},
      {"configureThreads", NULL, ConfigureThreads, NULL, NULL, NULL, napi_default, NULL},
      {"adam", NULL, Adam, NULL, NULL, NULL, napi_default, NULL},
      {"sumLeading", NULL, SumLeading, NULL, NULL, NULL, napi_default, NULL},
      {"tanh", NULL, Tanh, NULL, NULL, NULL, napi_default, NULL},
      {"maxPoolGrad", NULL, MaxPoolGrad, NULL, NULL, NULL, napi_default, NULL},
      {"setThreads", NULL, SetThreads, NULL, NULL, NULL, napi_default, NULL},
      {"info", NULL, Info, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

NAPI_MODULE_INIT() { return Init(env, exports); }
