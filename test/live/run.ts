// Live-test helpers: run fdwatch as a user would, wait for what it prints (no sleeps), read its NDJSON.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FdwatchRecord } from '../../src/model/records.js';
import { root } from '../paths.js';

export const BIN = path.join(root, 'bin', 'fdwatch.js');
export const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fdwatch-live-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

export interface Running {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  /** resolves when `re` matches stdout+stderr; rejects after `ms` */
  waitFor: (re: RegExp, ms?: number) => Promise<void>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
}

export function fdwatch(args: string[], env: NodeJS.ProcessEnv = {}): Running {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: tmp, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters: Array<{ re: RegExp; resolve: () => void }> = [];
  const check = (): void => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (waiters[i]!.re.test(out + err)) { waiters[i]!.resolve(); waiters.splice(i, 1); }
    }
  };
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; check(); });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; check(); });
  const started = Date.now();
  // 'exit' can come before the last of its stdout and stderr is read (a one-line error, under load): the result
  // waits for both to end, or 100 ms at most (a launched command or a tracer may still hold them)
  const ended = (s: NodeJS.ReadableStream): Promise<void> => new Promise((resolve) => { s.once('end', resolve); s.once('close', resolve); });
  const drained = Promise.all([ended(child.stdout!), ended(child.stderr!)]);
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>((resolve) => {
    child.on('exit', (code, signal) => {
      const ms = Date.now() - started;
      void Promise.race([drained, new Promise((r) => setTimeout(r, 100))]).then(() => resolve({ code, signal, ms }));
    });
  });
  return {
    child,
    out: () => out,
    err: () => err,
    exit,
    waitFor: (re, ms = 15000) => new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out waiting for ${re}; output:\n${tail(out)}\n${tail(err)}`)), ms);
      waiters.push({ re, resolve: () => { clearTimeout(t); resolve(); } });
      check();
      void exit.then(() => setTimeout(() => { check(); reject(new Error(`fdwatch exited before ${re}; output:\n${tail(out)}\n${tail(err)}`)); }, 50));
    }),
  };
}

/** The end of a long output, for failure messages. */
const tail = (s: string): string => (s.length > 3000 ? '...' + s.slice(-3000) : s);

export function records(file: string): FdwatchRecord[] {
  return fs.readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as FdwatchRecord);
}

export function compile(name: string, extra: string[] = []): string {
  const exe = path.join(tmp, name);
  if (!fs.existsSync(exe)) execFileSync('cc', ['-O1', '-o', exe, path.join(root, 'fixtures', 'programs', `${name}.c`), ...extra]);
  return exe;
}

/** State letter and TracerPid of a process from /proc. */
export function procState(pid: number): { state: string; tracer: number } {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return { state: /^State:\s+(\S)/m.exec(s)![1]!, tracer: Number(/^TracerPid:\s+(\d+)/m.exec(s)![1]) };
}

/** Direct children of a process (every thread's), from /proc/PID/task/TID/children; [] once it is gone. */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  let tids: string[];
  try { tids = fs.readdirSync(`/proc/${pid}/task`); } catch { return out; }
  for (const t of tids) {
    try {
      for (const c of fs.readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/)) if (c) out.push(Number(c));
    } catch { /* thread gone */ }
  }
  return out;
}

/** Every descendant of a process, depth first. */
export function descendantsOf(pid: number): number[] {
  const out: number[] = [];
  for (const c of childrenOf(pid)) out.push(c, ...descendantsOf(c));
  return out;
}

/** State letter and TracerPid, or null when the process is gone. */
export function procStateOrNull(pid: number): { state: string; tracer: number } | null {
  try { return procState(pid); } catch { return null; }
}

export function comm(pid: number): string | null {
  try { return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim(); } catch { return null; }
}

/**
 * How long the kernel may take to let go of a native eBPF session's programs once its perf events close ('syscalls'
 * attach): they are released one after another, each behind a grace period taken under the kernel's event_mutex
 * (~7.6 s for 93 of them after a kill -9 on an idle 2-core VM with stolen time; longer while another test file's
 * sessions release theirs, as under `npm test`'s two jobs: 10 s was once not enough). A wait on it ends as soon as
 * the programs are gone; programs that stayed would stay for good.
 */
export const PROBES_RELEASE_MS = 30_000;

/** Polls a condition on /proc (which has no readiness event) until it holds; rejects after `ms`. */
export async function until(what: string, pred: () => boolean, ms = 10_000, every = 10): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if (pred()) return Date.now() - t0;
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/** Freed: not traced and not stopped (a zombie or a gone process counts as freed too). */
export function untraced(pid: number): boolean {
  const s = procStateOrNull(pid);
  return s === null || (s.tracer === 0 && s.state !== 't' && s.state !== 'T');
}

/** Kills what a test started, strace included, by pid: SIGKILL, then the tracer is gone and the kernel detaches. */
export function killAll(pids: Iterable<number>): void {
  for (const p of pids) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
}

/**
 * `fdwatch --no-tui --json - -- python3 NAME.py` (the program's text `py`) with fdwatch's own main thread under
 * `strace -e trace=CALLS` (not -f: the strace fdwatch runs is left alone): what fdwatch itself asked the kernel.
 * Resolves once it exited, with its exit status, stderr, records and the log's text.
 */
export async function underStrace(calls: string, name: string, py: string): Promise<{ code: number | null; err: string; recs: FdwatchRecord[]; log: string }> {
  const prog = path.join(tmp, `${name}.py`);
  fs.writeFileSync(prog, py);
  const json = path.join(tmp, `${name}.ndjson`);
  const log = path.join(tmp, `${name}.strace`);
  const python = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const c = spawn('strace', ['-o', log, '-e', `trace=${calls}`, process.execPath, BIN, '--backend', 'strace', '--no-tui', '--json', json, '--', python, prog],
    { cwd: tmp, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  c.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; });
  const code = await new Promise<number | null>((resolve) => c.on('exit', (x) => resolve(x)));
  return { code, err, recs: fs.existsSync(json) ? records(json) : [], log: fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '' };
}

/**
 * A python program: a parent passes `n` fds of /etc/hostname in one message over a socketpair to its child, which
 * waits `delayS` seconds before it receives them; exits 0 when the child got all `n`.
 */
export function passToChild(n: number, delayS = 0): string {
  return [
    'import os, socket, time',
    'a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)',
    'pid = os.fork()',
    'if pid == 0:',
    '    a.close()',
    `    time.sleep(${delayS})`,
    `    msg, fds, flags, addr = socket.recv_fds(b, 16, ${n})`,
    `    os._exit(0 if len(fds) == ${n} else 1)`,
    'b.close()',
    `socket.send_fds(a, [b'x'], [os.open('/etc/hostname', os.O_RDONLY) for _ in range(${n})])`,
    '_, st = os.waitpid(pid, 0)',
    'os._exit(os.waitstatus_to_exitcode(st))',
  ].join('\n') + '\n';
}
