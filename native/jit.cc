// TorchScript modules (torch.jit.script / torch.jit.trace, saved with torch.jit.save)
// loaded by libtorch's torch::jit::load and run as a function of given parameters:
// forward swaps the caller's tensors into the module's parameter attributes, runs
// the module's forward and puts the module's own tensors back, so autograd flows
// from the output to the caller's tensors (double backward included).
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/csrc/jit/serialization/import.h>

#include <sys/stat.h>

#include <sstream>

#include "tensor.h"

namespace flatdist {

namespace {

using Info = const Napi::CallbackInfo&;

// One attribute of a (sub)module: "layer1.0.conv1.weight" is attribute "weight"
// of the object reached through the attributes layer1, 0, conv1.
struct Slot {
  std::string name;
  torch::jit::Object owner;
  std::string attr;
  at::Tensor own;  // the module's tensor, put back after each forward
};

Slot resolve(const torch::jit::Module& root, const std::string& name, const at::Tensor& own) {
  torch::jit::Object owner = root;
  size_t start = 0;
  for (size_t dot = name.find('.'); dot != std::string::npos; dot = name.find('.', start)) {
    owner = torch::jit::Object(owner.attr(name.substr(start, dot - start)).toObject());
    start = dot + 1;
  }
  return {name, owner, name.substr(start), own};
}

// The line of a libtorch message that says what went wrong: a TorchScript
// interpreter error ends with it (after the script's traceback); others start with it.
std::string essence(const std::string& message) {
  std::vector<std::string> lines;
  std::istringstream in(message);
  for (std::string line; std::getline(in, line);) {
    if (line.find_first_not_of(" \t") != std::string::npos) lines.push_back(line);
  }
  if (lines.empty()) return message;
  bool traceback = message.find("Traceback of TorchScript") != std::string::npos;
  return traceback ? lines.back() : lines.front();
}

// The interpreter rethrows an operator's c10::Error as a std::runtime_error
// carrying the script's traceback; c10::Error's what() also has the C++ one.
std::string essence(const std::exception& e) {
  const auto* c10 = dynamic_cast<const c10::Error*>(&e);
  return essence(c10 ? c10->what_without_backtrace() : e.what());
}

std::string shapeText(at::IntArrayRef s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

Napi::Array namedTensors(Napi::Env env, const std::vector<Slot>& slots) {
  Napi::Array out = Napi::Array::New(env, slots.size());
  for (size_t i = 0; i < slots.size(); ++i) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", slots[i].name);
    o.Set("tensor", wrap(env, slots[i].own.detach().clone()));
    out.Set(static_cast<uint32_t>(i), o);
  }
  return out;
}

class ScriptModuleWrap : public Napi::ObjectWrap<ScriptModuleWrap> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "ScriptModule",
                       {
                           InstanceMethod("parameters", &ScriptModuleWrap::Parameters),
                           InstanceMethod("buffers", &ScriptModuleWrap::Buffers),
                           InstanceMethod("forward", &ScriptModuleWrap::Forward),
                       });
  }

  // new ScriptModule(path): loads the archive, in eval mode (dropout off,
  // normalization with the stored running statistics, which forward leaves alone).
  explicit ScriptModuleWrap(Info info) : Napi::ObjectWrap<ScriptModuleWrap>(info) {
    guarded(info, [&]() -> Napi::Value {
      std::string path = argString(info, 0);
      struct stat st;
      if (stat(path.c_str(), &st) != 0) throw std::runtime_error(path + ": no such file");
      if (!S_ISREG(st.st_mode)) throw std::runtime_error(path + ": not a file");
      try {
        module_ = torch::jit::load(path, defaultDevice());  // parameters and buffers on the current device
      } catch (const std::exception& e) {
        throw std::runtime_error(path +
                                 ": not a TorchScript archive (save one with torch.jit.save(torch.jit.script(model), path);"
                                 " torch.save writes a state dict) — " +
                                 essence(e));
      }
      module_.eval();
      for (const auto& p : module_.named_parameters(true)) params_.push_back(resolve(module_, p.name, p.value));
      for (const auto& b : module_.named_buffers(true)) buffers_.push_back(resolve(module_, b.name, b.value));
      if (params_.empty()) {
        throw std::runtime_error(path + ": the module has no parameters (a frozen module holds them as constants: save it before torch.jit.freeze)");
      }
      return info.Env().Undefined();
    });
  }

 private:
  // parameters(): [{name, tensor}] in named_parameters order, copies of the module's own values.
  Napi::Value Parameters(Info info) {
    return guarded(info, [&]() -> Napi::Value { return namedTensors(info.Env(), params_); });
  }

  // buffers(): [{name, tensor}], copies of the buffers' current values.
  Napi::Value Buffers(Info info) {
    return guarded(info, [&]() -> Napi::Value { return namedTensors(info.Env(), buffers_); });
  }

  // forward(params, x): the module's output for input x with params (one tensor
  // per parameter, its shape, in parameters() order) in place of its own.
  Napi::Value Forward(Info info) {
    return guarded(info, [&]() -> Napi::Value {
      std::vector<at::Tensor> params = argTensorList(info, 0);
      at::Tensor x = argTensor(info, 1);
      if (params.size() != params_.size()) {
        throw std::runtime_error("forward: the module has " + std::to_string(params_.size()) + " parameters, got " +
                                 std::to_string(params.size()) + " tensors");
      }
      for (size_t i = 0; i < params.size(); ++i) {
        if (!params[i].sizes().equals(params_[i].own.sizes())) {
          throw std::runtime_error("forward: parameter " + params_[i].name + " is " + shapeText(params_[i].own.sizes()) + ", got " +
                                   shapeText(params[i].sizes()));
        }
      }
      castBuffers(params[0].scalar_type());
      // The plain interpreter: every op of the module differentiated by autograd,
      // as in eager PyTorch (double backward included), and no re-profiling when
      // the batch shape changes between training and evaluation.
      torch::jit::GraphOptimizerEnabledGuard plain(false);
      struct PutBack {
        std::vector<Slot>& slots;
        ~PutBack() {
          for (auto& s : slots) s.owner.setattr(s.attr, s.own);
        }
      } putBack{params_};
      for (size_t i = 0; i < params.size(); ++i) params_[i].owner.setattr(params_[i].attr, params[i]);
      c10::IValue out;
      try {
        out = module_.forward({x});
      } catch (const std::exception& e) {
        throw std::runtime_error("forward failed: " + essence(e));
      }
      if (!out.isTensor()) {
        throw std::runtime_error("forward must return one tensor (logits [B, classes]), it returned " + out.type()->str());
      }
      return wrap(info.Env(), out.toTensor());
    });
  }

  // Floating-point buffers follow the parameters' dtype (float32 values survive
  // the round trip through float64 exactly); integer ones (BatchNorm's counter) stay.
  void castBuffers(at::ScalarType dtype) {
    if (!at::isFloatingType(dtype)) return;
    for (auto& b : buffers_) {
      if (!at::isFloatingType(b.own.scalar_type()) || b.own.scalar_type() == dtype) continue;
      b.own = b.own.to(dtype);
      b.owner.setattr(b.attr, b.own);
    }
  }

  torch::jit::Module module_;
  std::vector<Slot> params_;
  std::vector<Slot> buffers_;
};

}  // namespace

void initJit(Napi::Env env, Napi::Object exports) { exports.Set("ScriptModule", ScriptModuleWrap::Init(env)); }

}  // namespace flatdist
