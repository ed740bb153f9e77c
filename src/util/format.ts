// Numbers as the commands print them. An exact zero (centralized SGD's consensus distance,
// the excess risk at w* itself, a complete graph's mixing rate) prints as 0: `0.000e+0` or
// `0.0000` would read as a value rounded to zero.

/** `x` in exponent form with `digits` digits after the point; exact 0 as 0. */
export const exponential = (x: number, digits: number): string => (x === 0 ? '0' : x.toExponential(digits));

/** `x` with `digits` digits after the point; exact 0 as 0. */
export const fixed = (x: number, digits: number): string => (x === 0 ? '0' : x.toFixed(digits));
