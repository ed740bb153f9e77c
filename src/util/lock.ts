// One owner per folder: a lock file created exclusively (O_EXCL), holding the owner's
// pid, host, start time and a random token. A lock whose process is gone (same host,
// no such pid, or the pid now belongs to a process started later) is stale and is
// taken over; a lock from another host cannot be checked and is never taken over.
//
// Why not proper-lockfile: it keeps its lock alive by touching it from a timer, and
// calls it stale when the touches stop; the trainer's loop is synchronous (libtorch
// calls block the event loop for the whole run), so the timer would never fire and a
// second process would take the lock from a live run. It also records no owner to name.
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  linkSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
  fsyncSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { UserError } from '../errors.js';
import { osError } from './files.js';

export interface LockOwner {
  pid: number;
  host: string;
  /** ISO time the owner took the lock. */
  started: string;
  /** The command that holds it, e.g. 'flatdist train'. */
  command: string;
  token: string;
  /** The owner's start time in clock ticks after boot (Linux), to tell a reused pid apart. */
  startTicks: number | null;
}

export interface Lock {
  file: string;
  owner: LockOwner;
  /** The stale lock this one replaced (its process was gone), if any. */
  replaced: LockOwner | null;
  /** Removes the lock file (when it is still this owner's). Also done at process exit. */
  release(): void;
}

/** A child process given this token in its environment shares its parent's lock (e.g. launch → rank 0). */
export const inheritedLockVariable = 'FLATDIST_LOCK_TOKEN';

/** A process's state and start time from /proc (Linux), or null elsewhere. */
function procStat(pid: number): { state: string; startTicks: number } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) in parentheses: state is field 3, starttime field 22.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0], startTicks: Number(fields[19]) };
  } catch {
    return null;
  }
}

/** Whether the owner's process still runs: false when surely gone, null when it cannot be told (another host). */
export function ownerAlive(o: LockOwner): boolean | null {
  if (o.host !== hostname()) return null;
  try {
    process.kill(o.pid, 0);
  } catch (e) {
    // EPERM: the process exists but belongs to another user.
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  const stat = procStat(o.pid);
  if (stat === null) return true;
  return stat.state !== 'Z' && (o.startTicks === null || stat.startTicks === o.startTicks);
}

function parseOwner(text: string): LockOwner | null {
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    return typeof o.pid === 'number' && typeof o.host === 'string' && typeof o.token === 'string'
      ? {
          pid: o.pid,
          host: o.host,
          started: String(o.started),
          command: String(o.command),
          token: o.token,
          startTicks: typeof o.startTicks === 'number' ? o.startTicks : null,
        }
      : null;
  } catch {
    return null;
  }
}

const readText = (file: string): string | null => {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw osError(e, 'cannot read the lock', file);
  }
};

export const describeOwner = (o: LockOwner): string =>
  `${o.command} (pid ${o.pid} on host ${o.host}, since ${o.started})`;

/** Creates the lock file exclusively; false when it exists. */
function create(file: string, owner: LockOwner): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw osError(e, 'cannot create the lock', file);
  }
  try {
    writeSync(fd, `${JSON.stringify(owner)}\n`);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(file, { force: true });
    throw osError(e, 'cannot write the lock', file);
  }
  closeSync(fd);
  return true;
}

/**
 * Moves a stale lock out of the way — only if it is still the one judged stale. Two
 * processes may judge the same lock stale at once: each renames what is there to a
 * private name and checks it; one that moved a fresh lock by mistake links it back.
 */
function removeStale(file: string, staleText: string): void {
  const aside = `${file}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    renameSync(file, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw osError(e, 'cannot replace the stale lock', file);
  }
  if (readText(aside) !== staleText) {
    try {
      linkSync(aside, file);
    } catch {
      /* a newer lock is already in place */
    }
  }
  rmSync(aside, { force: true });
}

/** A lock file older than this that holds no owner was left by a process killed while creating it. */
const unfinishedAfterMs = 5000;

/** Blocks this thread for a while (the callers are synchronous). */
const pause = (ms: number): void => void Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * Takes the lock `file` for this process.
 * @param command who holds it, named to a process that finds it taken
 * @throws UserError naming the owner when a live process (or one on another host) holds it
 * @throws FileSystemError when the lock cannot be created
 */
export function acquireLock(file: string, command: string): Lock {
  const inherited = process.env[inheritedLockVariable];
  const owner: LockOwner = {
    pid: process.pid,
    host: hostname(),
    started: new Date().toISOString(),
    command,
    token: randomBytes(12).toString('hex'),
    startTicks: procStat(process.pid)?.startTicks ?? null,
  };
  let replaced: LockOwner | null = null;
  for (let attempt = 0; attempt < 100; attempt++) {
    if (create(file, owner)) return held(file, owner, replaced, true);
    const text = readText(file);
    if (text === null) continue;
    const current = parseOwner(text);
    if (current === null) {
      let age: number;
      try {
        age = Date.now() - statSync(file).mtimeMs;
      } catch {
        continue;
      }
      // Another process is between creating the lock and writing its name into it: wait for the name.
      if (age < unfinishedAfterMs) pause(10);
      else removeStale(file, text);
      continue;
    }
    if (inherited !== undefined && current.token === inherited) return held(file, current, null, false);
    const alive = ownerAlive(current);
    if (alive === true)
      throw new UserError(
        `${file}: the folder is in use by ${describeOwner(current)} — wait for it to finish, or give another folder`,
      );
    if (alive === null) {
      throw new UserError(
        `${file}: the folder is in use by ${describeOwner(current)}, which cannot be checked from here — if that process is gone, delete ${file}`,
      );
    }
    replaced = current;
    removeStale(file, text);
  }
  throw new UserError(`${file}: could not take the lock (other processes keep taking it) — try again`);
}

/** A lock this process holds; `own` is false for one inherited from the parent (which releases it). */
function held(file: string, owner: LockOwner, replaced: LockOwner | null, own: boolean): Lock {
  const release = (): void => {
    if (!own) return;
    process.off('exit', release);
    try {
      if (parseOwner(readText(file) ?? '')?.token === owner.token) rmSync(file, { force: true });
    } catch {
      /* a lock left behind is recognised as stale once this process is gone */
    }
  };
  if (own) process.on('exit', release);
  return { file, owner, replaced, release };
}
