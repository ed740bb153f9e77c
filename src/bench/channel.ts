// A measuring process (the flatdist worker or the PyTorch peer) driven over the
// line protocol of protocol.ts: one request at a time, one JSON reply per line.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import type { Request } from './protocol.js';

export class Channel {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: Interface;
  private readonly waiting: ((line: string | null) => void)[] = [];
  private stderr = '';
  /** The process has exited or could not start: every request from then on fails at once. */
  private ended = false;

  constructor(
    readonly name: string,
    command: string,
    args: string[],
    env: NodeJS.ProcessEnv,
  ) {
    this.child = spawn(command, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
    const end = (): void => {
      this.ended = true;
      this.waiting.splice(0).forEach((w) => w(null));
    };
    this.child.on('error', (e) => {
      this.stderr += e.message;
      end();
    });
    // Writing to a process that has exited fails with EPIPE: the request then fails, the benchmark does not crash.
    this.child.stdin.on('error', end);
    this.lines = createInterface({ input: this.child.stdout });
    this.lines.on('line', (line) => this.waiting.shift()?.(line));
    this.lines.on('close', end);
  }

  /** The reply to one request; throws with the process's own error message when it fails. */
  async request<R>(req: Request): Promise<R> {
    const line = this.ended
      ? null
      : await new Promise<string | null>((resolve) => {
          this.waiting.push(resolve);
          this.child.stdin.write(JSON.stringify(req) + '\n');
        });
    if (line === null)
      throw new Error(`${this.name} exited: ${this.stderr.trim().split('\n').slice(-3).join(' | ') || 'no message'}`);
    const reply = JSON.parse(line) as R & { error?: string };
    if (reply.error !== undefined) throw new Error(`${this.name}: ${reply.error}`);
    return reply;
  }

  close(): void {
    this.child.stdin.end();
  }
}

/** Runs a command to completion and returns its stdout; rejects with its stderr's tail on failure. */
export function runOnce(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-4000);
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(out)
        : reject(new Error(`${command} exited with ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`)),
    );
  });
}
