// Seeded random number generators (libtorch's CPU Mersenne Twister, or the CUDA Philox generator on a
// CUDA device) and the draws made from them. There is no global generator here: every draw names one.
// A generator lives on the device that was current when it was made, as do its draws.
#include <ATen/CPUGeneratorImpl.h>

#include "tensor.h"

namespace flatdist {

namespace {

using Info = const Napi::CallbackInfo&;

class GeneratorWrap : public Napi::ObjectWrap<GeneratorWrap> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "NativeGenerator",
                       {
                           InstanceMethod("getState", &GeneratorWrap::GetState),
                           InstanceMethod("setState", &GeneratorWrap::SetState),
                       });
  }

  explicit GeneratorWrap(Info info) : Napi::ObjectWrap<GeneratorWrap>(info) {
    guarded(info, [&]() -> Napi::Value {
      if (info.Length() < 1 || !info[0].IsBigInt()) throw Napi::TypeError::New(info.Env(), "a generator's seed must be a bigint");
      bool lossless = false;
      uint64_t seed = info[0].As<Napi::BigInt>().Uint64Value(&lossless);
      if (!lossless) throw Napi::RangeError::New(info.Env(), "a generator's seed must fit in 64 unsigned bits");
      at::Device d = defaultDevice();
      if (d.is_cpu()) {
        gen_ = at::make_generator<at::CPUGeneratorImpl>(seed);
      } else {
        // A fresh generator of the device's kind, without CUDA's headers: a copy of its default one, seeded.
        gen_ = at::globalContext().defaultGenerator(d).clone();
        gen_.set_current_seed(seed);
      }
      return info.Env().Undefined();
    });
  }

  at::Generator& generator() { return gen_; }

 private:
  // The full state, so a resumed run draws exactly what an uninterrupted one would.
  Napi::Value GetState(Info info) {
    return guarded(info, [&]() -> Napi::Value {
      at::Tensor s = gen_.get_state();
      auto arr = Napi::Uint8Array::New(info.Env(), static_cast<size_t>(s.numel()));
      std::memcpy(arr.Data(), s.data_ptr(), static_cast<size_t>(s.numel()));
      return arr;
    });
  }

  Napi::Value SetState(Info info) {
    return guarded(info, [&]() -> Napi::Value {
      if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
        throw Napi::TypeError::New(info.Env(), "a generator state must be a Uint8Array");
      }
      auto arr = info[0].As<Napi::Uint8Array>();
      at::Tensor s = at::empty({static_cast<int64_t>(arr.ElementLength())}, at::kByte);
      std::memcpy(s.data_ptr(), arr.Data(), arr.ElementLength());
      gen_.set_state(s);
      return info.Env().Undefined();
    });
  }

  at::Generator gen_;
};

// Checks the native half too: an object that only inherits the prototype has none.
at::Generator& argGenerator(Info info, size_t i) {
  auto& data = *info.Env().GetInstanceData<AddonData>();
  void* p = nullptr;
  if (i >= info.Length() || !info[i].IsObject() || !info[i].As<Napi::Object>().InstanceOf(data.generatorCtor.Value()) ||
      napi_unwrap(info.Env(), info[i], &p) != napi_ok) {
    throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i + 1) + " must be a generator");
  }
  return static_cast<GeneratorWrap*>(p)->generator();
}

at::TensorOptions floatOpts(Info info, size_t i) {
  at::ScalarType s = argDtype(info, i);
  if (s != at::kFloat && s != at::kDouble) throw Napi::TypeError::New(info.Env(), "random draws of this kind need dtype float32 or float64");
  return at::TensorOptions().dtype(s).device(defaultDevice());
}

at::TensorOptions longOpts() { return at::TensorOptions().dtype(at::kLong).device(defaultDevice()); }

#define OP(...) [](Info info) -> Napi::Value { return guarded(info, [&]() -> Napi::Value { __VA_ARGS__ }); }

}  // namespace

void initRandom(Napi::Env env, Napi::Object e) {
  Napi::Function ctor = GeneratorWrap::Init(env);
  env.GetInstanceData<AddonData>()->generatorCtor = Napi::Persistent(ctor);
  e.Set("Generator", ctor);
  // randn(shape, dtype, gen), rand(shape, dtype, gen)
  e.Set("randn", Napi::Function::New(env, OP(return wrap(info.Env(), at::randn(argInts(info, 0), argGenerator(info, 2), floatOpts(info, 1)));)));
  e.Set("rand", Napi::Function::New(env, OP(return wrap(info.Env(), at::rand(argInts(info, 0), argGenerator(info, 2), floatOpts(info, 1)));)));
  // randint(low, high, shape, gen): int64 in [low, high)
  e.Set("randint", Napi::Function::New(env, OP(return wrap(info.Env(), at::randint(argInt(info, 0), argInt(info, 1), argInts(info, 2), argGenerator(info, 3), longOpts()));)));
  // rademacher(shape, dtype, gen): ±1, the stream of randint(0, 2) drawn straight into the float dtype
  // (no int64 tensor and conversion in between: a third of a Hessian-vector product's draw).
  e.Set("rademacher", Napi::Function::New(env, OP({
        at::Tensor t = at::randint(0, 2, argInts(info, 0), argGenerator(info, 2), floatOpts(info, 1));
        return wrap(info.Env(), t.mul_(2).sub_(1));
      })));
  // randperm(n, gen): int64 permutation of 0..n-1
  e.Set("randperm", Napi::Function::New(env, OP(return wrap(info.Env(), at::randperm(argInt(info, 0), argGenerator(info, 1), longOpts()));)));
  // dirichlet(alpha, gen): one Dirichlet(alpha[..., :]) draw per row of the last dimension
  e.Set("dirichlet", Napi::Function::New(env, OP({
        const at::Tensor& alpha = argTensor(info, 0);
        // libtorch samples garbage (not an error) for α ≤ 0, NaN or ∞.
        TORCH_CHECK(!alpha.is_floating_point() || (alpha.gt(0) & at::isfinite(alpha)).all().item<bool>(),
                    "dirichlet: every concentration α must be positive and finite");
        return wrap(info.Env(), at::_sample_dirichlet(alpha, argGenerator(info, 1)));
      })));
}

}  // namespace flatdist
