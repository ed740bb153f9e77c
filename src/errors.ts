// Errors meant for the person at the terminal: one line that names what is wrong
// and how to fix it. Anything else reaching the CLI is a bug, reported as such.
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

/** A configuration value that is not allowed: names the field and what is. */
export class ConfigError extends UserError {
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'ConfigError';
  }
}

/** A file that is missing, truncated or not in the expected format. */
export class DataError extends UserError {
  constructor(readonly file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'DataError';
  }
}

/** Training produced NaN or Inf; the last good checkpoint is kept. */
export class DivergenceError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'DivergenceError';
  }
}

/** A distributed run cannot go on: a peer is gone, timed out, or was refused. Names the rank when it is known. */
export class DistError extends UserError {
  constructor(message: string, readonly rank: number | null = null) {
    super(message);
    this.name = 'DistError';
  }
}
