// What a report or benchmark needs to know about the libtorch it runs on.
#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <torch/csrc/api/include/torch/version.h>

#include <algorithm>
#include <thread>

#include "tensor.h"

namespace flatdist {

void initRuntime(Napi::Env env, Napi::Object e) {
  e.Set("torchVersion", Napi::String::New(env, TORCH_VERSION));
  e.Set("getNumThreads", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
          return Napi::Number::New(info.Env(), at::get_num_threads());
        }));
  e.Set("setNumThreads", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
          return guarded(info, [&]() -> Napi::Value {
            int64_t n = argInt(info, 0);
            // OpenMP starts every thread asked for: far past the cores that only stalls.
            int64_t most = 4 * std::max<int64_t>(1, std::thread::hardware_concurrency());
            if (n < 1 || n > most) {
              throw Napi::RangeError::New(info.Env(), "thread count must be between 1 and " + std::to_string(most) + " (4 × the hardware threads)");
            }
            at::set_num_threads(static_cast<int>(n));
            return info.Env().Undefined();
          });
        }));
  e.Set("parallelInfo", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
          return Napi::String::New(info.Env(), at::get_parallel_info());
        }));
  e.Set("buildConfig", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
          return Napi::String::New(info.Env(), at::show_config());
        }));
}

}  // namespace flatdist
