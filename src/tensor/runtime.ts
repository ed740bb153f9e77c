// Facts about the libtorch underneath, its intra-op thread pool, and the device tensors are made on.
import { ConfigError } from '../errors.js';
import { native, type LiveTensors } from './native.js';

export const torchVersion: string = native.torchVersion;
export const getNumThreads = (): number => native.getNumThreads();
export const setNumThreads = (n: number): void => native.setNumThreads(n);
/** libtorch's description of its thread pools (at::get_parallel_info). */
export const parallelInfo = (): string => native.parallelInfo();
/** libtorch's build configuration, including the BLAS it uses (at::show_config). */
export const buildConfig = (): string => native.buildConfig();
/** Tensors alive in this process — created, neither disposed nor garbage-collected — and their bytes: a leak shows here. */
export const liveTensors = (): LiveTensors => native.NativeTensor.live();
/** The CUDA devices this libtorch sees: 0 for a CPU-only build or a machine without a GPU. */
export const cudaDevices = (): number => native.cudaDevices();
/** The device tensors and generators are made on now: 'cpu' or 'cuda:N'. */
export const currentDevice = (): string => native.getDevice();
/**
 * Makes every tensor and generator from now on on this device ('cpu', 'cuda' = 'cuda:0', 'cuda:N'), as
 * torch.set_default_device does: a run sets it once, before its data and parameters exist. Copies to the
 * host happen only where values are read out (toArray, item: checkpoints, metrics).
 * @throws ConfigError('device') when libtorch has no CUDA or no such device
 */
export function useDevice(device: string): void {
  try {
    native.setDevice(device);
  } catch (e) {
    throw new ConfigError('device', `${(e as Error).message} — use --device cpu`);
  }
}
