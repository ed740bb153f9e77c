// Preloaded by scripts/gpu-check.sh (NODE_OPTIONS=--import): every tensor a test makes lives on
// $FLATDIST_TEST_DEVICE (cuda, cuda:N), as under a run's --device.
import { useDevice } from '../../src/tensor/index.js';

if (process.env.FLATDIST_TEST_DEVICE) useDevice(process.env.FLATDIST_TEST_DEVICE);
