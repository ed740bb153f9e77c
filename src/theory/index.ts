// Linearized theory of the unified recursion near a minimizer: exact moments, steady state, small-μ closed forms.
export * from './lyapunov.js';
export * from './linearized.js';
export * from './closedForm.js';
export * from './gradient-moments.js';
export * from './predict.js';
