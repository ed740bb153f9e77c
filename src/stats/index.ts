// Statistics: means, quantiles and confidence intervals (one Interval type), least squares and the bootstrap.
export * from './intervals.js';
export * from './regression.js';
