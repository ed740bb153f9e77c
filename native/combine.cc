// The ATC step over a sparse combination matrix in one pass (recursion.ts, neighbourStepAll):
//
//   ψ_k = (−μ) g_k + b_k,    w_k = a_kk ψ_k + Σ_runs c ψ_{k+s}
//
// for every agent k of every replica, over [R, K, M] tensors, in blocks of columns whose K rows of ψ
// and of w stay in L2: b and g are read once and w written once, where the TypeScript path makes one
// pass over all K·M numbers for −μ g, one for + b, one for a_kk ψ_k and one per run (a ring: 7).
//
// The numbers are the TypeScript path's (g.mul(−μ).add_(b), then W.mul(diagonal) and add_(W_run, c)
// per run, in the plan's order), to the bit: μ, a_kk and c are rounded to the dtype as libtorch rounds
// a scalar; −μ g and its sum with b are rounded separately (this file is compiled without contracting
// a·b + c into a fused multiply-add, GCC's default); each run's w + c ψ is rounded once or twice as
// libtorch's add_(x, alpha) does it. That one computes w + alpha·x with vec::fmadd: one rounding where
// libtorch runs its AVX2 or AVX-512 kernels (this machine, an AMD EPYC with AVX-512: one rounding, in
// the vectorized loop and in the scalar one for the last elements), two in its baseline kernels.
// fusesAlpha() asks libtorch once; test/mixer-fused.test.ts compares the bits.
#include "tensor.h"

#include <ATen/TensorIterator.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3", "fp-contract=off")
#endif
#if defined(__clang__)
#pragma clang fp contract(off)
#endif

namespace flatdist {

namespace {

// One rounding of a·b + c in T (__builtin_fma alone would round a float's twice, through double).
inline float fused(float a, float b, float c) { return __builtin_fmaf(a, b, c); }
inline double fused(double a, double b, double c) { return __builtin_fma(a, b, c); }

struct Run {
  int64_t from, to, length;
  double weight;
};

// A neighbour plan (recursion.ts, NeighbourPlan) read from its plain JavaScript form.
struct Plan {
  std::vector<double> diagonal;
  std::vector<Run> runs;
};

// One block of columns: n numbers of each of the K rows (row stride M) of b and g; ψ and then w into
// psi and acc, K·n each, in L2.
template <typename T, bool Fused>
inline __attribute__((always_inline)) void blockStep(const T* __restrict b, const T* __restrict g,
                                                     T* __restrict acc, T* __restrict psi, int64_t K, int64_t M,
                                                     int64_t n, T negMu, const T* __restrict diagonal,
                                                     const Run* runs, size_t nRuns, const T* __restrict weights) {
  // The block's b and g rows two agents ahead are fetched while this one is computed: each row's block is
  // a short run of memory (2 KB) that the hardware prefetcher barely starts on (measured: 10 → 9 ms, K = 64).
  const int64_t line = 64 / sizeof(T), ahead = 2;
  for (int64_t k = 0; k < K; ++k) {
    const T* bk = b + k * M;
    const T* gk = g + k * M;
    T* pk = psi + k * n;
    if (k + ahead < K)
      for (int64_t i = 0; i < n; i += line) {
        __builtin_prefetch(bk + ahead * M + i);
        __builtin_prefetch(gk + ahead * M + i);
      }
    for (int64_t i = 0; i < n; ++i) {
      T step = negMu * gk[i];
      pk[i] = step + bk[i];
    }
  }
  for (int64_t k = 0; k < K; ++k) {
    const T d = diagonal[k];
    const T* pk = psi + k * n;
    T* wk = acc + k * n;
    for (int64_t i = 0; i < n; ++i) wk[i] = d * pk[i];
  }
  for (size_t r = 0; r < nRuns; ++r) {
    const T c = weights[r];
    for (int64_t j = 0; j < runs[r].length; ++j) {
      const T* pk = psi + (runs[r].from + j) * n;
      T* wk = acc + (runs[r].to + j) * n;
      if (Fused) {
        for (int64_t i = 0; i < n; ++i) wk[i] = fused(c, pk[i], wk[i]);
      } else {
        for (int64_t i = 0; i < n; ++i) {
          T term = c * pk[i];
          wk[i] = wk[i] + term;
        }
      }
    }
  }
}

template <typename T, bool Fused>
void blockStepBase(const T* b, const T* g, T* w, T* psi, T* acc, int64_t K, int64_t M, int64_t n, T negMu,
                   const T* diagonal, const Run* runs, size_t nRuns, const T* weights) {
  blockStep<T, Fused>(b, g, acc, psi, K, M, n, negMu, diagonal, runs, nRuns, weights);
  for (int64_t k = 0; k < K; ++k) std::memcpy(w + k * M, acc + k * n, n * sizeof(T));
}

#if defined(__x86_64__) && defined(__GNUC__)
// The same loops compiled for AVX2 and FMA, chosen at run time (the addon is built for the baseline
// x86-64); w written with streaming stores, which skip reading its lines into the cache first.
template <typename T, bool Fused>
__attribute__((target("avx2,fma"))) void blockStepAvx2(const T* b, const T* g, T* w, T* psi, T* acc, int64_t K,
                                                       int64_t M, int64_t n, T negMu, const T* diagonal,
                                                       const Run* runs, size_t nRuns, const T* weights) {
  blockStep<T, Fused>(b, g, acc, psi, K, M, n, negMu, diagonal, runs, nRuns, weights);
  for (int64_t k = 0; k < K; ++k) {
    T* to = w + k * M;
    const T* from = acc + k * n;
    int64_t i = 0;
    for (; i < n && (reinterpret_cast<uintptr_t>(to + i) & 31) != 0; ++i) to[i] = from[i];
    for (; i + int64_t(32 / sizeof(T)) <= n; i += 32 / sizeof(T))
      _mm256_stream_si256(reinterpret_cast<__m256i*>(to + i), _mm256_loadu_si256(reinterpret_cast<const __m256i*>(from + i)));
    for (; i < n; ++i) to[i] = from[i];
  }
}
const bool hasAvx2 = (__builtin_cpu_init(), __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"));
#endif

// Whether libtorch's add_(x, alpha) rounds alpha·x + y once (true) or twice (false), asked once on
// numbers where the two differ; nullopt where its vectorized and scalar loops disagree (then no single
// rounding reproduces it and the caller keeps the unfused path).
template <typename T>
std::optional<bool> fusesAlpha() {
  static const std::optional<bool> fused = []() -> std::optional<bool> {
    // c·c = 1 + 2^(1−h) + 2^(−2h) exactly, and 2^(−2h) is below half the unit in the last place at 1:
    // −1 + c·c keeps it rounded once and loses it rounded twice.
    const int h = std::numeric_limits<T>::digits / 2 + 1;
    const T c = T(1) + std::ldexp(T(1), -h);
    const auto opts = at::TensorOptions().dtype(c10::CppTypeToScalarType<T>::value);
    const auto once = [&](int64_t n) {
      at::Tensor y = at::full({n}, -1.0, opts);
      y.add_(at::full({n}, static_cast<double>(c), opts), static_cast<double>(c));
      return y[n - 1].item<double>() != std::ldexp(1.0, 1 - h);
    };
    const bool vectorized = once(1024), scalar = once(1);
    if (vectorized != scalar) return std::nullopt;
    return vectorized;
  }();
  return fused;
}

template <typename T>
void step(const at::Tensor& b, const at::Tensor& g, at::Tensor& w, double stepSize, const Plan& plan, bool fma) {
  const int64_t R = b.size(0), K = b.size(1), M = b.size(2);
  std::vector<T> diagonal(plan.diagonal.begin(), plan.diagonal.end());
  std::vector<T> weights;
  for (const Run& r : plan.runs) weights.push_back(static_cast<T>(r.weight));
  const T negMu = -static_cast<T>(stepSize);
  // Blocks of 2 KB per row: a block's K rows of ψ and of w, 4·K KB, stay in L2 (1 MB per core here) up to
  // K = 256, and each row's piece is long enough to stream. Measured, one thread, MLP (M = 203,530):
  // 512 floats per row 8.6 ms at K = 64, 38 ms at K = 256; 128 floats 49 ms at K = 256; 4096 floats 11
  // and 41 ms.
  const int64_t n = std::min<int64_t>(M, 2048 / sizeof(T));
  const int64_t blocks = (M + n - 1) / n;
  const T* bp = b.data_ptr<T>();
  const T* gp = g.data_ptr<T>();
  T* wp = w.data_ptr<T>();
  // The blocks go to libtorch's threads through an iterator over their indices: at::parallel_for's
  // OpenMP form is compiled into its caller, and this addon is built without OpenMP (its own pragma
  // would run on one thread, or on a second OpenMP runtime where libtorch brings its own libgomp).
  const at::Tensor index = at::arange(R * blocks, at::kLong);
  at::TensorIterator iter = at::TensorIteratorConfig().add_output(index).resize_outputs(false).check_all_same_dtype(false).build();
  iter.for_each(
      [&](char** data, const int64_t* strides, int64_t size0, int64_t size1) {
        std::vector<T> psi(static_cast<size_t>(K * n)), acc(static_cast<size_t>(K * n));
        for (int64_t j = 0; j < size1; ++j) {
          for (int64_t i = 0; i < size0; ++i) {
            const int64_t block = *reinterpret_cast<const int64_t*>(data[0] + j * strides[1] + i * strides[0]);
            const int64_t r = block / blocks, c0 = (block % blocks) * n, width = std::min(n, M - c0);
            const int64_t at = r * K * M + c0;
            auto kernel = fma ? blockStepBase<T, true> : blockStepBase<T, false>;
#if defined(__x86_64__) && defined(__GNUC__)
            if (hasAvx2) kernel = fma ? blockStepAvx2<T, true> : blockStepAvx2<T, false>;
#endif
            kernel(bp + at, gp + at, wp + at, psi.data(), acc.data(), K, M, width, negMu, diagonal.data(),
                   plan.runs.data(), plan.runs.size(), weights.data());
          }
        }
#if defined(__x86_64__)
        _mm_sfence();  // the streaming stores are seen by every thread before for_each returns
#endif
      },
      1);
}

int64_t intField(Napi::Env env, const Napi::Object& o, const char* name, int64_t low, int64_t high) {
  Napi::Value v = o.Get(name);
  double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
  if (!(d >= low && d <= high) || d != std::floor(d))
    throw Napi::RangeError::New(env, std::string("plan: a run's ") + name + " must be an integer in [" +
                                         std::to_string(low) + ", " + std::to_string(high) + "]");
  return static_cast<int64_t>(d);
}

Plan readPlan(Napi::Env env, const Napi::Value& v, int64_t K) {
  if (!v.IsObject()) throw Napi::TypeError::New(env, "argument 4 must be a neighbour plan { diagonal, runs }");
  Napi::Object o = v.As<Napi::Object>();
  Plan plan;
  Napi::Value d = o.Get("diagonal");
  if (d.IsNumber()) {
    plan.diagonal.assign(K, d.As<Napi::Number>().DoubleValue());
  } else if (d.IsArray() && d.As<Napi::Array>().Length() == static_cast<uint32_t>(K)) {
    Napi::Array a = d.As<Napi::Array>();
    for (uint32_t k = 0; k < a.Length(); ++k) {
      Napi::Value x = a.Get(k);
      if (!x.IsNumber()) throw Napi::TypeError::New(env, "plan: diagonal[" + std::to_string(k) + "] must be a number");
      plan.diagonal.push_back(x.As<Napi::Number>().DoubleValue());
    }
  } else {
    throw Napi::TypeError::New(env, "plan: diagonal must be a number or " + std::to_string(K) + " numbers");
  }
  Napi::Value rs = o.Get("runs");
  if (!rs.IsArray()) throw Napi::TypeError::New(env, "plan: runs must be an array");
  Napi::Array runs = rs.As<Napi::Array>();
  for (uint32_t i = 0; i < runs.Length(); ++i) {
    Napi::Value x = runs.Get(i);
    if (!x.IsObject()) throw Napi::TypeError::New(env, "plan: runs[" + std::to_string(i) + "] must be an object");
    Napi::Object r = x.As<Napi::Object>();
    Run run;
    run.length = intField(env, r, "length", 0, K);
    run.from = intField(env, r, "from", 0, K - run.length);
    run.to = intField(env, r, "to", 0, K - run.length);
    Napi::Value c = r.Get("weight");
    if (!c.IsNumber()) throw Napi::TypeError::New(env, "plan: runs[" + std::to_string(i) + "].weight must be a number");
    run.weight = c.As<Napi::Number>().DoubleValue();
    plan.runs.push_back(run);
  }
  return plan;
}

// neighbourStep(b, g, stepSize, plan): w = the plan's combination of ψ = (−μ) g + b, a new [R, K, M] tensor
// without autograd history; null where the kernel does not apply (b and g not both [R, K, M] float32 or
// float64 contiguous CPU tensors of one dtype, or either requires a gradient, or libtorch's add_ rounds
// in no single way) and the caller takes the unfused path.
Napi::Value neighbourStep(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const at::Tensor& b = argTensor(info, 0);
    const at::Tensor& g = argTensor(info, 1);
    const double stepSize = argNumber(info, 2);
    const bool applies = b.dim() == 3 && b.sizes().equals(g.sizes()) && b.scalar_type() == g.scalar_type() &&
                         (b.scalar_type() == at::kFloat || b.scalar_type() == at::kDouble) && b.device().is_cpu() &&
                         g.device().is_cpu() && b.is_contiguous() && g.is_contiguous() && !b.requires_grad() &&
                         !g.requires_grad();
    if (!applies) return info.Env().Null();
    const bool isFloat = b.scalar_type() == at::kFloat;
    const std::optional<bool> fma = isFloat ? fusesAlpha<float>() : fusesAlpha<double>();
    if (!fma) return info.Env().Null();
    const Plan plan = readPlan(info.Env(), info[3], b.size(1));
    at::Tensor w = at::empty(b.sizes(), b.options().requires_grad(false));
    if (isFloat)
      step<float>(b, g, w, stepSize, plan, *fma);
    else
      step<double>(b, g, w, stepSize, plan, *fma);
    return wrap(info.Env(), w);
  });
}

}  // namespace

void initCombine(Napi::Env env, Napi::Object exports) {
  exports.Set("neighbourStep", Napi::Function::New(env, neighbourStep, "neighbourStep"));
}

}  // namespace flatdist
