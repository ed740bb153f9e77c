// Names of the minimizers and batch samplings, apart from their tensor code so that
// --help can list them without loading libtorch.
export const minimizeMethods = ['gd', 'lbfgs'] as const;
export type MinimizeMethod = (typeof minimizeMethods)[number];

export const samplings = ['replacement', 'epochs'] as const;
export type Sampling = (typeof samplings)[number];
