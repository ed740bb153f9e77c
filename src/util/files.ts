// Files that hold research data: each is written whole or not at all, every byte is
// checked, and a refusal of the operating system is one line naming the file and why.
//
//   write:  temporary file beside the target → every byte written (short writes retried,
//           the size checked) → fsync → rename over the target (atomic within a file
//           system) → fsync of the folder, so the rename itself survives a crash.
//   append: every byte written → fsync; on failure the file is cut back to its old size,
//           so it never ends in half a line.
//
// Under a file-size limit (ulimit -f) the kernel sends SIGXFSZ; Node ignores that signal
// from startup, so the write returns EFBIG and is reported like a full disk.
import {
  closeSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { dirname, resolve } from 'node:path';
import { FileSystemError } from '../errors.js';

/** Errors the user's environment causes (exit 2), and what they mean. */
const causes: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large for the file-size limit (ulimit -f)',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'is a folder, not a file',
  EEXIST: 'already exists',
  ENOENT: 'no such file or folder',
  ENAMETOOLONG: 'name too long',
  ELOOP: 'too many levels of symbolic links',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
};

const errnoOf = (e: unknown): NodeJS.ErrnoException | null =>
  e instanceof Error &&
  typeof (e as NodeJS.ErrnoException).code === 'string' &&
  (e as NodeJS.ErrnoException).syscall !== undefined
    ? (e as NodeJS.ErrnoException)
    : null;

/** What a system call was doing, for an error that reaches the command line unexplained. */
const actions: Record<string, string> = {
  mkdir: 'cannot create the folder',
  open: 'cannot open',
  read: 'cannot read',
  write: 'cannot write',
  rename: 'cannot rename',
  unlink: 'cannot remove',
  rmdir: 'cannot remove',
  scandir: 'cannot list the folder',
  stat: 'cannot find',
  lstat: 'cannot find',
};

/**
 * An operating-system error as a one-line message: a FileSystemError (exit 2) for the
 * causes above, otherwise an Error naming the file; anything else is returned unchanged.
 * @param action what was being done, e.g. 'cannot write' (default: from the system call)
 */
export function osError(e: unknown, action?: string, path?: string): Error {
  const errno = errnoOf(e);
  if (errno === null) return e instanceof Error ? e : new Error(String(e));
  const file = path ?? errno.path ?? '(unknown file)';
  const code = errno.code as string;
  action ??= actions[errno.syscall as string] ?? `cannot ${errno.syscall as string}`;
  const cause = causes[code];
  if (cause === undefined) return new Error(`${file}: ${action}: ${errno.message}`);
  return new FileSystemError(file, code, `${action}: ${cause} (${code})`);
}

/** Why a file the user named cannot be read, in the words of `flatdist … FILE`. */
const unreadable: Record<string, string> = {
  ENOENT: 'no such file',
  ENOTDIR: 'no such file (a part of the path is a file, not a folder)',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'is a folder, not a file',
};

/**
 * The bytes of a file the user named (a config, a matrix, a problem, a checkpoint).
 * @param hint what to give instead, said after the reason (e.g. 'give a run folder or a .safetensors checkpoint')
 * @throws FileSystemError "FILE: no such file", "FILE: permission denied", "FILE: is a folder, not a file" (then
 *   the hint), or another refusal of the system
 */
export function readUserFile(path: string, hint?: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    const code = errnoOf(e)?.code;
    const why = code === undefined ? undefined : unreadable[code];
    if (why === undefined) throw osError(e, 'cannot read', path);
    throw new FileSystemError(path, code as string, hint === undefined ? why : `${why} — ${hint}`);
  }
}

/** The text (UTF-8) of a file the user named; @throws as readUserFile. */
export const readUserText = (path: string, hint?: string): string => readUserFile(path, hint).toString('utf8');

/** Whether an error came from the operating system (it has an errno code and a system call). */
export const isOsError = (e: unknown): boolean => errnoOf(e) !== null;

/**
 * Creates a folder and its parents (nothing when it exists), one level at a time: Node's
 * recursive mkdir reports ENOENT for a read-only parent, which would hide the cause.
 * @throws FileSystemError when a file is in the way or a folder cannot be created
 */
export function makeFolder(path: string): void {
  const missing: string[] = [];
  for (let p = resolve(path); ; p = dirname(p)) {
    let isFolder: boolean;
    try {
      isFolder = statSync(p).isDirectory();
    } catch (e) {
      const code = errnoOf(e)?.code;
      if ((code === 'ENOENT' || code === 'ENOTDIR') && dirname(p) !== p) {
        missing.push(p);
        continue;
      }
      throw osError(e, 'cannot create the folder', path);
    }
    if (!isFolder)
      throw new FileSystemError(
        path,
        'ENOTDIR',
        `cannot create the folder: ${p} is a file, not a folder — give another path`,
      );
    break;
  }
  for (const p of missing.reverse()) {
    try {
      mkdirSync(p);
    } catch (e) {
      // Another process may have created it meanwhile.
      if (errnoOf(e)?.code === 'EEXIST' && statSync(p).isDirectory()) continue;
      throw osError(e, 'cannot create the folder', path);
    }
  }
}

/**
 * The names in a folder; none when it does not exist.
 * @throws FileSystemError when it cannot be read
 */
export function listFolder(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (e) {
    if (errnoOf(e)?.code === 'ENOENT') return [];
    throw osError(e, 'cannot list the folder', dir);
  }
}

/**
 * Removes a file or a folder with everything in it (nothing when it does not exist).
 * @throws FileSystemError when it cannot be removed
 */
export function remove(path: string): void {
  try {
    rmSync(path, { recursive: true, force: true });
  } catch (e) {
    throw osError(e, 'cannot remove', path);
  }
}

/** The temporary name a write to `path` goes through before its rename. */
const temporaryName = (path: string): string => `${path}.tmp-${process.pid}`;

/** Whether a file name is a temporary file of an unfinished write (left behind by a killed process). */
export const isTemporary = (name: string): boolean => /\.tmp-\d+$/.test(name);

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) {
    const n = writeSync(fd, bytes, done, bytes.length - done);
    // A regular file never takes zero bytes of a non-empty write unless it cannot take any.
    if (n <= 0) throw Object.assign(new Error('the write made no progress'), { code: 'ENOSPC', syscall: 'write' });
    done += n;
  }
}

/** fsync of a folder, so that a rename or a new file in it is durable. */
function syncFolder(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } catch (e) {
    // Some file systems cannot fsync a folder; the rename is then as durable as they make it.
    if (errnoOf(e)?.code !== 'EINVAL' && errnoOf(e)?.code !== 'ENOTSUP') throw e;
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes a file whole or not at all (see the top of this file): after a failure the file
 * at `path` is as it was before.
 * @throws FileSystemError (disk full, file-size limit, read-only, permissions…) naming the file
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  const tmp = temporaryName(path);
  let fd: number | null = null;
  try {
    fd = openSync(tmp, 'w');
    writeAll(fd, bytes);
    fsyncSync(fd);
    const size = fstatSync(fd).size;
    if (size !== bytes.length)
      throw Object.assign(new Error(`wrote ${size} of ${bytes.length} bytes`), { code: 'EIO', syscall: 'write' });
    closeSync(fd);
    fd = null;
    renameSync(tmp, path);
    syncFolder(dirname(path));
  } catch (e) {
    // Clean up as far as possible; the error that matters is the first one.
    try {
      if (fd !== null) closeSync(fd);
      rmSync(tmp, { force: true });
    } catch {
      /* a leftover temporary file is removed when the folder is next claimed */
    }
    throw osError(e, 'cannot write (the file is unchanged)', path);
  }
}

/**
 * Appends text to a file (created when missing) and makes it durable; on failure the file
 * is cut back to its old length.
 * @throws FileSystemError naming the file
 */
export function appendDurable(path: string, text: string): void {
  let fd: number | null = null;
  let size = 0;
  try {
    fd = openSync(path, 'a');
    size = fstatSync(fd).size;
    writeAll(fd, Buffer.from(text));
    fsyncSync(fd);
    if (size === 0) syncFolder(dirname(path));
  } catch (e) {
    try {
      if (fd !== null) ftruncateSync(fd, size);
    } catch {
      /* a half line left at the end is dropped when the run is resumed */
    }
    throw osError(e, 'cannot append (the file is unchanged)', path);
  } finally {
    if (fd !== null) closeSync(fd);
  }
}
