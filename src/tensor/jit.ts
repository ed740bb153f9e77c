// TorchScript modules through the native addon (native/jit.cc): a module saved by
// torch.jit.save, loaded by libtorch's torch::jit::load and run as a function of
// given parameters, so gradients — and gradients of gradients — reach them.
import { native, type NativeTensor } from './native.js';
import { wrap, type Tensor } from './tensor.js';

interface NativeScriptModule {
  parameters(): { name: string; tensor: NativeTensor }[];
  buffers(): { name: string; tensor: NativeTensor }[];
  forward(params: NativeTensor[], x: NativeTensor): NativeTensor;
}

const jitNative = native as unknown as { ScriptModule: new (path: string) => NativeScriptModule };

export interface NamedTensor {
  /** The module's attribute path, as in PyTorch's state_dict, e.g. 'layer1.0.conv1.weight'. */
  name: string;
  tensor: Tensor;
}

/** A TorchScript module in eval mode (dropout off, normalization by its stored running statistics). */
export class ScriptModule {
  private readonly handle: NativeScriptModule;

  /**
   * Loads the archive at path.
   * @throws Error (one line, naming the file) when the file is missing, is not a
   *   TorchScript archive (e.g. a torch.save state dict) or holds no parameters.
   */
  constructor(readonly path: string) {
    this.handle = new jitNative.ScriptModule(path);
  }

  /** The module's parameters (named_parameters order), copies of its own values. */
  parameters(): NamedTensor[] {
    return this.handle.parameters().map(({ name, tensor }) => ({ name, tensor: wrap(tensor) }));
  }

  /** The module's buffers, copies of their values; forward never changes them (eval mode). */
  buffers(): NamedTensor[] {
    return this.handle.buffers().map(({ name, tensor }) => ({ name, tensor: wrap(tensor) }));
  }

  /**
   * The module's output for x with params in place of its own parameters (one
   * tensor each, in parameters() order and shape); differentiable in params and x.
   * Floating buffers take the parameters' dtype, so float64 parameters and inputs
   * give a float64 forward.
   * @throws Error when a parameter's shape differs, when the module's forward
   *   fails (its message's last line), or when it does not return one tensor.
   */
  forward(params: Tensor[], x: Tensor): Tensor {
    return wrap(
      this.handle.forward(
        params.map((p) => p.handle),
        x.handle,
      ),
    );
  }
}
