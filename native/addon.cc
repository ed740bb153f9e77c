// flatdist's native module: libtorch tensors, autograd and runtime facts for Node.
#include "tensor.h"

#include <c10/util/Logging.h>

namespace flatdist {

void initJit(Napi::Env env, Napi::Object exports);      // jit.cc: TorchScript modules
void initCombine(Napi::Env env, Napi::Object exports);  // combine.cc: the fused sparse ATC step

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // Reads TORCH_CPP_LOG_LEVEL (src/tensor/native.ts sets FATAL unless the user chose): libtorch reads it only
  // here, where it logs through c10 rather than glog (Debian 13's 2.6); with glog (Debian 12's 1.13), glog's
  // own GLOG_minloglevel has already applied.
  c10::initLogging();
  initAllocator();
  auto* data = new AddonData();
  env.SetInstanceData(data);
  Napi::Function tensor = TensorWrap::Init(env);
  data->tensorCtor = Napi::Persistent(tensor);
  exports.Set("NativeTensor", tensor);
  initOps(env, exports);
  initAutograd(env, exports);
  initRandom(env, exports);
  initRuntime(env, exports);
  initDist(env, exports);
  initJit(env, exports);
  initCombine(env, exports);
  return exports;
}

}  // namespace flatdist

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return flatdist::Init(env, exports); }

NODE_API_MODULE(flatdist, InitModule)
