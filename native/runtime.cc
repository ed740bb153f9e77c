// What a report or benchmark needs to know about the libtorch it runs on, and the device
// tensors are made on (like torch.set_default_device).
#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/csrc/api/include/torch/version.h>

#include <algorithm>
#include <thread>

#include "tensor.h"

namespace flatdist {

namespace {

at::Device current(at::kCPU);

int cudaDeviceCount() { return at::hasCUDA() ? static_cast<int>(at::detail::getCUDAHooks().getNumGPUs()) : 0; }

}  // namespace

at::Device defaultDevice() { return current; }

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
  e.Set("cudaDevices", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
          return Napi::Number::New(info.Env(), cudaDeviceCount());
        }));
  e.Set("getDevice", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
          return Napi::String::New(info.Env(), current.str());
        }));
  // setDevice("cpu" | "cuda" | "cuda:N"): where every tensor and generator made from now on lives.
  e.Set("setDevice", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
          return guarded(info, [&]() -> Napi::Value {
            at::Device d(argString(info, 0));
            if (d.is_cuda()) {
              int n = cudaDeviceCount();
              if (n == 0) throw Napi::Error::New(info.Env(), "this libtorch sees no CUDA device (a CPU-only build, or no GPU or driver)");
              if (!d.has_index()) d = at::Device(at::kCUDA, 0);
              if (d.index() >= n) throw Napi::RangeError::New(info.Env(), "CUDA device " + std::to_string(d.index()) + " does not exist (libtorch sees " + std::to_string(n) + ")");
            } else if (!d.is_cpu()) {
              throw Napi::TypeError::New(info.Env(), "unsupported device '" + d.str() + "' (expected cpu, cuda or cuda:N)");
            }
            current = d;
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
