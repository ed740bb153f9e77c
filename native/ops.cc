// Tensor operations: creation, elementwise, linear algebra, neural-network
// primitives, reductions, shape manipulation and in-place updates. Each one is a
// thin call into ATen, argument checking libtorch's own; maxPool2x2Indices, a loop
// of its own, is the one exception.
#include "tensor.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace flatdist {

namespace {

using Info = const Napi::CallbackInfo&;
using Fn = Napi::Value (*)(Info);

void def(Napi::Env env, Napi::Object exports, const char* name, Fn f) {
  exports.Set(name, Napi::Function::New(env, f, name));
}

#define OP(...) [](Info info) -> Napi::Value { return guarded(info, [&]() -> Napi::Value { __VA_ARGS__ }); }

at::TensorOptions opts(Info info, size_t i) { return at::TensorOptions().dtype(argDtype(info, i)).device(defaultDevice()); }

// Second operand of a binary op: a tensor, or a JavaScript number as a scalar.
template <typename TT, typename TS>
Napi::Value binary(Info info, TT withTensor, TS withScalar) {
  const at::Tensor& a = argTensor(info, 0);
  if (isNumber(info, 1)) return wrap(info.Env(), withScalar(a, at::Scalar(argNumber(info, 1))));
  return wrap(info.Env(), withTensor(a, argTensor(info, 1)));
}

#define BINARY(f) OP(return binary(info, [](const at::Tensor& a, const at::Tensor& b) { return f(a, b); }, \
                                    [](const at::Tensor& a, const at::Scalar& s) { return f(a, s); });)
#define UNARY(f) OP(return wrap(info.Env(), f(argTensor(info, 0)));)

at::Tensor scalarLike(const at::Tensor& a, const at::Scalar& s) { return at::scalar_tensor(s, a.options().requires_grad(false)); }

at::Reduction::Reduction reduction(Info info, size_t i) {
  std::string r = i < info.Length() && info[i].IsString() ? argString(info, i) : "mean";
  if (r == "mean") return at::Reduction::Mean;
  if (r == "sum") return at::Reduction::Sum;
  if (r == "none") return at::Reduction::None;
  throw Napi::TypeError::New(info.Env(), "unknown reduction '" + r + "' (expected mean, sum or none)");
}

// Typed-array element type → dtype, and the bytes copied into a fresh tensor.
Napi::Value fromArray(Info info) {
  if (info.Length() < 1 || !info[0].IsTypedArray()) throw Napi::TypeError::New(info.Env(), "argument 1 must be a typed array");
  // The shape first: reading it may run JavaScript (array getters) that detaches the buffer.
  std::vector<int64_t> shape = argInts(info, 1);
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) throw Napi::RangeError::New(info.Env(), "shape has a negative dimension");
    if (__builtin_mul_overflow(n, d, &n)) throw Napi::RangeError::New(info.Env(), "shape holds more elements than an int64 counts");
  }
  // napi_get_typedarray_info, unlike ArrayBuffer::Data(), also reads SharedArrayBuffer views.
  napi_typedarray_type type;
  size_t length = 0;
  void* src = nullptr;
  if (napi_get_typedarray_info(info.Env(), info[0], &type, &length, &src, nullptr, nullptr) != napi_ok) {
    throw Napi::TypeError::New(info.Env(), "argument 1 must be a typed array");
  }
  if (n != static_cast<int64_t>(length)) {
    throw Napi::RangeError::New(info.Env(), "shape holds " + std::to_string(n) + " elements but the array has " + std::to_string(length));
  }
  at::ScalarType st;
  switch (type) {
    case napi_float32_array: st = at::kFloat; break;
    case napi_float64_array: st = at::kDouble; break;
    case napi_int32_array: st = at::kInt; break;
    case napi_bigint64_array: st = at::kLong; break;
    case napi_uint8_array: st = at::kByte; break;
    default: throw Napi::TypeError::New(info.Env(), "unsupported typed array (use Float32Array, Float64Array, Int32Array, BigInt64Array or Uint8Array)");
  }
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(st));
  if (n > 0) std::memcpy(t.data_ptr(), src, static_cast<size_t>(n) * t.element_size());
  // Int32Array stands for indices and labels: make it int64, libtorch's index type.
  if (st == at::kInt) t = t.to(at::kLong);
  if (st == at::kByte) t = t.to(at::kBool);
  return wrap(info.Env(), t.to(defaultDevice()));
}

Napi::Value toArray(Info info) {
  at::Tensor t = argTensor(info, 0).detach().cpu().contiguous();
  Napi::Env env = info.Env();
  size_t n = static_cast<size_t>(t.numel());
  auto copy = [&](auto arr, size_t bytes) {
    if (bytes > 0) std::memcpy(arr.Data(), t.data_ptr(), bytes);
    return arr;
  };
  switch (t.scalar_type()) {
    case at::kFloat: return copy(Napi::Float32Array::New(env, n), n * 4);
    case at::kDouble: return copy(Napi::Float64Array::New(env, n), n * 8);
    case at::kLong: return copy(Napi::BigInt64Array::New(env, n), n * 8);
    case at::kInt: return copy(Napi::Int32Array::New(env, n), n * 4);
    case at::kBool: case at::kByte: return copy(Napi::Uint8Array::New(env, n), n);
    default: throw Napi::TypeError::New(env, "cannot copy out a tensor of dtype " + dtypeName(t.scalar_type()));
  }
}

Napi::Value item(Info info) {
  const at::Tensor& t = argTensor(info, 0);
  TORCH_CHECK(t.numel() == 1, "item() needs a tensor with one element, got shape ", t.sizes());
  return Napi::Number::New(info.Env(), t.item().toDouble());
}

at::IntArrayRef dimsOrAll(const std::optional<std::vector<int64_t>>& dims) {
  return dims ? at::IntArrayRef(*dims) : at::IntArrayRef();
}

// 2×2 max pooling with stride 2: the position of each window's maximum as a flat index h·W + w into its
// H×W plane, the indices at::max_pool2d_with_indices returns. Its CPU kernel keeps an element when
// `v > max || isnan(v)`, scanning the window in row-major order: of equal maxima the first wins, a NaN
// beats every number, and of several NaNs the last wins; this loop keeps the same one. The values are
// then a gather at these indices (src/tensor/functional.ts), so autograd, double backward included,
// runs through gather. libtorch 1.13's generic pooling kernel takes ~24 ms on LeNet's first map
// [1024, 6, 28, 28] (K = 16, B = 64) on the 2-core machine; this loop 3–5 ms, about a relu's time.

// Whether b, later in the window than a, replaces it: at::max_pool2d_with_indices's test, as 0 or 1.
// Bitwise, not ||: no branch (on random data the outcome is a coin flip a branch would mispredict).
template <typename T>
inline int64_t later(T b, T a) {
  return static_cast<int64_t>((b > a) | (b != b));
}

// A tournament, the two row pairs and then their winners, keeps what the kernel's row-major scan keeps:
// a later element wins only if strictly greater or NaN, so the first maximum and the last NaN.
// Windows j0 ≤ j < Wo of the row pair r0, r1 = r0 + W; out[j] = the flat index minus `base`.
template <typename T>
void argmax2x2Scalar(const T* r0, int64_t W, int64_t base, int64_t j0, int64_t Wo, int64_t* out) {
  const T* r1 = r0 + W;
  for (int64_t j = j0; j < Wo; ++j) {
    const int64_t top = 2 * j + later(r0[2 * j + 1], r0[2 * j]);
    const int64_t bottom = 2 * j + later(r1[2 * j + 1], r1[2 * j]);
    out[j] = base + top + later(r1[bottom], r0[top]) * (W + bottom - top);
  }
}

// The same tournament on SSE2 lanes (every x86-64 has them), 4 float or 2 double windows a step:
// cmpgt is `>` (false with a NaN), cmpunord(v, v) is isnan(v), and the selects are bitwise.
template <typename T>
int64_t argmax2x2Vector(const T* r0, int64_t W, int64_t base, int64_t Wo, int64_t* out);
#if defined(__SSE2__)
template <>
int64_t argmax2x2Vector(const float* r0, int64_t W, int64_t base, int64_t Wo, int64_t* out) {
  const float* r1 = r0 + W;
  const __m128i one = _mm_set1_epi32(1), w = _mm_set1_epi32(static_cast<int32_t>(W)), zero = _mm_setzero_si128();
  const __m128i lanes = _mm_setr_epi32(0, 2, 4, 6);
  int64_t j = 0;
  for (; j + 4 <= Wo; j += 4) {
    const __m128 p0 = _mm_loadu_ps(r0 + 2 * j), q0 = _mm_loadu_ps(r0 + 2 * j + 4);
    const __m128 p1 = _mm_loadu_ps(r1 + 2 * j), q1 = _mm_loadu_ps(r1 + 2 * j + 4);
    const __m128 a = _mm_shuffle_ps(p0, q0, _MM_SHUFFLE(2, 0, 2, 0)), b = _mm_shuffle_ps(p0, q0, _MM_SHUFFLE(3, 1, 3, 1));
    const __m128 c = _mm_shuffle_ps(p1, q1, _MM_SHUFFLE(2, 0, 2, 0)), d = _mm_shuffle_ps(p1, q1, _MM_SHUFFLE(3, 1, 3, 1));
    const __m128 top = _mm_or_ps(_mm_cmpgt_ps(b, a), _mm_cmpunord_ps(b, b));
    const __m128 bottom = _mm_or_ps(_mm_cmpgt_ps(d, c), _mm_cmpunord_ps(d, d));
    const __m128 m0 = _mm_or_ps(_mm_and_ps(top, b), _mm_andnot_ps(top, a));
    const __m128 m1 = _mm_or_ps(_mm_and_ps(bottom, d), _mm_andnot_ps(bottom, c));
    const __m128i down = _mm_castps_si128(_mm_or_ps(_mm_cmpgt_ps(m1, m0), _mm_cmpunord_ps(m1, m1)));
    const __m128i kTop = _mm_and_si128(_mm_castps_si128(top), one);
    const __m128i kBottom = _mm_add_epi32(w, _mm_and_si128(_mm_castps_si128(bottom), one));
    const __m128i k = _mm_add_epi32(lanes, _mm_or_si128(_mm_and_si128(down, kBottom), _mm_andnot_si128(down, kTop)));
    const __m128i offset = _mm_set1_epi64x(base + 2 * j);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + j), _mm_add_epi64(offset, _mm_unpacklo_epi32(k, zero)));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + j + 2), _mm_add_epi64(offset, _mm_unpackhi_epi32(k, zero)));
  }
  return j;
}
template <>
int64_t argmax2x2Vector(const double* r0, int64_t W, int64_t base, int64_t Wo, int64_t* out) {
  const double* r1 = r0 + W;
  const __m128i one = _mm_set1_epi64x(1), w = _mm_set1_epi64x(W), lanes = _mm_set_epi64x(2, 0);
  int64_t j = 0;
  for (; j + 2 <= Wo; j += 2) {
    const __m128d p0 = _mm_loadu_pd(r0 + 2 * j), q0 = _mm_loadu_pd(r0 + 2 * j + 2);
    const __m128d p1 = _mm_loadu_pd(r1 + 2 * j), q1 = _mm_loadu_pd(r1 + 2 * j + 2);
    const __m128d a = _mm_shuffle_pd(p0, q0, 0), b = _mm_shuffle_pd(p0, q0, 3);
    const __m128d c = _mm_shuffle_pd(p1, q1, 0), d = _mm_shuffle_pd(p1, q1, 3);
    const __m128d top = _mm_or_pd(_mm_cmpgt_pd(b, a), _mm_cmpunord_pd(b, b));
    const __m128d bottom = _mm_or_pd(_mm_cmpgt_pd(d, c), _mm_cmpunord_pd(d, d));
    const __m128d m0 = _mm_or_pd(_mm_and_pd(top, b), _mm_andnot_pd(top, a));
    const __m128d m1 = _mm_or_pd(_mm_and_pd(bottom, d), _mm_andnot_pd(bottom, c));
    const __m128i down = _mm_castpd_si128(_mm_or_pd(_mm_cmpgt_pd(m1, m0), _mm_cmpunord_pd(m1, m1)));
    const __m128i kTop = _mm_and_si128(_mm_castpd_si128(top), one);
    const __m128i kBottom = _mm_add_epi64(w, _mm_and_si128(_mm_castpd_si128(bottom), one));
    const __m128i k = _mm_add_epi64(lanes, _mm_or_si128(_mm_and_si128(down, kBottom), _mm_andnot_si128(down, kTop)));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + j), _mm_add_epi64(_mm_set1_epi64x(base + 2 * j), k));
  }
  return j;
}
#else
template <typename T>
int64_t argmax2x2Vector(const T*, int64_t, int64_t, int64_t, int64_t*) {
  return 0;
}
#endif

template <typename T>
void argmax2x2(const T* x, int64_t* out, int64_t planes, int64_t H, int64_t W) {
  const int64_t Ho = H / 2, Wo = W / 2;
  const int64_t grain = std::max<int64_t>(1, 32768 / (H * W));
  at::parallel_for(0, planes, grain, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      for (int64_t i = 0; i < Ho; ++i) {
        const T* r0 = x + p * H * W + 2 * i * W;
        int64_t* o = out + (p * Ho + i) * Wo;
        argmax2x2Scalar(r0, W, 2 * i * W, argmax2x2Vector(r0, W, 2 * i * W, Wo, o), Wo, o);
      }
    }
  });
}

// x: float32 or float64, CPU, contiguous [..., H, W] with H, W ≥ 2 → int64 [..., ⌊H/2⌋, ⌊W/2⌋]
// (odd sizes drop the last row or column, as at::max_pool2d does).
Napi::Value maxPool2x2Indices(Info info) {
  const at::Tensor& x = argTensor(info, 0);
  TORCH_CHECK(x.device().is_cpu() && x.is_contiguous() && x.dim() >= 2,
              "maxPool2x2Indices needs a contiguous CPU tensor [..., H, W], got ", x.sizes(), " on ", x.device());
  const int64_t H = x.size(-2), W = x.size(-1);
  TORCH_CHECK(H >= 2 && W >= 2, "maxPool2x2Indices needs H, W >= 2, got ", x.sizes());
  std::vector<int64_t> shape(x.sizes().begin(), x.sizes().end() - 2);
  shape.push_back(H / 2);
  shape.push_back(W / 2);
  at::Tensor out = at::empty(shape, at::TensorOptions().dtype(at::kLong));
  const int64_t planes = x.numel() / (H * W);
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "maxPool2x2Indices", [&] {
    argmax2x2(x.data_ptr<scalar_t>(), out.data_ptr<int64_t>(), planes, H, W);
  });
  return wrap(info.Env(), out);
}

}  // namespace

void initOps(Napi::Env env, Napi::Object e) {
  // Creation.
  def(env, e, "zeros", OP(return wrap(info.Env(), at::zeros(argInts(info, 0), opts(info, 1)));));
  def(env, e, "ones", OP(return wrap(info.Env(), at::ones(argInts(info, 0), opts(info, 1)));));
  def(env, e, "full", OP(return wrap(info.Env(), at::full(argInts(info, 0), argNumber(info, 1), opts(info, 2)));));
  def(env, e, "arange", OP(return wrap(info.Env(), at::arange(argNumber(info, 0), argNumber(info, 1), argNumber(info, 2), opts(info, 3)));));
  def(env, e, "eye", OP(return wrap(info.Env(), at::eye(argInt(info, 0), opts(info, 1)));));
  def(env, e, "fromArray", OP(return fromArray(info);));
  def(env, e, "toArray", OP(return toArray(info);));
  def(env, e, "item", OP(return item(info);));

  // Elementwise, with broadcasting.
  def(env, e, "add", BINARY(at::add));
  def(env, e, "sub", BINARY(at::sub));
  def(env, e, "mul", BINARY(at::mul));
  def(env, e, "div", BINARY(at::div));
  def(env, e, "pow", BINARY(at::pow));
  def(env, e, "eq", BINARY(at::eq));
  def(env, e, "ne", BINARY(at::ne));
  def(env, e, "lt", BINARY(at::lt));
  def(env, e, "le", BINARY(at::le));
  def(env, e, "gt", BINARY(at::gt));
  def(env, e, "ge", BINARY(at::ge));
  def(env, e, "maximum", OP(return binary(info, [](const at::Tensor& a, const at::Tensor& b) { return at::maximum(a, b); },
                                          [](const at::Tensor& a, const at::Scalar& s) { return at::maximum(a, scalarLike(a, s)); });));
  def(env, e, "minimum", OP(return binary(info, [](const at::Tensor& a, const at::Tensor& b) { return at::minimum(a, b); },
                                          [](const at::Tensor& a, const at::Scalar& s) { return at::minimum(a, scalarLike(a, s)); });));
  def(env, e, "logicalAnd", OP(return wrap(info.Env(), at::logical_and(argTensor(info, 0), argTensor(info, 1)));));
  def(env, e, "logicalOr", OP(return wrap(info.Env(), at::logical_or(argTensor(info, 0), argTensor(info, 1)));));
  def(env, e, "logicalNot", UNARY(at::logical_not));
  def(env, e, "neg", UNARY(at::neg));
  def(env, e, "exp", UNARY(at::exp));
  def(env, e, "log", UNARY(at::log));
  def(env, e, "sqrt", UNARY(at::sqrt));
  def(env, e, "abs", UNARY(at::abs));
  def(env, e, "sign", UNARY(at::sign));
  def(env, e, "square", UNARY(at::square));
  def(env, e, "sin", UNARY(at::sin));
  def(env, e, "cos", UNARY(at::cos));
  def(env, e, "isfinite", UNARY(at::isfinite));
  def(env, e, "where", OP(return wrap(info.Env(), at::where(argTensor(info, 0), argTensor(info, 1), argTensor(info, 2)));));
  def(env, e, "clamp", OP({
        auto lo = argOptNumber(info, 1);
        auto hi = argOptNumber(info, 2);
        return wrap(info.Env(), at::clamp(argTensor(info, 0), lo ? c10::optional<at::Scalar>(*lo) : c10::nullopt,
                                          hi ? c10::optional<at::Scalar>(*hi) : c10::nullopt));
      }));

  // Neural-network primitives.
  def(env, e, "relu", UNARY(at::relu));
  def(env, e, "tanh", UNARY(at::tanh));
  def(env, e, "sigmoid", UNARY(at::sigmoid));
  def(env, e, "gelu", UNARY(at::gelu));
  def(env, e, "softplus", UNARY(at::softplus));
  def(env, e, "logSoftmax", OP(return wrap(info.Env(), at::log_softmax(argTensor(info, 0), argInt(info, 1)));));
  def(env, e, "softmax", OP(return wrap(info.Env(), at::softmax(argTensor(info, 0), argInt(info, 1)));));
  def(env, e, "crossEntropy", OP(return wrap(info.Env(), at::cross_entropy_loss(argTensor(info, 0), argTensor(info, 1), {}, reduction(info, 2)));));
  def(env, e, "nllLoss", OP(return wrap(info.Env(), at::nll_loss(argTensor(info, 0), argTensor(info, 1), {}, reduction(info, 2)));));
  def(env, e, "mseLoss", OP(return wrap(info.Env(), at::mse_loss(argTensor(info, 0), argTensor(info, 1), reduction(info, 2)));));
  def(env, e, "conv2d", OP({
        // conv2d(input, weight, bias|null, stride[2], padding[2], groups)
        return wrap(info.Env(), at::conv2d(argTensor(info, 0), argTensor(info, 1), argOptTensor(info, 2), argInts(info, 3), argInts(info, 4), at::IntArrayRef({1, 1}), argInt(info, 5)));
      }));
  def(env, e, "maxPool2d", OP(return wrap(info.Env(), at::max_pool2d(argTensor(info, 0), argInts(info, 1), argInts(info, 2), argInts(info, 3)));));
  def(env, e, "maxPool2x2Indices", OP(return maxPool2x2Indices(info);));
  def(env, e, "avgPool2d", OP(return wrap(info.Env(), at::avg_pool2d(argTensor(info, 0), argInts(info, 1), argInts(info, 2), argInts(info, 3)));));
  def(env, e, "groupNorm", OP(return wrap(info.Env(), at::group_norm(argTensor(info, 0), argInt(info, 1), argOptTensor(info, 2), argOptTensor(info, 3)));));

  // Linear algebra.
  def(env, e, "matmul", OP(return wrap(info.Env(), at::matmul(argTensor(info, 0), argTensor(info, 1)));));
  def(env, e, "mm", OP(return wrap(info.Env(), at::mm(argTensor(info, 0), argTensor(info, 1)));));
  def(env, e, "bmm", OP(return wrap(info.Env(), at::bmm(argTensor(info, 0), argTensor(info, 1)));));
  def(env, e, "baddbmm", OP(return wrap(info.Env(), at::baddbmm(argTensor(info, 0), argTensor(info, 1), argTensor(info, 2), argNumber(info, 3), argNumber(info, 4)));));
  def(env, e, "addmm", OP(return wrap(info.Env(), at::addmm(argTensor(info, 0), argTensor(info, 1), argTensor(info, 2), argNumber(info, 3), argNumber(info, 4)));));
  def(env, e, "kron", OP(return wrap(info.Env(), at::kron(argTensor(info, 0), argTensor(info, 1)));));
  def(env, e, "eigh", OP({
        auto [values, vectors] = at::linalg_eigh(argTensor(info, 0));
        return wrapList(info.Env(), {values, vectors});
      }));
  def(env, e, "eigvals", OP({
        // Complex eigenvalues come back as [real, imaginary].
        at::Tensor ev = at::linalg_eigvals(argTensor(info, 0));
        return wrapList(info.Env(), {at::real(ev).contiguous(), at::imag(ev).contiguous()});
      }));
  def(env, e, "solve", OP(return wrap(info.Env(), at::linalg_solve(argTensor(info, 0), argTensor(info, 1)));));
  def(env, e, "inverse", OP(return wrap(info.Env(), at::linalg_inv(argTensor(info, 0)));));
  def(env, e, "cholesky", OP(return wrap(info.Env(), at::linalg_cholesky(argTensor(info, 0)));));
  def(env, e, "trace", UNARY(at::trace));
  def(env, e, "dot", OP(return wrap(info.Env(), at::dot(argTensor(info, 0), argTensor(info, 1)));));

  // Reductions: dims null means all dimensions.
  def(env, e, "sum", OP(return wrap(info.Env(), at::sum(argTensor(info, 0), dimsOrAll(argOptInts(info, 1)), argBool(info, 2)));));
  def(env, e, "mean", OP(return wrap(info.Env(), at::mean(argTensor(info, 0), dimsOrAll(argOptInts(info, 1)), argBool(info, 2)));));
  def(env, e, "amax", OP(return wrap(info.Env(), at::amax(argTensor(info, 0), dimsOrAll(argOptInts(info, 1)), argBool(info, 2)));));
  def(env, e, "amin", OP(return wrap(info.Env(), at::amin(argTensor(info, 0), dimsOrAll(argOptInts(info, 1)), argBool(info, 2)));));
  def(env, e, "max", OP({
        auto [values, indices] = at::max(argTensor(info, 0), argInt(info, 1), argBool(info, 2));
        return wrapList(info.Env(), {values, indices});
      }));
  def(env, e, "argmax", OP(return wrap(info.Env(), at::argmax(argTensor(info, 0), argInt(info, 1), argBool(info, 2)));));
  def(env, e, "norm", OP(return wrap(info.Env(), at::norm(argTensor(info, 0), at::Scalar(argNumber(info, 1)), dimsOrAll(argOptInts(info, 2)), argBool(info, 3)));));
  def(env, e, "var", OP({
        // All dimensions must be nullopt, not an empty list: var's backward counts
        // the elements of the listed dimensions, and an empty list counts one.
        auto dims = argOptInts(info, 1);
        at::OptionalIntArrayRef d = dims ? at::OptionalIntArrayRef(*dims) : c10::nullopt;
        return wrap(info.Env(), at::var(argTensor(info, 0), d, argBool(info, 2), argBool(info, 3)));
      }));
  def(env, e, "all", UNARY(at::all));
  def(env, e, "any", UNARY(at::any));

  // Shape and indexing.
  def(env, e, "reshape", OP(return wrap(info.Env(), argTensor(info, 0).reshape(argInts(info, 1)));));
  def(env, e, "view", OP(return wrap(info.Env(), argTensor(info, 0).view(argInts(info, 1)));));
  def(env, e, "permute", OP(return wrap(info.Env(), argTensor(info, 0).permute(argInts(info, 1)));));
  def(env, e, "transpose", OP(return wrap(info.Env(), argTensor(info, 0).transpose(argInt(info, 1), argInt(info, 2)));));
  def(env, e, "contiguous", OP(return wrap(info.Env(), argTensor(info, 0).contiguous());));
  def(env, e, "narrow", OP(return wrap(info.Env(), argTensor(info, 0).narrow(argInt(info, 1), argInt(info, 2), argInt(info, 3)));));
  def(env, e, "select", OP(return wrap(info.Env(), argTensor(info, 0).select(argInt(info, 1), argInt(info, 2)));));
  def(env, e, "indexSelect", OP(return wrap(info.Env(), at::index_select(argTensor(info, 0), argInt(info, 1), argTensor(info, 2)));));
  def(env, e, "gather", OP(return wrap(info.Env(), at::gather(argTensor(info, 0), argInt(info, 1), argTensor(info, 2)));));
  def(env, e, "cat", OP(return wrap(info.Env(), at::cat(argTensorList(info, 0), argInt(info, 1)));));
  // Equal parts along a dimension, as views; their gradients are put back together by one cat.
  def(env, e, "chunk", OP(return wrapList(info.Env(), at::chunk(argTensor(info, 0), argInt(info, 1), argInt(info, 2)));));
  def(env, e, "stack", OP(return wrap(info.Env(), at::stack(argTensorList(info, 0), argInt(info, 1)));));
  def(env, e, "expand", OP(return wrap(info.Env(), argTensor(info, 0).expand(argInts(info, 1)));));
  def(env, e, "repeat", OP(return wrap(info.Env(), argTensor(info, 0).repeat(argInts(info, 1)));));
  def(env, e, "unsqueeze", OP(return wrap(info.Env(), argTensor(info, 0).unsqueeze(argInt(info, 1)));));
  def(env, e, "squeeze", OP(return wrap(info.Env(), argTensor(info, 0).squeeze(argInt(info, 1)));));
  def(env, e, "clone", OP(return wrap(info.Env(), argTensor(info, 0).clone());));
  def(env, e, "detach", OP(return wrap(info.Env(), argTensor(info, 0).detach());));
  def(env, e, "to", OP(return wrap(info.Env(), argTensor(info, 0).to(argDtype(info, 1)));));
  def(env, e, "toDevice", OP(return wrap(info.Env(), argTensor(info, 0).to(at::Device(argString(info, 1))));));

  // In place: each returns its first argument's tensor, modified.
  def(env, e, "add_", OP({
        at::Tensor& a = argTensor(info, 0);
        if (isNumber(info, 1)) a.add_(at::Scalar(argNumber(info, 1)));
        else a.add_(argTensor(info, 1), at::Scalar(argOptNumber(info, 2).value_or(1.0)));
        return info[0];
      }));
  def(env, e, "mul_", OP({
        at::Tensor& a = argTensor(info, 0);
        if (isNumber(info, 1)) a.mul_(at::Scalar(argNumber(info, 1)));
        else a.mul_(argTensor(info, 1));
        return info[0];
      }));
  def(env, e, "copy_", OP({ argTensor(info, 0).copy_(argTensor(info, 1)); return info[0]; }));
  def(env, e, "zero_", OP({ argTensor(info, 0).zero_(); return info[0]; }));
  def(env, e, "addmm_", OP({ argTensor(info, 0).addmm_(argTensor(info, 1), argTensor(info, 2), argNumber(info, 3), argNumber(info, 4)); return info[0]; }));
  def(env, e, "baddbmm_", OP({ argTensor(info, 0).baddbmm_(argTensor(info, 1), argTensor(info, 2), argNumber(info, 3), argNumber(info, 4)); return info[0]; }));
}

}  // namespace flatdist
