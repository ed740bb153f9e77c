// Data: readers (IDX, CIFAR-10 binary), generated problems, partitions across agents, batch streams.
export * from './dataset.js';
export * from './idx.js';
export * from './mnist.js';
export * from './cifar.js';
export * from './synthetic.js';
export * from './registry.js';
export * from './partition.js';
export * from './sampler.js';
export * from './quadratic.js';
