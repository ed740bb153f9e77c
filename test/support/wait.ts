// Waiting on something another process makes, with every way out: the thing appears, a process
// it depends on ends first, or the deadline passes. A wait in a test never hangs.
import { existsSync } from 'node:fs';
import type { Running } from './spawn.js';

/**
 * Resolves once `path` exists (checked every 20 ms).
 * @throws Error when one of `processes` exits before (with its exit code and stderr), or after `timeoutMs`.
 */
export async function untilExists(path: string, processes: Running[], timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(path)) {
    const ended = processes.find((p) => p.child.exitCode !== null || p.child.signalCode !== null);
    if (ended) {
      const f = await ended.done;
      throw new Error(`a process ended (${f.code ?? f.signal}) before ${path} appeared: ${f.stderr}`);
    }
    if (Date.now() > deadline) throw new Error(`${path} did not appear within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
