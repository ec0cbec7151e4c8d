// Faults at the command line: a reader that closes the pipe early, signals during a replay, bad values.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { root } from '../paths.js';
import { openNdjson } from '../../src/export/ndjson.js';

const BIN = path.join(root, 'bin', 'fdwatch.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fdwatch-faults-cli-'));
const clean = (): void => fs.rmSync(tmp, { recursive: true, force: true });
process.on('exit', clean);

function fdwatch(args: string[], input?: string): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', input, cwd: tmp, maxBuffer: 64 << 20 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** `fdwatch ARGS | head -1` in bash: fdwatch's own status and stderr. */
function intoHead(args: string): { rc: number; err: string; first: string } {
  const r = spawnSync('bash', ['-c', `"${process.execPath}" "${BIN}" ${args} | head -1; echo "rc=\${PIPESTATUS[0]}" >&2`],
    { encoding: 'utf8', cwd: tmp, timeout: 30_000 });
  const m = /rc=(\d+)\n$/.exec(r.stderr);
  assert.ok(m, `bash finished: ${r.stderr}`);
  return { rc: Number(m![1]), err: r.stderr.slice(0, m!.index), first: r.stdout };
}

/** A trace of one process holding `n` open files at the end: a big report and many records. */
function bigTrace(n: number): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) lines.push(`100 1700000000.${String(i).padStart(6, '0')} openat(AT_FDCWD</>, "/tmp/f${i}", O_RDONLY) = ${i + 3}</tmp/f${i}>`);
  lines.push('100 1700000001.000000 +++ exited with 0 +++');
  return lines.join('\n') + '\n';
}

const trace = path.join(tmp, 'big.log');
fs.writeFileSync(trace, bigTrace(20_000));

// a process holding thousands of fds: its snapshot is far bigger than a pipe's buffer
function holder(): { pid: number; kill: () => void } {
  const c = spawn('python3', ['-c', 'import os, sys\nfds = [os.open("/dev/null", os.O_RDONLY) for _ in range(3000)]\nprint("ok", flush=True)\nsys.stdin.read()'],
    { stdio: ['pipe', 'pipe', 'inherit'] });
  return { pid: c.pid!, kill: () => c.kill('SIGKILL') };
}

test('snapshot --json - | head -1 and snapshot | head -1: a closed stdout is a quiet, normal end', async () => {
  const h = holder();
  try {
    await waitLine(h.pid);
    for (const args of [`snapshot ${h.pid} --json -`, `snapshot ${h.pid}`]) {
      const r = intoHead(args);
      assert.is(r.rc, 0, `${args}: ${r.err}`);
      assert.is(r.err, '', args);
      assert.ok(r.first.length > 0, 'head saw the first line');
    }
  } finally { h.kill(); }
});

async function waitLine(pid: number): Promise<void> {
  // the holder prints "ok" once its fds are open; reading /proc/PID/fd is the check that needs no pipe
  const end = Date.now() + 10_000;
  while (Date.now() < end) {
    try { if (fs.readdirSync(`/proc/${pid}/fd`).length > 3000) return; } catch { /* starting */ }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('holder never opened its fds');
}

test('replay --json - | head -1 and replay | head -1: quiet, exit 0, no EPIPE message', () => {
  for (const args of [`replay ${trace} --json -`, `replay ${trace}`, `replay - --json - < ${trace}`]) {
    const r = intoHead(args);
    assert.is(r.rc, 0, `${args}: ${r.err}`);
    assert.is(r.err, '', args);
    assert.ok(r.first.length > 0);
  }
});

/** Runs `replay - ...` fed through a pipe that stays open; `sig` arrives once enough input has been consumed. */
async function replaySignalled(args: string[], sig: NodeJS.Signals): Promise<{ code: number | null; signal: string | null; out: string; err: string }> {
  const c = spawn(process.execPath, [BIN, 'replay', '-', ...args], { cwd: tmp, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  c.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
  c.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; });
  const exit = new Promise<{ code: number | null; signal: string | null }>((res) => c.on('exit', (code, signal) => res({ code, signal })));
  // ~1.8 MB: once this write is handed to the kernel, all but the pipe's 64 KB has been read by fdwatch
  await new Promise<void>((res) => c.stdin!.write(bigTrace(20_000).split('\n').slice(0, -2).join('\n') + '\n', () => res()));
  c.kill(sig);
  const e = await Promise.race([exit, new Promise<null>((res) => setTimeout(() => res(null), 5000))]);
  if (e === null) { c.kill('SIGKILL'); throw new Error(`replay did not end on ${sig}: ${err}`); }
  c.stdin!.destroy();
  return { ...e, out, err };
}

test('replay honours SIGHUP, SIGINT and SIGTERM alike: records flushed, summary last, exit 128 + signal', async () => {
  for (const [sig, code] of [['SIGHUP', 129], ['SIGINT', 130], ['SIGTERM', 143]] as const) {
    const json = path.join(tmp, `sig-${sig}.ndjson`);
    const r = await replaySignalled(['--json', json], sig);
    assert.equal([r.code, r.signal], [code, null], `${sig}: ${r.err}`);
    const recs = fs.readFileSync(json, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; cleanEnd?: boolean });
    assert.ok(recs.filter((x) => x.type === 'fd').length > 10_000, `${sig}: records of what was read`);
    assert.equal([recs[recs.length - 1]!.type, recs[recs.length - 1]!.cleanEnd], ['summary', false], sig);
  }
  // the text report too: what was read so far, then the summary line
  const r = await replaySignalled([], 'SIGHUP');
  assert.is(r.code, 129, r.err);
  assert.match(r.out, /^PROCESSES$/m);
  assert.match(r.out, /summary: /);
});

test('replayTrace returns after a signal instead of exiting the process (the dashboard reuses it)', async () => {
  const fifo = path.join(tmp, 'fifo');
  spawnSync('mkfifo', [fifo]);
  const mod = path.join(root, 'dist', 'src', 'cli', 'replay.js');
  const script = `
    const { replayTrace } = await import(${JSON.stringify(mod)});
    let n = 0;
    const p = replayTrace(${JSON.stringify(fifo)}, null, () => n++);
    process.stdout.write('reading\\n');
    const r = await p;
    process.stdout.write(JSON.stringify({ signal: r.signal, last: r.summary.type, records: n }) + '\\n');
    process.exitCode = 7;
  `;
  const c = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  c.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; });
  const w = fs.createWriteStream(fifo);
  c.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
  await new Promise<void>((res) => w.write(bigTrace(20_000).split('\n').slice(0, -2).join('\n') + '\n', () => res()));
  c.kill('SIGHUP');
  const code = await new Promise<number | null>((res) => c.on('exit', (x) => res(x)));
  w.destroy();
  assert.is(code, 7, err);
  const r = JSON.parse(out.trim().split('\n').pop()!) as { signal: string; last: string; records: number };
  assert.equal([r.signal, r.last], ['SIGHUP', 'summary']);
  assert.ok(r.records > 10_000);
});

test('--date must be a real day: 2020-02-30, 2020-13-45 and an empty value are usage errors naming it', () => {
  for (const [args, shown] of [[['--date', '2020-02-30'], '"2020-02-30"'], [['--date', '2020-13-45'], '"2020-13-45"'],
    [['--date', ''], '""'], [['--date='], '""']] as const) {
    const r = fdwatch(['replay', trace, ...args]);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.is(r.err.trim().split('\n').length, 1, r.err);
    assert.match(r.err, new RegExp(`^fdwatch: --date .*${shown.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.is(r.out, '');
  }
  const ok = fdwatch(['replay', trace, '--date', '2024-02-29']);
  assert.is(ok.code, 0, ok.err);
});

test('-p abc: not a process id, one line, usage error', () => {
  for (const args of [['-p', 'abc'], ['-p', '12x'], ['--pid=0'], ['-p', '']]) {
    const r = fdwatch(['--no-tui', ...args]);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, /^fdwatch: not a process id: \S*\n$/);
  }
  assert.is(fdwatch(['--no-tui', '-p', 'abc']).err, 'fdwatch: not a process id: abc\n');
});

test('the NDJSON writer reports a write error once, through its callback, and never throws', () => {
  const seen: string[] = [];
  const w = openNdjson('/dev/full', (e) => seen.push(e.code ?? '?'));
  for (let i = 0; i < 100_000; i++) w.write({ v: 1, type: 'alert', ts: null, kind: 'ctrunc-lost', pid: 1, fd: 1, message: 'x'.repeat(20) });
  w.flush();
  w.close();
  assert.equal(seen, ['ENOSPC']);
  assert.ok(w.failed !== null);
});

test.after(clean);

test.run();
