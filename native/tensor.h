// The tensor handle shared by every part of the binding, and the helpers that
// turn JavaScript arguments into libtorch values (and libtorch errors into
// JavaScript ones).
#pragma once

#include <napi.h>
#include <ATen/ATen.h>

#include <optional>
#include <string>
#include <vector>

namespace flatdist {

// Owns one at::Tensor. The storage is released by dispose() (deterministic, used
// by scopes) or by the GC finalizer; either way V8 is told how many bytes go.
class TensorWrap : public Napi::ObjectWrap<TensorWrap> {
 public:
  static Napi::Function Init(Napi::Env env);
  static Napi::Object New(Napi::Env env, at::Tensor t);
  static bool Is(Napi::Env env, const Napi::Value& v);

  explicit TensorWrap(const Napi::CallbackInfo& info);
  ~TensorWrap() override;

  at::Tensor& tensor(Napi::Env env);

 private:
  void release(Napi::Env env);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value Adopt(const Napi::CallbackInfo& info);
  void report(Napi::Env env);
  Napi::Value IsDisposed(const Napi::CallbackInfo& info);
  Napi::Value Shape(const Napi::CallbackInfo& info);
  Napi::Value Dtype(const Napi::CallbackInfo& info);
  Napi::Value Device(const Napi::CallbackInfo& info);
  Napi::Value Numel(const Napi::CallbackInfo& info);
  Napi::Value Bytes(const Napi::CallbackInfo& info);
  Napi::Value RequiresGrad(const Napi::CallbackInfo& info);

  at::Tensor t_;
  int64_t bytes_ = 0;
  // What this wrapper told V8 (AdjustExternalMemory): bytes_ for a fresh storage, 0 for a view.
  int64_t external_ = 0;
  bool disposed_ = false;
};

struct AddonData {
  Napi::FunctionReference tensorCtor;
  Napi::FunctionReference generatorCtor;
};

// Marks a native call in progress. Tensors disposed during one (by JavaScript an
// argument's getter runs) keep their native half until the outermost call returns,
// since the call may still hold references to their tensors.
struct CallDepth {
  CallDepth();
  ~CallDepth();
};

// Runs f, turning a libtorch or standard exception into a JavaScript Error
// that carries libtorch's message (without its C++ backtrace).
template <typename F>
Napi::Value guarded(const Napi::CallbackInfo& info, F f) {
  CallDepth depth;
  try {
    return f();
  } catch (const Napi::Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw Napi::Error::New(info.Env(), e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), e.what());
  }
}

// Argument readers: each throws a TypeError naming the argument when it does not fit.
at::Tensor& argTensor(const Napi::CallbackInfo& info, size_t i);
c10::optional<at::Tensor> argOptTensor(const Napi::CallbackInfo& info, size_t i);
std::vector<at::Tensor> argTensorList(const Napi::CallbackInfo& info, size_t i);
std::vector<int64_t> argInts(const Napi::CallbackInfo& info, size_t i);
std::optional<std::vector<int64_t>> argOptInts(const Napi::CallbackInfo& info, size_t i);
int64_t argInt(const Napi::CallbackInfo& info, size_t i);
double argNumber(const Napi::CallbackInfo& info, size_t i);
std::optional<double> argOptNumber(const Napi::CallbackInfo& info, size_t i);
bool argBool(const Napi::CallbackInfo& info, size_t i);
std::string argString(const Napi::CallbackInfo& info, size_t i);
at::ScalarType argDtype(const Napi::CallbackInfo& info, size_t i);
bool isNumber(const Napi::CallbackInfo& info, size_t i);

std::string dtypeName(at::ScalarType s);
Napi::Value wrap(Napi::Env env, at::Tensor t);
Napi::Value wrapList(Napi::Env env, const std::vector<at::Tensor>& ts);

void initOps(Napi::Env env, Napi::Object exports);
void initAutograd(Napi::Env env, Napi::Object exports);
void initRandom(Napi::Env env, Napi::Object exports);
void initRuntime(Napi::Env env, Napi::Object exports);
// The device new tensors and generators are made on (runtime.cc's setDevice); CPU unless set.
at::Device defaultDevice();
// Installs the caching CPU allocator (allocator.cc), once per process.
void initAllocator();
void initDist(Napi::Env env, Napi::Object exports);

}  // namespace flatdist
