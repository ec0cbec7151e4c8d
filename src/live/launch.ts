// Starting strace (I/O edge): the trace channel and the spawn of strace, and nothing of the trace pipeline, so a
// launched command can start while the rest of fdwatch loads (src/cli/watch.ts); src/live/trace.ts takes it over.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LiveError } from '../model/errors.js';
import * as native from '../native/index.js';
import { straceArgv, straceCommand, straceEnv, TRACE_FD, COMMAND_STDERR_FD } from './strace.js';

/** The path of a command as the shell would find it on PATH (or as given, with a slash), or null. */
export function which(cmd: string): string | null {
  if (cmd.includes('/')) return fs.existsSync(cmd) ? cmd : null;
  for (const dir of (process.env['PATH'] ?? '/usr/bin:/bin').split(':')) {
    const p = path.join(dir || '.', cmd);
    try { fs.accessSync(p, fs.constants.X_OK); if (fs.statSync(p).isFile()) return p; } catch { /* next */ }
  }
  return null;
}

/** What needs no process to look at: strace itself, and the command to launch. */
export function preflightCommand(command: string[] | null): void {
  if (!which('strace')) throw new LiveError('strace is not installed: install the strace package (apt-get install strace)');
  if (command && command.length > 0 && !which(command[0]!)) throw new LiveError(`command not found: ${command[0]}`);
}

/**
 * The trace channel: a pipe from the native calls (loaded before strace starts anyway, to grow it); where they
 * are unavailable, a FIFO opened at both ends (non-blocking, so neither open waits) and unlinked at once, so
 * nothing is left on disk however fdwatch ends. strace inherits the write end and opens /proc/self/fd/N; fdwatch
 * reads the other end as a libuv stream on the event loop, never in a threadpool read that could block exit.
 */
function traceChannel(): { read: number; write: number } {
  const p = native.pipe();
  if (!native.isUnavailable(p) && !native.isFailed(p)) return { read: p[0], write: p[1] };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdwatch-'));
  try {
    const fifo = path.join(dir, 'trace');
    const mk = spawnSync('mkfifo', ['-m', '600', fifo], { encoding: 'utf8' });
    if (mk.status !== 0) throw new LiveError(`cannot create a FIFO in ${dir}: ${(mk.stderr || mk.error?.message || '').trim()}`);
    const read = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    const write = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
    return { read, write };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** What the trace channel holds before strace waits on fdwatch: 1 MiB (pipe-max-size's default), not 64 KiB. */
export const CHANNEL_BYTES = 1 << 20;

/** strace running, as startLive takes it over. */
export interface Strace {
  child: ChildProcess;
  /** the read end of the trace channel */
  channel: number;
  /** util-linux's setpriv, which strace runs under (null: not installed, no parent-death signal) */
  setpriv: string | null;
  /** strace's exit (a failed exec is status 127) */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** until startLive has its own: fdwatch ending ends strace too */
  dropExitHook(): void;
}

export interface StraceSpawn {
  pids: number[];
  command: string[] | null;
  /** the launched command's stdout and stderr go to this file, its stdin is /dev/null (under the dashboard) */
  commandOutput?: string | null | undefined;
}

/** Starts strace (under `setpriv --pdeathsig`) writing to a new trace channel; -p processes must be snapshotted first. */
export function spawnStrace(o: StraceSpawn): Strace {
  const setpriv = which('setpriv');
  const stderrFd = o.command ? COMMAND_STDERR_FD : null;
  const argv = straceArgv({ pids: o.pids, command: o.command, output: `/proc/self/fd/${TRACE_FD}`, stderrFd, closeFds: [TRACE_FD] });
  const channel = traceChannel();
  // the channel holds CHANNEL_BYTES before strace starts: a burst of the trace (a program starting, a slow batch,
  // fdwatch still loading or stopped) waits there instead of stopping strace and every tracee; else 64 KiB
  native.setPipeSize(channel.read, CHANNEL_BYTES);
  const stdio: Array<'inherit' | 'pipe' | 'ignore' | number> = ['inherit', 'inherit', 'pipe', channel.write];
  let outFd: number | null = null;
  try {
    if (o.command && o.commandOutput) {
      outFd = fs.openSync(o.commandOutput, 'a');
      stdio[0] = 'ignore';
      stdio[1] = outFd;
      stdio.push(outFd);
    } else if (stderrFd !== null) {
      stdio.push(2);
    }
  } catch (e) {
    fs.closeSync(channel.read);
    fs.closeSync(channel.write);
    throw e;
  }
  const run = straceCommand(argv, setpriv);
  let child: ChildProcess;
  try {
    child = spawn(run.file, run.args, { stdio, env: straceEnv() });
  } finally {
    // strace holds its own copies now: the write end must not stay open here, or the reader never sees EOF
    fs.closeSync(channel.write);
    if (outFd !== null) fs.closeSync(outFd);
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
    // a failed exec closes the child's copy of the write end too: the channel reads EOF and the reading ends
    child.on('error', () => resolve({ code: 127, signal: null }));
  });
  const onExit = (): void => { if (child.exitCode === null && child.signalCode === null) { try { child.kill('SIGTERM'); } catch { /* gone */ } } };
  process.on('exit', onExit);
  return { child, channel: channel.read, setpriv, exited, dropExitHook: () => process.removeListener('exit', onExit) };
}
