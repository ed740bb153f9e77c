import { UserError } from '../errors.js';

/** A distributed run cannot go on: a peer is gone, timed out, or was refused. Names the rank when it is known. */
export class DistError extends UserError {
  constructor(message: string, readonly rank: number | null = null) {
    super(message);
    this.name = 'DistError';
  }
}
