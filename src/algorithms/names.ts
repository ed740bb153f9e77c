// The algorithms' names, apart from their tensor code so that a config can be
// checked (and --help written) without loading libtorch.
export const algorithms = ['centralized', 'consensus', 'atc', 'cta', 'noncooperative'] as const;
export type Algorithm = (typeof algorithms)[number];
