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
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal, ms: Date.now() - started }));
  });
  return {
    child,
    out: () => out,
    err: () => err,
    exit,
    waitFor: (re, ms = 15000) => new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out waiting for ${re}; output:\n${out}\n${err}`)), ms);
      waiters.push({ re, resolve: () => { clearTimeout(t); resolve(); } });
      check();
      void exit.then(() => setTimeout(() => { check(); reject(new Error(`fdwatch exited before ${re}; output:\n${out}\n${err}`)); }, 50));
    }),
  };
}

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
