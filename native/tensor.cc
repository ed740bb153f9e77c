#include "tensor.h"

#include <algorithm>
#include <atomic>
#include <cmath>

namespace flatdist {

namespace {

AddonData& data(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

std::string argName(size_t i) { return "argument " + std::to_string(i + 1); }

// Integers travel as doubles: only those JavaScript represents exactly are accepted
// (NaN, infinities and |x| > 2^53 would make the conversion to int64 undefined).
bool isExactInteger(double d) { return std::isfinite(d) && std::trunc(d) == d && std::fabs(d) <= 9007199254740992.0; }

bool isTensorObject(Napi::Env env, const Napi::Value& v) {
  return v.IsObject() && v.As<Napi::Object>().InstanceOf(data(env).tensorCtor.Value());
}

// The wrapper behind v, or nullptr when v is not one: a disposed tensor's object,
// or one that only inherits NativeTensor.prototype, has no native half to unwrap.
TensorWrap* unwrap(Napi::Env env, const Napi::Value& v) {
  if (!isTensorObject(env, v)) return nullptr;
  void* p = nullptr;
  if (napi_unwrap(env, v, &p) != napi_ok) return nullptr;
  return static_cast<TensorWrap*>(p);
}

// Dispose() marks the object with an own `disposed: true`.
bool wasDisposed(Napi::Env env, const Napi::Value& v) {
  if (!isTensorObject(env, v)) return false;
  Napi::Object o = v.As<Napi::Object>();
  return o.HasOwnProperty("disposed") && o.Get("disposed").StrictEquals(Napi::Boolean::New(env, true));
}

constexpr const char* kDisposed = "tensor was already disposed (used outside the scope that owned it?)";

Napi::Error notATensor(Napi::Env env, const Napi::Value& v, const std::string& what) {
  if (wasDisposed(env, v)) return Napi::Error::New(env, kDisposed);
  return Napi::TypeError::New(env, what + " must be a tensor");
}

thread_local int callDepth = 0;
thread_local std::vector<TensorWrap*> disposedDuringCall;

// Tensors held by wrappers in this process, and their bytes: what a leak shows in.
std::atomic<int64_t> liveCount{0};
std::atomic<int64_t> liveBytes{0};

// Whether a new tensor is told to V8 at once: not while a scope() is open (src/tensor/scope.ts),
// which frees what it made when it closes. Telling V8 of every short-lived block made its
// external-memory limit start a full mark-compact whenever a step's temporaries passed 64 MB
// (25 per escape experiment, ~15% of its CPU); a tensor that outlives its scopes is told then (adopt).
bool reportOnCreate = true;

Napi::Value setScoped(const Napi::CallbackInfo& info) {
  bool previous = !reportOnCreate;
  reportOnCreate = !(info.Length() > 0 && info[0].ToBoolean().Value());
  return Napi::Boolean::New(info.Env(), previous);
}

Napi::Value live(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("count", Napi::Number::New(info.Env(), static_cast<double>(liveCount.load())));
  o.Set("bytes", Napi::Number::New(info.Env(), static_cast<double>(liveBytes.load())));
  return o;
}

}  // namespace

Napi::Function TensorWrap::Init(Napi::Env env) {
  return DefineClass(env, "NativeTensor",
                     {
                         InstanceMethod("dispose", &TensorWrap::Dispose),
                         InstanceMethod("adopt", &TensorWrap::Adopt),
                         InstanceAccessor("disposed", &TensorWrap::IsDisposed, nullptr),
                         InstanceAccessor("shape", &TensorWrap::Shape, nullptr),
                         InstanceAccessor("dtype", &TensorWrap::Dtype, nullptr),
                         InstanceAccessor("device", &TensorWrap::Device, nullptr),
                         InstanceAccessor("numel", &TensorWrap::Numel, nullptr),
                         InstanceAccessor("bytes", &TensorWrap::Bytes, nullptr),
                         InstanceAccessor("requiresGrad", &TensorWrap::RequiresGrad, nullptr),
                         StaticMethod("live", &live),
                         StaticMethod("setScoped", &setScoped),
                     });
}

Napi::Object TensorWrap::New(Napi::Env env, at::Tensor t) {
  Napi::Object obj = data(env).tensorCtor.New({});
  TensorWrap* w = Unwrap(obj);
  w->t_ = std::move(t);
  // Elements held, but never more than the storage: an expanded view of one
  // element must not tell V8 it holds terabytes.
  w->bytes_ = static_cast<int64_t>(w->t_.numel() * w->t_.element_size());
  if (w->t_.has_storage()) w->bytes_ = std::min<int64_t>(w->bytes_, static_cast<int64_t>(w->t_.storage().nbytes()));
  // V8 hears of a storage once, from the wrapper that holds it alone (a fresh
  // result); views and tensors autograd also holds add nothing. Counting every
  // view again made a training step look several times its size and forced a
  // full garbage collection per step (a quarter of the step at K = 16).
  if (reportOnCreate) w->report(env);
  ++liveCount;
  liveBytes += w->bytes_;
  return obj;
}

bool TensorWrap::Is(Napi::Env env, const Napi::Value& v) { return unwrap(env, v) != nullptr; }

TensorWrap::TensorWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TensorWrap>(info) {}

// The finalizer runs without a usable env for JS calls; dropping the tensor and
// adjusting the external-memory counter needs none.
TensorWrap::~TensorWrap() {
  if (disposed_ || !t_.defined()) return;
  --liveCount;
  liveBytes -= bytes_;
  if (external_ > 0) Napi::MemoryManagement::AdjustExternalMemory(Env(), -external_);
}

void TensorWrap::release(Napi::Env env) {
  if (disposed_) return;
  disposed_ = true;
  if (t_.defined()) {
    --liveCount;
    liveBytes -= bytes_;
  }
  t_ = at::Tensor();
  if (external_ > 0) Napi::MemoryManagement::AdjustExternalMemory(env, -external_);
  bytes_ = 0;
  external_ = 0;
}

at::Tensor& TensorWrap::tensor(Napi::Env env) {
  if (disposed_) throw Napi::Error::New(env, kDisposed);
  // Only `new NativeTensor()` from JavaScript leaves a wrapper without a tensor.
  if (!t_.defined()) throw Napi::TypeError::New(env, "not a tensor made by flatdist (NativeTensor cannot be constructed from JavaScript)");
  return t_;
}

CallDepth::CallDepth() { ++callDepth; }

CallDepth::~CallDepth() {
  if (--callDepth > 0 || disposedDuringCall.empty()) return;
  std::vector<TensorWrap*> dead;
  dead.swap(disposedDuringCall);
  for (TensorWrap* w : dead) delete w;
}

// Frees the tensor, then detaches and deletes the native half at once: left to
// the garbage collector it would wait for the event loop to turn (Node defers
// finalizers), so a synchronous training loop would grow by every tensor it made.
Napi::Value TensorWrap::Dispose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  release(env);
  Napi::Object self = info.This().As<Napi::Object>();
  self.DefineProperty(Napi::PropertyDescriptor::Value("disposed", Napi::Boolean::New(env, true)));
  napi_remove_wrap(env, self, nullptr);
  if (callDepth > 0) disposedDuringCall.push_back(this);
  else delete this;
  return env.Undefined();
}

void TensorWrap::report(Napi::Env env) {
  if (disposed_ || external_ > 0 || !t_.defined()) return;
  external_ = !t_.has_storage() || t_.storage().use_count() == 1 ? bytes_ : 0;
  if (external_ > 0) Napi::MemoryManagement::AdjustExternalMemory(env, external_);
}

// A tensor made inside a scope that now outlives every scope: garbage collection may free it, so V8 hears of it.
Napi::Value TensorWrap::Adopt(const Napi::CallbackInfo& info) {
  report(info.Env());
  return info.Env().Undefined();
}

Napi::Value TensorWrap::IsDisposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), disposed_); }

Napi::Value TensorWrap::Shape(const Napi::CallbackInfo& info) {
  const auto& t = tensor(info.Env());
  auto arr = Napi::Array::New(info.Env(), t.dim());
  for (int64_t d = 0; d < t.dim(); ++d) arr.Set(static_cast<uint32_t>(d), Napi::Number::New(info.Env(), static_cast<double>(t.size(d))));
  return arr;
}

Napi::Value TensorWrap::Device(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), tensor(info.Env()).device().str());
}

Napi::Value TensorWrap::Dtype(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), dtypeName(tensor(info.Env()).scalar_type()));
}

Napi::Value TensorWrap::Numel(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(tensor(info.Env()).numel()));
}

Napi::Value TensorWrap::Bytes(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(bytes_)); }

Napi::Value TensorWrap::RequiresGrad(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), tensor(info.Env()).requires_grad());
}

Napi::Value wrap(Napi::Env env, at::Tensor t) {
  if (!t.defined()) return env.Null();
  // Autograd may return lazy zeros (a "ZeroTensor", without storage) or tensors
  // with a pending negation bit; anything reading the elements directly — copies
  // out, collectives — needs real ones.
  if (t._is_zerotensor()) t = at::zeros(t.sizes(), t.options());
  if (t.is_neg() || t.is_conj()) t = t.resolve_neg().resolve_conj();
  return TensorWrap::New(env, std::move(t));
}

Napi::Value wrapList(Napi::Env env, const std::vector<at::Tensor>& ts) {
  auto arr = Napi::Array::New(env, ts.size());
  for (size_t i = 0; i < ts.size(); ++i) arr.Set(static_cast<uint32_t>(i), wrap(env, ts[i]));
  return arr;
}

std::string dtypeName(at::ScalarType s) {
  switch (s) {
    case at::kFloat: return "float32";
    case at::kDouble: return "float64";
    case at::kLong: return "int64";
    case at::kInt: return "int32";
    case at::kBool: return "bool";
    case at::kByte: return "uint8";
    default: return c10::toString(s);
  }
}

at::Tensor& argTensor(const Napi::CallbackInfo& info, size_t i) {
  Napi::Value v = i < info.Length() ? info[i] : info.Env().Undefined();
  TensorWrap* w = unwrap(info.Env(), v);
  if (w == nullptr) throw notATensor(info.Env(), v, argName(i));
  return w->tensor(info.Env());
}

c10::optional<at::Tensor> argOptTensor(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || info[i].IsNull() || info[i].IsUndefined()) return c10::nullopt;
  return argTensor(info, i);
}

std::vector<at::Tensor> argTensorList(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsArray()) throw Napi::TypeError::New(info.Env(), argName(i) + " must be an array of tensors");
  auto arr = info[i].As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(arr.Length());
  for (uint32_t j = 0; j < arr.Length(); ++j) {
    Napi::Value v = arr.Get(j);
    TensorWrap* w = unwrap(info.Env(), v);
    if (w == nullptr) throw notATensor(info.Env(), v, argName(i) + "[" + std::to_string(j) + "]");
    out.push_back(w->tensor(info.Env()));
  }
  return out;
}

std::vector<int64_t> argInts(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsArray()) throw Napi::TypeError::New(info.Env(), argName(i) + " must be an array of integers");
  auto arr = info[i].As<Napi::Array>();
  std::vector<int64_t> out(arr.Length());
  for (uint32_t j = 0; j < arr.Length(); ++j) {
    Napi::Value v = arr.Get(j);
    if (!v.IsNumber()) throw Napi::TypeError::New(info.Env(), argName(i) + "[" + std::to_string(j) + "] must be an integer");
    double d = v.As<Napi::Number>().DoubleValue();
    if (!isExactInteger(d)) throw Napi::TypeError::New(info.Env(), argName(i) + "[" + std::to_string(j) + "] must be an integer");
    out[j] = static_cast<int64_t>(d);
  }
  return out;
}

std::optional<std::vector<int64_t>> argOptInts(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || info[i].IsNull() || info[i].IsUndefined()) return std::nullopt;
  return argInts(info, i);
}

int64_t argInt(const Napi::CallbackInfo& info, size_t i) {
  double d = argNumber(info, i);
  if (!isExactInteger(d)) throw Napi::TypeError::New(info.Env(), argName(i) + " must be an integer");
  return static_cast<int64_t>(d);
}

double argNumber(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), argName(i) + " must be a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

std::optional<double> argOptNumber(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || info[i].IsNull() || info[i].IsUndefined()) return std::nullopt;
  return argNumber(info, i);
}

bool argBool(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsBoolean()) throw Napi::TypeError::New(info.Env(), argName(i) + " must be a boolean");
  return info[i].As<Napi::Boolean>().Value();
}

std::string argString(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsString()) throw Napi::TypeError::New(info.Env(), argName(i) + " must be a string");
  return info[i].As<Napi::String>().Utf8Value();
}

at::ScalarType argDtype(const Napi::CallbackInfo& info, size_t i) {
  std::string s = argString(info, i);
  if (s == "float32") return at::kFloat;
  if (s == "float64") return at::kDouble;
  if (s == "int64") return at::kLong;
  if (s == "bool") return at::kBool;
  throw Napi::TypeError::New(info.Env(), "unknown dtype '" + s + "' (expected float32, float64, int64 or bool)");
}

bool isNumber(const Napi::CallbackInfo& info, size_t i) { return i < info.Length() && info[i].IsNumber(); }

}  // namespace flatdist
