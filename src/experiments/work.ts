// Units of work of a reproduction — one training run, one escape experiment, one
// measurement — each stored whole under <dir>/work/<id>.json once finished (atomic
// write), so an interrupted reproduction resumes without redoing finished units.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DataError } from '../errors.js';
import { makeFolder, writeFileAtomic } from '../util/files.js';

export interface WorkLog {
  (message: string): void;
}

/** A reproduction stopped by its signal (SIGINT, SIGTERM) before a unit: every finished unit is stored. */
export class WorkInterrupted extends Error {
  constructor(readonly computed: number) {
    super(`interrupted after ${computed} unit${computed === 1 ? '' : 's'} of work`);
    this.name = 'WorkInterrupted';
  }
}

export class WorkStore {
  readonly dir: string;
  /** Units read back from an earlier invocation. */
  reused = 0;
  /** Units computed by this invocation. */
  computed = 0;
  /** Seconds spent computing, per unit id. */
  readonly seconds: Record<string, number> = {};

  /**
   * Units live in <out>/work/<namespace>/: a namespace per scale, so a quick and a full
   * reproduction in one folder never take each other's results.
   */
  constructor(
    out: string,
    namespace: string,
    private readonly log: WorkLog = () => {},
    private readonly starting: (id: string) => void = () => {},
    /** Stops the reproduction before its next unit; long units (training) take it too. */
    readonly signal?: AbortSignal,
  ) {
    this.dir = join(out, 'work', namespace);
    makeFolder(this.dir);
  }

  /** The file of a unit; ids are path-safe names like 'escape/b1024'. */
  path(id: string): string {
    if (!/^[a-z0-9][a-z0-9._/-]*$/i.test(id) || id.includes('..'))
      throw new RangeError(`WorkStore: unit id '${id}' must be a plain name`);
    return join(this.dir, `${id.replaceAll('/', '__')}.json`);
  }

  /** A folder a unit may use for files of its own (e.g. a training run directory). */
  scratch(id: string): string {
    return join(this.dir, 'runs', id.replaceAll('/', '__'));
  }

  /**
   * The stored result of unit `id`, or compute it, store it, and return it.
   * @throws WorkInterrupted when the store's signal was aborted before the unit began
   */
  async unit<T>(id: string, compute: () => T | Promise<T>): Promise<T> {
    const file = this.path(id);
    if (existsSync(file)) {
      this.reused++;
      try {
        return (JSON.parse(readFileSync(file, 'utf8')) as { result: T }).result;
      } catch {
        throw new DataError(
          file,
          'a stored unit of work is not JSON (changed after it was written?) — delete it to compute it again',
        );
      }
    }
    // A turn of the event loop, so that a signal's handler can run between units.
    await new Promise((resolve) => setImmediate(resolve));
    if (this.signal?.aborted) throw new WorkInterrupted(this.computed);
    const started = Date.now();
    this.starting(id);
    const result = await compute();
    const seconds = (Date.now() - started) / 1000;
    this.seconds[id] = seconds;
    writeFileAtomic(file, `${JSON.stringify({ id, seconds, finished: new Date().toISOString(), result })}\n`);
    this.computed++;
    this.log(`${id} (${seconds.toFixed(1)} s)`);
    return result;
  }

  /** Seconds recorded for every stored unit, this invocation's and earlier ones'. */
  totalSeconds(): number {
    return readdirSync(this.dir)
      .filter((f) => f.endsWith('.json'))
      .reduce(
        (s, f) => s + ((JSON.parse(readFileSync(join(this.dir, f), 'utf8')) as { seconds?: number }).seconds ?? 0),
        0,
      );
  }
}
