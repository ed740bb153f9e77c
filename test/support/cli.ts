// Paths the tests run as a user would: the flatdist command and the PyTorch agent example.
import { join } from 'node:path';
import { packageRoot } from '../../src/util/package.js';

/** bin/flatdist.js, to run as `node <cli> <command> …`. */
export const cli = join(packageRoot(), 'bin', 'flatdist.js');

/** examples/pytorch_agent.py, a torch.distributed process that joins a flatdist group. */
export const pytorchAgent = join(packageRoot(), 'examples', 'pytorch_agent.py');
