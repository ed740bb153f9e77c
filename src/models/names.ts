// Model and activation names, apart from the layers so that a config can be
// checked (and --help written) without loading libtorch.

/** 'linear' is another name for 'logistic'; 'resnet<6n+2>' for any n ≥ 1 (resnet8, resnet20, resnet32, …). */
export const modelNames = ['logistic', 'linear', 'mlp', 'lenet', 'resnet8', 'resnet20'] as const;

export const activations = ['relu', 'tanh', 'gelu', 'sigmoid', 'softplus'] as const;
export type Activation = (typeof activations)[number];
