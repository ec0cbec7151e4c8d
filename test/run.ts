// Runs every dist/test/**/*.test.js (or those whose path contains FILTER), each in a process of its own
// (test/harness/child.ts) so that one file's crash or hang cannot hide the others. Prints a line per file,
// every failure with its test's name and error (a crashed file: what happened and its stderr's tail), and
// closes with "N passed, N failed" (", N skipped") for CI; exit 1 on any failure or when no test ran.
//
//   node dist/test/run.js [--jobs N] [--timeout SECONDS] [--dir DIR] [FILTER]
//     --jobs N       files run at once (default 2)
//     --timeout S    a file still running after S seconds is killed with its process group (default 300)
//     --dir DIR      where the compiled tests are (default: dist/test; the runner's own test points it elsewhere)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { closingLine, fileResult, tail, thrown, type FileResult } from './harness/report.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const CHILD = path.join(here, 'harness', 'child.js');
const STDERR_TAIL = 20;

interface Options { jobs: number; timeoutMs: number; dir: string; filter: string }

function usage(problem: string): never {
  process.stderr.write(`run: ${problem}\nusage: node dist/test/run.js [--jobs N] [--timeout SECONDS] [--dir DIR] [FILTER]\n`);
  process.exit(2);
}

function options(argv: string[]): Options {
  const o: Options = { jobs: 2, timeoutMs: 300_000, dir: here, filter: '' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => argv[++i] ?? usage(`${a} needs a value`);
    if (a === '--jobs') {
      o.jobs = Number(value());
      if (!Number.isInteger(o.jobs) || o.jobs < 1) usage(`--jobs takes a whole number >= 1, not ${argv[i]}`);
    } else if (a === '--timeout') {
      o.timeoutMs = Number(value()) * 1000;
      if (!(o.timeoutMs > 0)) usage(`--timeout takes a number of seconds > 0, not ${argv[i]}`);
    } else if (a === '--dir') {
      o.dir = path.resolve(value());
    } else if (a.startsWith('--')) {
      usage(`unknown option ${a}`);
    } else if (o.filter) {
      usage(`one FILTER only (got ${o.filter} and ${a})`);
    } else {
      o.filter = a;
    }
  }
  return o;
}

/** Test files under `dir`, as sorted paths relative to it with "/" separators. */
function findTests(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory() && e.name !== 'node_modules') walk(r);
      else if (e.isFile() && e.name.endsWith('.test.js')) out.push(r);
    }
  };
  walk('');
  return out.sort();
}

/** Live members of a process group (not zombies), as "pid comm". */
function groupMembers(pgid: number): string[] {
  const out: string[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try { stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8'); } catch { continue; }
    const close = stat.lastIndexOf(')');
    const [state, , pgrp] = stat.slice(close + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z') out.push(`${name} ${stat.slice(stat.indexOf('(') + 1, close)}`);
  }
  return out;
}

interface Ran { file: string; result: FileResult; ms: number; stdout: string; stderr: string; leftover: string[] }

const running = new Set<number>();

function runFile(opts: Options, file: string, events: string): Promise<Ran> {
  const started = Date.now();
  // its own process group (detached), so that a timeout or ^C kills whatever the file started with it
  const child = spawn(process.execPath, [CHILD, path.join(opts.dir, file), events], {
    cwd: root, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pgid = child.pid!;
  running.add(pgid);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  let timedOutMs: number | null = null;
  const timer = setTimeout(() => {
    timedOutMs = opts.timeoutMs;
    try { process.kill(-pgid, 'SIGKILL'); } catch { /* gone already */ }
  }, opts.timeoutMs);
  return new Promise<Ran>((resolve) => {
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const ms = Date.now() - started;
      // a process the file left behind may still hold its stdout: wait for the pipes a little, not forever
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        const leftover = groupMembers(pgid);
        if (leftover.length) { try { process.kill(-pgid, 'SIGKILL'); } catch { /* exited meanwhile */ } }
        running.delete(pgid);
        child.stdout!.destroy();
        child.stderr!.destroy();
        let lastStarted: string | null = null;
        try {
          const lines = fs.readFileSync(events, 'utf8').trim().split('\n').filter(Boolean);
          if (lines.length) lastStarted = JSON.parse(lines[lines.length - 1]!) as string;
        } catch { /* no test had started */ }
        const result = fileResult({ code, signal, timedOutMs, stdout, stderr, lastStarted });
        resolve({ file, result, ms, stdout, stderr, leftover });
      };
      child.once('close', finish);
      setTimeout(finish, 2000).unref();
    });
  });
}

const indent = (lines: string[], pad: string): string => lines.map((l) => `${pad}${l}`).join('\n');

/** What a file printed from its first FAIL block on (uvu's own rendering: message, diff, stack). */
function failBlocks(stdout: string): string {
  const i = stdout.search(/^ {3}FAIL {2}/m);
  if (i < 0) return '';
  const j = stdout.search(/^ {2}Total: /m);
  // less the "(0 / 0)" of the empty run child.ts queues after the file's own
  return stdout.slice(i, j > i ? j : undefined).replace(/^ {2}\(0 \/ 0\)$/m, '').trimEnd();
}

function report(r: Ran): string {
  const { passed, failed, skipped } = r.result;
  const counts = `${passed}/${passed + failed}${skipped ? `, ${skipped} skipped` : ''}`;
  const head = `${failed ? 'FAIL' : 'ok  '}  ${r.file}  (${counts})  ${(r.ms / 1000).toFixed(2)} s`;
  const parts = [head];
  if (r.leftover.length) parts.push(`      left ${r.leftover.length} process(es) running, killed: ${r.leftover.join(', ')}`);
  if (!failed) return parts.join('\n');
  const blocks = failBlocks(r.stdout);
  if (blocks) parts.push(blocks);
  if (r.result.crash) parts.push(`   CRASH  ${r.file} ${r.result.crash}`);
  const err = tail(r.stderr, STDERR_TAIL);
  if (err.length) parts.push(`    stderr (last ${err.length} lines):\n${indent(err, '    | ')}`);
  return `${parts.join('\n')}\n`;
}

function recap(ran: Ran[]): string {
  const lines: string[] = [];
  for (const r of ran) {
    for (const f of r.result.failures) {
      lines.push(`  ✘ ${r.file} › ${f.name}`);
      if (f.message) lines.push(indent(f.message.split('\n').slice(0, 4), '      '));
    }
    if (r.result.crash) {
      lines.push(`  ✘ ${r.file}: ${r.result.crash}`);
      const t = thrown(r.stderr);
      if (t) lines.push(`      ${t}`);
    }
  }
  return lines.length ? `\nFailures:\n${lines.join('\n')}\n` : '';
}

async function main(): Promise<number> {
  const opts = options(process.argv.slice(2));
  if (!fs.existsSync(CHILD)) usage(`${CHILD} is missing: run npm run build first`);
  let files: string[];
  try { files = findTests(opts.dir); } catch (err) { usage(`cannot read ${opts.dir}: ${(err as Error).message}`); }
  files = files.filter((f) => f.includes(opts.filter));
  if (!files.length) {
    console.log(`run: no test file under ${opts.dir}${opts.filter ? ` matches "${opts.filter}"` : ''}`);
    console.log(closingLine(0, 0, 0));
    return 1;
  }
  const eventsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdwatch-run-'));
  // the native engine's cache (src/bpf/native/cache.ts) in the run's own directory, not the user's ~/.cache: the
  // suite's first load builds it, the rest read it, and it goes with the run
  if (process.env['FDWATCH_CACHE'] === undefined) process.env['FDWATCH_CACHE'] = path.join(eventsDir, 'cache');
  const stop = (signal: NodeJS.Signals): void => {
    for (const pgid of running) { try { process.kill(-pgid, 'SIGKILL'); } catch { /* gone */ } }
    fs.rmSync(eventsDir, { recursive: true, force: true });
    console.log(`run: interrupted by ${signal}`);
    process.exit(128 + os.constants.signals[signal]);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const started = Date.now();
  const ran: Array<Ran | undefined> = new Array(files.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const i = next++;
      const r = await runFile(opts, files[i]!, path.join(eventsDir, `${i}.events`));
      ran[i] = r;
      console.log(report(r));
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.jobs, files.length) }, worker));
  fs.rmSync(eventsDir, { recursive: true, force: true });
  const all = ran.filter((r): r is Ran => r !== undefined);
  const sum = (k: 'passed' | 'failed' | 'skipped'): number => all.reduce((n, r) => n + r.result[k], 0);
  const [passed, failed, skipped] = [sum('passed'), sum('failed'), sum('skipped')];
  process.stdout.write(recap(all));
  console.log(`\n${files.length} files in ${((Date.now() - started) / 1000).toFixed(1)} s, ${opts.jobs} at a time`);
  console.log(closingLine(passed, failed, skipped));
  return failed > 0 || passed + failed === 0 ? 1 : 0;
}

process.exitCode = await main();
