// flatdist's native module: libtorch tensors, autograd and runtime facts for Node.
#include "tensor.h"

namespace flatdist {

void initJit(Napi::Env env, Napi::Object exports);  // jit.cc: TorchScript modules

Napi::Object Init(Napi::Env env, Napi::Object exports) {
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
  return exports;
}

}  // namespace flatdist

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return flatdist::Init(env, exports); }

NODE_API_MODULE(flatdist, InitModule)
