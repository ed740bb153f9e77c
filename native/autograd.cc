// Reverse-mode differentiation: torch::autograd::grad, with create_graph so a
// gradient can itself be differentiated (Hessian-vector products).
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "tensor.h"

namespace flatdist {

namespace {

using Info = const Napi::CallbackInfo&;

// grad(outputs, inputs, gradOutputs|null, createGraph, retainGraph, allowUnused)
Napi::Value grad(Info info) {
  return guarded(info, [&]() -> Napi::Value {
    std::vector<at::Tensor> outputs = argTensorList(info, 0);
    std::vector<at::Tensor> inputs = argTensorList(info, 1);
    std::vector<at::Tensor> gradOutputs;
    if (info.Length() > 2 && info[2].IsArray()) gradOutputs = argTensorList(info, 2);
    bool createGraph = argBool(info, 3);
    bool retainGraph = argBool(info, 4);
    bool allowUnused = argBool(info, 5);
    // Outside a no-grad scope only: gradients need the graph that no-grad suppresses.
    at::AutoGradMode enable(true);
    return wrapList(info.Env(), torch::autograd::grad(outputs, inputs, gradOutputs, retainGraph, createGraph, allowUnused));
  });
}

Napi::Value setRequiresGrad(Info info) {
  return guarded(info, [&]() -> Napi::Value {
    argTensor(info, 0).set_requires_grad(argBool(info, 1));
    return info[0];
  });
}

Napi::Value setGradEnabled(Info info) {
  return guarded(info, [&]() -> Napi::Value {
    bool previous = at::GradMode::is_enabled();
    at::GradMode::set_enabled(argBool(info, 0));
    return Napi::Boolean::New(info.Env(), previous);
  });
}

Napi::Value isGradEnabled(Info info) { return Napi::Boolean::New(info.Env(), at::GradMode::is_enabled()); }

}  // namespace

void initAutograd(Napi::Env env, Napi::Object e) {
  e.Set("grad", Napi::Function::New(env, grad, "grad"));
  e.Set("setRequiresGrad", Napi::Function::New(env, setRequiresGrad, "setRequiresGrad"));
  e.Set("setGradEnabled", Napi::Function::New(env, setGradEnabled, "setGradEnabled"));
  e.Set("isGradEnabled", Napi::Function::New(env, isGradEnabled, "isGradEnabled"));
}

}  // namespace flatdist
