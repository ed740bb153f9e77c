// Graphs of agents, their combination matrices, and the spectra that say how fast they mix.
export * from './topology.js';
export * from './matrix.js';
export * from './validate.js';
export * from './spectrum.js';
export * from './report.js';
