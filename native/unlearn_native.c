/*
 * unlearn_native: float32 GEMM and convolution kernels on OpenBLAS for the wasm backend.
 *
 * Every function works in place on the wasm heap: the first argument is the heap's ArrayBuffer
 * (WebAssembly.Memory.buffer) and tensors are given as byte offsets into it, so no tensor is
 * copied. Outputs are allocated by the caller (tfjs makeOutput) before the call. Shapes are
 * row-major; convolutions are NHWC with filters [KH, KW, CI, CO]. Scratch memory for im2col
 * lives outside the wasm heap, one buffer per calling thread.
 *
 * Numerics: sgemm from OpenBLAS; its bytes depend on its thread count, which is a fixed function
 * of the configured count and the product's shape (see Gemm), so they repeat run to run. The
 * im2col/col2im loops, the bias/activation tails and the row/elementwise kernels have a fixed
 * order; the latter run on two threads (parallel_range) as halves of independent items, which
 * does not change their bytes.
 *
 * Threads: with a configured count ≥ 2, batches of small products are cut in two across two
 * threads running one-thread OpenBLAS each, products below 2^21 multiply-adds run on one thread
 * (OpenBLAS's own threading on them costs more than it saves and makes timings erratic), and
 * the rest use OpenBLAS's threads.
 */
#define _POSIX_C_SOURCE 200809L /* pthread_rwlock_t under -std=c11 */
#include <node_api.h>
#include <cblas.h>
#include <math.h>
#include <pthread.h>
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


static atomic_int configured_threads = 0;

/*
 * Two-way data parallelism of our own loops. OpenBLAS's thread count (configured_threads) is
 * also the number of threads our loops use: with ≥ 2, a loop over n independent items (rows or
 * elements) whose work n·cost reaches PAR_MIN_WORK is cut at n/2 and the upper half runs on a
 * second thread. Every item is computed by the same code whichever thread runs it, so the bytes
 * do not depend on the split.
 */
#define PAR_MIN_WORK (1 << 17)
typedef void (*range_fn)(void *ctx, int64_t lo, int64_t hi);
typedef struct {
  range_fn fn;
  void *ctx;
  int64_t lo, hi;
} RangeJob;

static void *range_thread(void *p) {
  RangeJob *j = (RangeJob *)p;
  j->fn(j->ctx, j->lo, j->hi);
  return NULL;
}

static void parallel_range(range_fn fn, void *ctx, int64_t n, int64_t cost) {
  if (atomic_load(&configured_threads) >= 2 && n >= 2 && n * cost >= PAR_MIN_WORK) {
    RangeJob j = {fn, ctx, n / 2, n};
    pthread_t t;
    if (pthread_create(&t, NULL, range_thread, &j) == 0) {
      fn(ctx, 0, n / 2);
      pthread_join(t, NULL);
      return;
    }
  }
  fn(ctx, 0, n);
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
 * OpenBLAS's thread count is process-wide. A batched product of small matrices switches it to 1
 * for its duration (see Gemm) under the write side of this lock; every other OpenBLAS call holds
 * the read side, so no product ever runs while the count is switched.
 */
static pthread_rwlock_t blas_mode = PTHREAD_RWLOCK_INITIALIZER;

/* Largest per-matrix M·N·K of a batch that is split across our threads instead of OpenBLAS's. */
#define BATCH_SPLIT_MAX_MNK (1LL << 22)
/* Products with batch·M·N·K below this run on one OpenBLAS thread whatever the count (about 50 µs of work). */
#define ONE_THREAD_MAX_MNK (1LL << 21)

typedef struct {
  const uint8_t *heap;
  int tA, tB;
  int64_t M, N, K, aOff, aStride, bOff, bStride;
  float *C;
} GemmJob;

static void gemm_range(void *ctx, int64_t lo, int64_t hi) {
  const GemmJob *j = (const GemmJob *)ctx;
  for (int64_t i = lo; i < hi; i++) {
    const float *A = (const float *)(j->heap + j->aOff + i * j->aStride);
    const float *B = (const float *)(j->heap + j->bOff + i * j->bStride);
    float *Ci = j->C + i * j->M * j->N;
    if (j->K == 0) {
      memset(Ci, 0, (size_t)(j->M * j->N) * sizeof(float));
    } else {
      cblas_sgemm(CblasRowMajor, j->tA ? CblasTrans : CblasNoTrans, j->tB ? CblasTrans : CblasNoTrans, (int)j->M, (int)j->N,
                  (int)j->K, 1.f, A, j->tA ? (int)j->M : (int)j->K, B, j->tB ? (int)j->K : (int)j->N, 0.f, Ci, (int)j->N);
    }
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
  GemmJob j = {a.heap, tA, tB, M, N, K, aOff, aStride, bOff, bStride, C};
  int threads = atomic_load(&configured_threads);
  if (threads >= 2 && batch >= 2 && M * N * K <= BATCH_SPLIT_MAX_MNK && K > 0) {
    /* many small products: one OpenBLAS thread per product, the batch cut in two across threads */
    pthread_rwlock_wrlock(&blas_mode);
    openblas_set_num_threads(1);
    parallel_range(gemm_range, &j, batch, PAR_MIN_WORK);
    openblas_set_num_threads(threads);
    pthread_rwlock_unlock(&blas_mode);
  } else if (threads >= 2 && batch * M * N * K < ONE_THREAD_MAX_MNK) {
    /* too small for two threads to pay off (OpenBLAS would use two above 2^18): one thread */
    pthread_rwlock_wrlock(&blas_mode);
    openblas_set_num_threads(1);
    gemm_range(&j, 0, batch);
    openblas_set_num_threads(threads);
    pthread_rwlock_unlock(&blas_mode);
  } else {
    pthread_rwlock_rdlock(&blas_mode);
    gemm_range(&j, 0, batch);
    pthread_rwlock_unlock(&blas_mode);
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

typedef struct {
  const float *in[4];
  float *out[3];
  float k[8];
} AdamJob;

static void adam_range(void *ctx, int64_t lo, int64_t hi) {
  const AdamJob *j = (const AdamJob *)ctx;
  const float *w = j->in[0], *g = j->in[1], *m = j->in[2], *v = j->in[3];
  float *w2 = j->out[0], *m2 = j->out[1], *v2 = j->out[2];
  const float b1 = j->k[0], b2 = j->k[1], omb1 = j->k[2], omb2 = j->k[3], c1 = j->k[4], c2 = j->k[5], eps = j->k[6], neglr = j->k[7];
  for (int64_t i = lo; i < hi; i++) {
    float gi = g[i];
    float mi = m[i] * b1 + gi * omb1;
    float vi = v[i] * b2 + (gi * gi) * omb2;
    m2[i] = mi;
    v2[i] = vi;
    w2[i] = ((mi / c1) / (sqrtf(vi / c2) + eps)) * neglr + w[i];
  }
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
  AdamJob j = {{w, g, m, v}, {w2, m2, v2}, {k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7]}};
  parallel_range(adam_range, &j, n, 12);
  return NULL;
}

/* ---- Elementwise and row kernels of the language model (sequential loops, fixed order). ---- */

/*
 * e^x in float32 without a libm call, so that loops over it vectorise: x = n·ln2 + r with
 * |r| ≤ ln2/2 (Cody–Waite split of ln2), e^r by a degree-6 polynomial (Cephes expf's
 * coefficients), 2^n by building the exponent bits. Relative error ≤ 2 ulp on [−87.3, 88.7];
 * below −87.3 the result is 0, above 88.7 it is clamped to e^88.7.
 */
static inline float exp_poly(float x) {
  float xc = x > 88.7f ? 88.7f : x;
  xc = xc < -87.3f ? -87.3f : xc;
  float t = xc * 1.44269504088896341f + 12582912.f; /* round to nearest via the 1.5·2^23 trick */
  float n = t - 12582912.f;
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.f;
  union { float f; int32_t i; } u;
  u.i = ((int32_t)n + 127) << 23;
  float y = p * u.f;
  return x < -87.3f ? 0.f : y;
}

/* tanh(u) = 1 − 2/(e^{2u} + 1), with u clamped to ±9 (tanh(±9) rounds to ±1 in float32). */
static inline float tanh_poly(float u) {
  float uc = u > 9.f ? 9.f : (u < -9.f ? -9.f : u);
  return 1.f - 2.f / (exp_poly(2.f * uc) + 1.f);
}

#define GELU_C 0.7978845608028654f
#define GELU_A 0.044715f

static void gelu_range(void *ctx, int64_t lo, int64_t hi) {
  const float *x = ((const float **)ctx)[0];
  float *y = ((float **)ctx)[1];
  for (int64_t i = lo; i < hi; i++) {
    float xi = x[i];
    float t = tanh_poly((xi + (xi * (xi * xi)) * GELU_A) * GELU_C);
    y[i] = (xi * 0.5f) * (t + 1.f);
  }
}

static void gelu_grad_range(void *ctx, int64_t lo, int64_t hi) {
  const float *x = ((const float **)ctx)[0], *dy = ((const float **)ctx)[1];
  float *dx = ((float **)ctx)[2];
  for (int64_t i = lo; i < hi; i++) {
    float xi = x[i], x2 = xi * xi;
    float t = tanh_poly((xi + (xi * x2) * GELU_A) * GELU_C);
    float dt = ((1.f - t * t) * GELU_C) * (x2 * (3.f * GELU_A) + 1.f);
    dx[i] = dy[i] * (((t + 1.f) + xi * dt) * 0.5f);
  }
}

/* gelu(heap, xOff, yOff, n): y = 0.5·x·(1 + tanh(c·(x + 0.044715·x³))), c = √(2/π). */
static napi_value Gelu(napi_env env, napi_callback_info info) {
  Args a;
  if (!read_args(env, info, &a, 4)) return NULL;
  int64_t xOff = arg_i(&a, 1), yOff = arg_i(&a, 2), n = arg_i(&a, 3);
  if (!a.ok || n < 1) return fail(env, "gelu: bad size"), NULL;
  const float *x = heap_f32(&a, xOff, n);
  float *y = heap_f32(&a, yOff, n);
  if (!a.ok) return fail(env, "gelu: operand outside the heap"), NULL;
  const float *io[2] = {x, y};
  parallel_range(gelu_range, io, n, 16);
  return NULL;
}

/* geluGrad(heap, xOff, dyOff, dxOff, n): dx = dy·0.5·((1 + t) + x·(1 − t²)·c·(1 + 3·0.044715·x²)). */
static napi_value GeluGrad(napi_env env, napi_callback_info info) {
  Args a;
  if (!read_args(env, info, &a, 5)) return NULL;
  int64_t xOff = arg_i(&a, 1), dyOff = arg_i(&a, 2), dxOff = arg_i(&a, 3), n = arg_i(&a, 4);
  if (!a.ok || n < 1) return fail(env, "geluGrad: bad size"), NULL;
  const float *x = heap_f32(&a, xOff, n), *dy = heap_f32(&a, dyOff, n);
  float *dx = heap_f32(&a, dxOff, n);
  if (!a.ok) return fail(env, "geluGrad: operand outside the heap"), NULL;
  const float *io[3] = {x, dy, dx};
  parallel_range(gelu_grad_range, io, n, 24);
  return NULL;
}

/*
 * layerNorm(heap, xOff, gOff, bOff, yOff, meanOff, rstdOff, rows, d, eps): per row of x [rows, d],
 * mean = Σx/d, var = Σ(x − mean)²/d, rstd = 1/√(var + eps), y = (x − mean)·rstd·g + b.
 */
static napi_value LayerNorm(napi_env env, napi_callback_info info) {
  Args a;
  if (!read_args(env, info, &a, 10)) return NULL;
  int64_t xOff = arg_i(&a, 1), gOff = arg_i(&a, 2), bOff = arg_i(&a, 3), yOff = arg_i(&a, 4), mOff = arg_i(&a, 5), rOff = arg_i(&a, 6);
  int64_t rows = arg_i(&a, 7), d = arg_i(&a, 8);
  float eps = (float)arg_d(&a, 9);
  if (!a.ok || rows < 1 || d < 1) return fail(env, "layerNorm: bad shape"), NULL;
  const float *x = heap_f32(&a, xOff, rows * d), *g = heap_f32(&a, gOff, d), *b = heap_f32(&a, bOff, d);
  float *y = heap_f32(&a, yOff, rows * d), *mean = heap_f32(&a, mOff, rows), *rstd = heap_f32(&a, rOff, rows);
  if (!a.ok) return fail(env, "layerNorm: operand outside the heap"), NULL;
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * d;
    float *yr = y + r * d;
    float s = 0.f;
    for (int64_t j = 0; j < d; j++) s += xr[j];
    float mu = s / (float)d;
    float q = 0.f;
    for (int64_t j = 0; j < d; j++) q += (xr[j] - mu) * (xr[j] - mu);
    float rs = 1.f / sqrtf(q / (float)d + eps);
    mean[r] = mu;
    rstd[r] = rs;
    for (int64_t j = 0; j < d; j++) yr[j] = ((xr[j] - mu) * rs) * g[j] + b[j];
  }
  return NULL;
}

/*
 * layerNormGrad(heap, xOff, gOff, meanOff, rstdOff, dyOff, dxOff, dgOff, dbOff, rows, d): with
 * x̂ = (x − mean)·rstd and h = dy·g, dx = rstd·(h − mean_j(h) − x̂·mean_j(h·x̂)); dg = Σ_rows dy·x̂,
 * db = Σ_rows dy (rows summed in order).
 */
static napi_value LayerNormGrad(napi_env env, napi_callback_info info) {
  Args a;
  if (!read_args(env, info, &a, 11)) return NULL;
  int64_t off[8];
  for (int i = 0; i < 8; i++) off[i] = arg_i(&a, 1 + i);
  int64_t rows = arg_i(&a, 9), d = arg_i(&a, 10);
  if (!a.ok || rows < 1 || d < 1) return fail(env, "layerNormGrad: bad shape"), NULL;
  const float *x = heap_f32(&a, off[0], rows * d), *g = heap_f32(&a, off[1], d), *mean = heap_f32(&a, off[2], rows), *rstd = heap_f32(&a, off[3], rows);
  const float *dy = heap_f32(&a, off[4], rows * d);
  float *dx = heap_f32(&a, off[5], rows * d), *dg = heap_f32(&a, off[6], d), *db = heap_f32(&a, off[7], d);
  if (!a.ok) return fail(env, "layerNormGrad: operand outside the heap"), NULL;
  memset(dg, 0, (size_t)d * sizeof(float));
  memset(db, 0, (size_t)d * sizeof(float));
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * d, *dyr = dy + r * d;
    float *dxr = dx + r * d;
    float mu = mean[r], rs = rstd[r];
    float sh = 0.f, shx = 0.f;
    for (int64_t j = 0; j < d; j++) {
      float xh = (xr[j] - mu) * rs;
      float h = dyr[j] * g[j];
      sh += h;
      shx += h * xh;
      dg[j] += dyr[j] * xh;
      db[j] += dyr[j];
    }
    sh /= (float)d;
    shx /= (float)d;
    for (int64_t j = 0; j < d; j++) {
      float xh = (xr[j] - mu) * rs;
      dxr[j] = rs * ((dyr[j] * g[j] - sh) - xh * shx);
    }
  }
  return NULL;
}

typedef struct {
  const float *s, *mask;
  float *p;
  const float *dp;
  int64_t S, mRows;
  float scale;
} SoftmaxJob;

static void masked_softmax_range(void *ctx, int64_t lo, int64_t hi) {
  const SoftmaxJob *j = (const SoftmaxJob *)ctx;
  int64_t S = j->S;
  for (int64_t r = lo; r < hi; r++) {
    const float *sr = j->s + r * S;
    const float *mr = j->mask ? j->mask + (r % j->mRows) * S : NULL;
    float *pr = j->p + r * S;
    for (int64_t c = 0; c < S; c++) pr[c] = mr ? sr[c] * j->scale + mr[c] : sr[c] * j->scale;
    float mx = -INFINITY;
    for (int64_t c = 0; c < S; c++) mx = pr[c] > mx ? pr[c] : mx;
    float sum = 0.f;
    for (int64_t c = 0; c < S; c++) {
      float e = exp_poly(pr[c] - mx);
      pr[c] = e;
      sum += e;
    }
    for (int64_t c = 0; c < S; c++) pr[c] = pr[c] / sum;
  }
}

/* ds rows [lo, hi) of softmaxGrad; j->s is p, j->p is ds. */
static void softmax_grad_range(void *ctx, int64_t lo, int64_t hi) {
  const SoftmaxJob *j = (const SoftmaxJob *)ctx;
  int64_t S = j->S;
  for (int64_t r = lo; r < hi; r++) {
    const float *pr = j->s + r * S, *dpr = j->dp + r * S;
    float *dsr = j->p + r * S;
    float dot = 0.f;
    for (int64_t c = 0; c < S; c++) dot += dpr[c] * pr[c];
    for (int64_t c = 0; c < S; c++) dsr[c] = (pr[c] * (dpr[c] - dot)) * j->scale;
  }
}

/*
 * maskedSoftmax(heap, sOff, maskOff, pOff, rows, S, maskRows, scale): p[r, :] = softmax(s[r, :]·scale
 * + mask[r mod maskRows, :]) over rows of length S (maskOff < 0: no mask).
 */
static napi_value MaskedSoftmax(napi_env env, napi_callback_info info) {
  Args a;
  if (!read_args(env, info, &a, 8)) return NULL;
  int64_t sOff = arg_i(&a, 1), mOff = arg_i(&a, 2), pOff = arg_i(&a, 3), rows = arg_i(&a, 4), S = arg_i(&a, 5), mRows = arg_i(&a, 6);
  float scale = (float)arg_d(&a, 7);
  if (!a.ok || rows < 1 || S < 1 || (mOff >= 0 && mRows < 1)) return fail(env, "maskedSoftmax: bad shape"), NULL;
  const float *s = heap_f32(&a, sOff, rows * S);
  const float *mask = mOff >= 0 ? heap_f32(&a, mOff, mRows * S) : NULL;
  float *p = heap_f32(&a, pOff, rows * S);
  if (!a.ok) return fail(env, "maskedSoftmax: operand outside the heap"), NULL;
  SoftmaxJob j = {s, mask, p, NULL, S, mRows, scale};
  parallel_range(masked_softmax_range, &j, rows, 12 * S);
  return NULL;
}

/* softmaxGrad(heap, pOff, dpOff, dsOff, rows, S, scale): ds = scale·p ⊙ (dp − Σ_j dp ⊙ p), per row. */
static napi_value SoftmaxGrad(napi_env env, napi_callback_info info) {
  Args a;
  if (!read_args(env, info, &a, 7)) return NULL;
  int64_t pOff = arg_i(&a, 1), dpOff = arg_i(&a, 2), dsOff = arg_i(&a, 3), rows = arg_i(&a, 4), S = arg_i(&a, 5);
  float scale = (float)arg_d(&a, 6);
  if (!a.ok || rows < 1 || S < 1) return fail(env, "softmaxGrad: bad shape"), NULL;
  const float *p = heap_f32(&a, pOff, rows * S), *dp = heap_f32(&a, dpOff, rows * S);
  float *ds = heap_f32(&a, dsOff, rows * S);
  if (!a.ok) return fail(env, "softmaxGrad: operand outside the heap"), NULL;
  SoftmaxJob j = {p, NULL, ds, dp, S, 0, scale};
  parallel_range(softmax_grad_range, &j, rows, 4 * S);
  return NULL;
}

/*
 * tokenLogProb(heap, logitsOff, targetsOff, lpOff, lseOff, rows, V): per row, lse = log Σ_j e^{logit_j}
 * (max-shifted) and lp = logit[target] − lse; targets outside [0, V) give lp = 0 (as a zero one-hot).
 */
static napi_value TokenLogProb(napi_env env, napi_callback_info info) {
  Args a;
  if (!read_args(env, info, &a, 7)) return NULL;
  int64_t lOff = arg_i(&a, 1), tOff = arg_i(&a, 2), lpOff = arg_i(&a, 3), lseOff = arg_i(&a, 4), rows = arg_i(&a, 5), V = arg_i(&a, 6);
  if (!a.ok || rows < 1 || V < 1) return fail(env, "tokenLogProb: bad shape"), NULL;
  const float *logits = heap_f32(&a, lOff, rows * V);
  const int32_t *targets = (const int32_t *)heap_f32(&a, tOff, rows);
  float *lp = heap_f32(&a, lpOff, rows), *lse = heap_f32(&a, lseOff, rows);
  if (!a.ok) return fail(env, "tokenLogProb: operand outside the heap"), NULL;
  for (int64_t r = 0; r < rows; r++) {
    const float *lr = logits + r * V;
    float mx = -INFINITY;
    for (int64_t j = 0; j < V; j++) mx = lr[j] > mx ? lr[j] : mx;
    float sum = 0.f;
    for (int64_t j = 0; j < V; j++) sum += exp_poly(lr[j] - mx);
    float l = mx + logf(sum);
    lse[r] = l;
    int32_t t = targets[r];
    lp[r] = t >= 0 && t < V ? (lr[t] - mx) - logf(sum) : 0.f;
  }
  return NULL;
}

/* tokenLogProbGrad(heap, logitsOff, targetsOff, lseOff, dyOff, dlOff, rows, V): dlogits = dy·(onehot − softmax). */
static napi_value TokenLogProbGrad(napi_env env, napi_callback_info info) {
  Args a;
  if (!read_args(env, info, &a, 8)) return NULL;
  int64_t lOff = arg_i(&a, 1), tOff = arg_i(&a, 2), lseOff = arg_i(&a, 3), dyOff = arg_i(&a, 4), dlOff = arg_i(&a, 5), rows = arg_i(&a, 6), V = arg_i(&a, 7);
  if (!a.ok || rows < 1 || V < 1) return fail(env, "tokenLogProbGrad: bad shape"), NULL;
  const float *logits = heap_f32(&a, lOff, rows * V), *lse = heap_f32(&a, lseOff, rows), *dy = heap_f32(&a, dyOff, rows);
  const int32_t *targets = (const int32_t *)heap_f32(&a, tOff, rows);
  float *dl = heap_f32(&a, dlOff, rows * V);
  if (!a.ok) return fail(env, "tokenLogProbGrad: operand outside the heap"), NULL;
  for (int64_t r = 0; r < rows; r++) {
    const float *lr = logits + r * V;
    float *dr = dl + r * V;
    int32_t t = targets[r];
    if (t < 0 || t >= V) {
      memset(dr, 0, (size_t)V * sizeof(float));
      continue;
    }
    float g = dy[r], l = lse[r];
    for (int64_t j = 0; j < V; j++) dr[j] = -(g * exp_poly(lr[j] - l));
    dr[t] += g;
  }
  return NULL;
}

/* ---- Data movement: transpose, split, concat, gather, segment sum (float32 / 4-byte elements). ---- */

/*
 * transpose(heap, xOff, yOff, rank, ...shape, ...perm): y = x permuted (rank ≤ 8, 4-byte
 * elements); when the last axis stays last, rows of it are copied with memcpy.
 */
static napi_value Transpose(napi_env env, napi_callback_info info) {
  Args a;
  if (!read_args(env, info, &a, 4)) return NULL;
  int64_t xOff = arg_i(&a, 1), yOff = arg_i(&a, 2), rank = arg_i(&a, 3);
  if (!a.ok || rank < 1 || rank > 8 || a.argc < (size_t)(4 + 2 * rank)) return fail(env, "transpose: bad rank"), NULL;
  int64_t shape[8], perm[8], xs[8], n = 1;
  for (int64_t i = 0; i < rank; i++) shape[i] = arg_i(&a, 4 + i), perm[i] = arg_i(&a, 4 + rank + i);
  for (int64_t i = rank - 1; i >= 0; i--) xs[i] = n, n *= shape[i];
  if (!a.ok || n < 1) return fail(env, "transpose: bad shape"), NULL;
  const float *x = heap_f32(&a, xOff, n);
  float *y = heap_f32(&a, yOff, n);
  if (!a.ok) return fail(env, "transpose: operand outside the heap"), NULL;
  int64_t os[8], st[8], idx[8] = {0};
  for (int64_t i = 0; i < rank; i++) os[i] = shape[perm[i]], st[i] = xs[perm[i]];
  int64_t inner = perm[rank - 1] == rank - 1 ? os[rank - 1] : 1;
  int64_t outer_rank = inner > 1 ? rank - 1 : rank;
  int64_t src = 0;
  for (int64_t o = 0; o < n; o += inner) {
    if (inner > 1) memcpy(y + o, x + src, (size_t)inner * sizeof(float));
    else y[o] = x[src];
    for (int64_t k = outer_rank - 1; k >= 0; k--) {
      if (++idx[k] < os[k]) {
        src += st[k];
        break;
      }
      src -= st[k] * (os[k] - 1);
      idx[k] = 0;
    }
  }
  return NULL;
}

/*
 * splitRows(heap, xOff, outer, rowLen, count, ...partLen, ...outOff): x viewed as [outer, rowLen]
 * is cut along its columns into parts [outer, partLen_i] (Σ partLen = rowLen). Also concat's
 * inverse: see concatRows.
 */
static napi_value SplitRows(napi_env env, napi_callback_info info) {
  Args a;
  if (!read_args(env, info, &a, 5)) return NULL;
  int64_t xOff = arg_i(&a, 1), outer = arg_i(&a, 2), rowLen = arg_i(&a, 3), count = arg_i(&a, 4);
  if (!a.ok || outer < 1 || rowLen < 1 || count < 1 || count > 9 || a.argc < (size_t)(5 + 2 * count)) return fail(env, "splitRows: bad arguments"), NULL;
  const float *x = heap_f32(&a, xOff, outer * rowLen);
  float *outs[9];
  int64_t lens[9], tot = 0;
  for (int64_t i = 0; i < count; i++) {
    lens[i] = arg_i(&a, 5 + i);
    tot += lens[i];
    outs[i] = heap_f32(&a, arg_i(&a, 5 + count + i), outer * lens[i]);
  }
  if (!a.ok || tot != rowLen) return fail(env, "splitRows: bad parts"), NULL;
  for (int64_t r = 0; r < outer; r++) {
    const float *xr = x + r * rowLen;
    for (int64_t i = 0; i < count; i++) {
      memcpy(outs[i] + r * lens[i], xr, (size_t)lens[i] * sizeof(float));
      xr += lens[i];
    }
  }
  return NULL;
}

/* concatRows(heap, yOff, outer, rowLen, count, ...partLen, ...inOff): the inverse of splitRows. */
static napi_value ConcatRows(napi_env env, napi_callback_info info) {
  Args a;
  if (!read_args(env, info, &a, 5)) return NULL;
  int64_t yOff = arg_i(&a, 1), outer = arg_i(&a, 2), rowLen = arg_i(&a, 3), count = arg_i(&a, 4);
  if (!a.ok || outer < 1 || rowLen < 1 || count < 1 || count > 9 || a.argc < (size_t)(5 + 2 * count)) return fail(env, "concatRows: bad arguments"), NULL;
  float *y = heap_f32(&a, yOff, outer * rowLen);
  const float *ins[9];
  int64_t lens[9], tot = 0;
  for (int64_t i = 0; i < count; i++) {
    lens[i] = arg_i(&a, 5 + i);
    tot += lens[i];
    ins[i] = heap_f32(&a, arg_i(&a, 5 + count + i), outer * lens[i]);
  }
  if (!a.ok || tot != rowLen) return fail(env, "concatRows: bad parts"), NULL;
  for (int64_t r = 0; r < outer; r++) {
    float *yr = y + r * rowLen;
    for (int64_t i = 0; i < count; i++) {
      memcpy(yr, ins[i] + r * lens[i], (size_t)lens[i] * sizeof(float));
      yr += lens[i];
    }
  }
  return NULL;
}

/*
 * gatherRows(heap, xOff, idxOff, yOff, outer, dim, inner, nIdx): x [outer, dim, inner] (4-byte
 * elements), indices int32 [nIdx] in [0, dim) (checked by the caller) → y [outer, nIdx, inner].
 */
static napi_value GatherRows(napi_env env, napi_callback_info info) {
  Args a;
  if (!read_args(env, info, &a, 8)) return NULL;
  int64_t xOff = arg_i(&a, 1), iOff = arg_i(&a, 2), yOff = arg_i(&a, 3), outer = arg_i(&a, 4), dim = arg_i(&a, 5), inner = arg_i(&a, 6), nIdx = arg_i(&a, 7);
  if (!a.ok || outer < 1 || dim < 1 || inner < 1 || nIdx < 1) return fail(env, "gatherRows: bad shape"), NULL;
  const float *x = heap_f32(&a, xOff, outer * dim * inner);
  const int32_t *idx = (const int32_t *)heap_f32(&a, iOff, nIdx);
  float *y = heap_f32(&a, yOff, outer * nIdx * inner);
  if (!a.ok) return fail(env, "gatherRows: operand outside the heap"), NULL;
  for (int64_t i = 0; i < nIdx; i++) if (idx[i] < 0 || idx[i] >= dim) return fail(env, "gatherRows: index out of range"), NULL;
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < nIdx; i++) memcpy(y + (o * nIdx + i) * inner, x + (o * dim + idx[i]) * inner, (size_t)inner * sizeof(float));
  return NULL;
}

/*
 * segmentSum(heap, xOff, idsOff, yOff, n, inner, numSegments): y[s, :] = Σ_{i: ids[i] = s} x[i, :]
 * (float32, i in order); ids outside [0, numSegments) are dropped.
 */
static napi_value SegmentSum(napi_env env, napi_callback_info info) {
  Args a;
  if (!read_args(env, info, &a, 7)) return NULL;
  int64_t xOff = arg_i(&a, 1), iOff = arg_i(&a, 2), yOff = arg_i(&a, 3), n = arg_i(&a, 4), inner = arg_i(&a, 5), segs = arg_i(&a, 6);
  if (!a.ok || n < 1 || inner < 1 || segs < 1) return fail(env, "segmentSum: bad shape"), NULL;
  const float *x = heap_f32(&a, xOff, n * inner);
  const int32_t *ids = (const int32_t *)heap_f32(&a, iOff, n);
  float *y = heap_f32(&a, yOff, segs * inner);
  if (!a.ok) return fail(env, "segmentSum: operand outside the heap"), NULL;
  memset(y, 0, (size_t)(segs * inner) * sizeof(float));
  for (int64_t i = 0; i < n; i++) {
    int32_t s = ids[i];
    if (s < 0 || s >= segs) continue;
    float *yr = y + s * inner;
    const float *xr = x + i * inner;
    for (int64_t j = 0; j < inner; j++) yr[j] += xr[j];
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
  pthread_rwlock_rdlock(&blas_mode);
  if (is_pointwise(&g)) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(g.B * P), (int)g.CO, (int)Kd, 1.f, x, (int)Kd, w,
                (int)g.CO, 0.f, y, (int)g.CO);
  } else {
    int64_t nb = chunk_images(&g);
    float *col = scratch_f32((size_t)(nb * P * Kd));
    if (!col) return pthread_rwlock_unlock(&blas_mode), fail(env, "conv2d: out of memory"), NULL;
    for (int64_t b0 = 0; b0 < g.B; b0 += nb) {
      int64_t n = g.B - b0 < nb ? g.B - b0 : nb;
      im2col(x, col, &g, b0, n);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(n * P), (int)g.CO, (int)Kd, 1.f, col, (int)Kd, w,
                  (int)g.CO, 0.f, y + b0 * P * g.CO, (int)g.CO);
    }
  }
  pthread_rwlock_unlock(&blas_mode);
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
  pthread_rwlock_rdlock(&blas_mode);
  if (is_pointwise(&g)) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(g.B * P), (int)Kd, (int)g.CO, 1.f, dy, (int)g.CO, w,
                (int)g.CO, 0.f, dx, (int)Kd);
    pthread_rwlock_unlock(&blas_mode);
    return NULL;
  }
  memset(dx, 0, (size_t)(g.B * g.H * g.W * g.CI) * sizeof(float));
  int64_t nb = chunk_images(&g);
  float *col = scratch_f32((size_t)(nb * P * Kd));
  if (!col) return pthread_rwlock_unlock(&blas_mode), fail(env, "conv2dBackpropInput: out of memory"), NULL;
  for (int64_t b0 = 0; b0 < g.B; b0 += nb) {
    int64_t n = g.B - b0 < nb ? g.B - b0 : nb;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(n * P), (int)Kd, (int)g.CO, 1.f, dy + b0 * P * g.CO,
                (int)g.CO, w, (int)g.CO, 0.f, col, (int)Kd);
    col2im(col, dx, &g, b0, n);
  }
  pthread_rwlock_unlock(&blas_mode);
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
  pthread_rwlock_rdlock(&blas_mode);
  if (is_pointwise(&g)) {
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)Kd, (int)g.CO, (int)(g.B * P), 1.f, x, (int)Kd, dy,
                (int)g.CO, 0.f, dw, (int)g.CO);
    pthread_rwlock_unlock(&blas_mode);
    return NULL;
  }
  int64_t nb = chunk_images(&g);
  float *col = scratch_f32((size_t)(nb * P * Kd));
  if (!col) return pthread_rwlock_unlock(&blas_mode), fail(env, "conv2dBackpropFilter: out of memory"), NULL;
  for (int64_t b0 = 0; b0 < g.B; b0 += nb) {
    int64_t n = g.B - b0 < nb ? g.B - b0 : nb;
    im2col(x, col, &g, b0, n);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)Kd, (int)g.CO, (int)(n * P), 1.f, col, (int)Kd,
                dy + b0 * P * g.CO, (int)g.CO, b0 == 0 ? 0.f : 1.f, dw, (int)g.CO);
  }
  pthread_rwlock_unlock(&blas_mode);
  return NULL;
}

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
  pthread_rwlock_wrlock(&blas_mode);
  if (atomic_compare_exchange_strong(&configured_threads, &expected, n)) openblas_set_num_threads(n);
  pthread_rwlock_unlock(&blas_mode);
  napi_value v;
  napi_create_int32(env, openblas_get_num_threads(), &v);
  return v;
}

/* setThreads(n): OpenBLAS worker threads for later calls (process-wide). */
static napi_value SetThreads(napi_env env, napi_callback_info info) {
  int32_t n = thread_arg(env, info);
  if (!n) return NULL;
  pthread_rwlock_wrlock(&blas_mode);
  atomic_store(&configured_threads, n);
  openblas_set_num_threads(n);
  pthread_rwlock_unlock(&blas_mode);
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
      {"gelu", NULL, Gelu, NULL, NULL, NULL, napi_default, NULL},
      {"geluGrad", NULL, GeluGrad, NULL, NULL, NULL, napi_default, NULL},
      {"layerNorm", NULL, LayerNorm, NULL, NULL, NULL, napi_default, NULL},
      {"layerNormGrad", NULL, LayerNormGrad, NULL, NULL, NULL, napi_default, NULL},
      {"maskedSoftmax", NULL, MaskedSoftmax, NULL, NULL, NULL, napi_default, NULL},
      {"softmaxGrad", NULL, SoftmaxGrad, NULL, NULL, NULL, napi_default, NULL},
      {"tokenLogProb", NULL, TokenLogProb, NULL, NULL, NULL, napi_default, NULL},
      {"tokenLogProbGrad", NULL, TokenLogProbGrad, NULL, NULL, NULL, napi_default, NULL},
      {"transpose", NULL, Transpose, NULL, NULL, NULL, napi_default, NULL},
      {"splitRows", NULL, SplitRows, NULL, NULL, NULL, napi_default, NULL},
      {"concatRows", NULL, ConcatRows, NULL, NULL, NULL, napi_default, NULL},
      {"gatherRows", NULL, GatherRows, NULL, NULL, NULL, napi_default, NULL},
      {"segmentSum", NULL, SegmentSum, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

NAPI_MODULE_INIT() { return Init(env, exports); }
