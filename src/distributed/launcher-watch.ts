// The worker thread of watchLauncher (supervision.ts). The launcher never writes
// to its pipe, so the pipe's end is the launcher's end. The agent's main thread
// may be blocked in native code, so this thread writes to stderr itself and
// stops the process with a signal.
import { writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { workerData } from 'node:worker_threads';

const { fd, rank, launcher } = workerData as { fd: number; rank: number; launcher: string };
const pipe = new Socket({ fd, readable: true, writable: false });
pipe.resume();
// A broken pipe is a launcher gone too; 'close' follows either way.
pipe.on('error', () => undefined);
pipe.on('close', () => {
  writeSync(2, `flatdist: rank ${rank}: the launcher (process ${launcher}) is gone — stopping this agent\n`);
  process.kill(process.pid, 'SIGTERM');
  // A SIGTERM handler of the main thread would run only once that thread is free.
  setTimeout(() => process.kill(process.pid, 'SIGKILL'), 5000);
});
