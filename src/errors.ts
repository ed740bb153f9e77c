// Errors meant for the person at the terminal: one line that names what is wrong
// and how to fix it. Anything else reaching the CLI is a bug, reported as such.
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

/**
 * A configuration value that is not allowed: names the field and what is. The field is
 * the library's name for it (stepSize); the command line says it as the user wrote it
 * (--step-size, or a config file's key).
 */
export class ConfigError extends UserError {
  constructor(
    readonly field: string,
    readonly detail: string,
  ) {
    super(`${field}: ${detail}`);
    this.name = 'ConfigError';
  }
}

/** A file that is missing, truncated or not in the expected format. */
export class DataError extends UserError {
  constructor(
    readonly file: string,
    message: string,
  ) {
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

/** The operating system refused a file operation (disk full, file-size limit, read-only, permissions, a file in the way). */
export class FileSystemError extends UserError {
  constructor(
    readonly file: string,
    readonly code: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'FileSystemError';
  }
}

/** A distributed run cannot go on: a peer is gone, timed out, or was refused. Names the rank when it is known. */
export class DistError extends UserError {
  constructor(
    message: string,
    readonly rank: number | null = null,
  ) {
    super(message);
    this.name = 'DistError';
  }
}
