// Facts about the libtorch underneath, and its intra-op thread pool.
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
