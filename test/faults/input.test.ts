// Hostile input through the real CLI: nesting deep enough to overflow a recursive parser, lines and files far
// larger than memory should hold, through a file, an -ff set and a pipe. Each bad line is a counted parse
// error, the rest of the trace goes on, the exit is 0 with a summary, and the child's peak RSS stays bounded.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { root } from '../paths.js';

const BIN = path.join(root, 'bin', 'fdwatch.js');
const SEED = path.join(root, 'fixtures', 'traces', 'seed');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fdwatch-faults-input-'));
const MiB = 1 << 20;

// The child reports its own peak RSS (getrusage ru_maxrss, KB) as it exits: a real measurement, no polling.
const PRELOAD = path.join(tmp, 'maxrss.cjs');
fs.writeFileSync(PRELOAD, [
  "const fs = require('node:fs');",
  "process.on('exit', () => { fs.writeFileSync(process.env.FDWATCH_TEST_MAXRSS, String(process.resourceUsage().maxRSS)); });",
].join('\n'));

interface Result { code: number | null; signal: string | null; out: string; err: string; maxRssKB: number; ms: number }

let runs = 0;
/** Runs fdwatch; `stdin` is a file streamed into a real pipe. Killed after `timeoutMs`. */
function fdwatch(args: string[], opts: { stdin?: string; timeoutMs?: number } = {}): Promise<Result> {
  const rssFile = path.join(tmp, `rss-${++runs}`);
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-r', PRELOAD, BIN, ...args], {
      cwd: tmp, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, FDWATCH_TEST_MAXRSS: rssFile },
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; });
    child.stdin.on('error', () => { /* the child may exit before reading everything */ });
    if (opts.stdin !== undefined) fs.createReadStream(opts.stdin).pipe(child.stdin);
    else child.stdin.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const rss = fs.existsSync(rssFile) ? Number(fs.readFileSync(rssFile, 'utf8')) : NaN;
      resolve({ code, signal, out, err, maxRssKB: rss, ms: performance.now() - t0 });
    });
  });
}

interface Summary { type: 'summary'; lines: number; parseErrors: number; parseErrorSamples: Array<{ line: number; reason: string }> }
interface Transfer { type: 'transfer'; state: string; target: string; from: { pid: number; fd: number }; to: { pid: number; fd: number } }

function records(r: Result): Array<Record<string, unknown>> {
  assert.is(r.code, 0, `exit ${r.code} ${r.signal ?? ''}: ${r.err}`);
  assert.not.match(r.err, /RangeError|Maximum call stack|\n\s+at /, 'no stack trace');
  const recs = r.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.is(recs[recs.length - 1]!['type'], 'summary');
  return recs;
}
const summaryOf = (recs: Array<Record<string, unknown>>): Summary => recs[recs.length - 1] as unknown as Summary;
const transfersOf = (recs: Array<Record<string, unknown>>): string[] =>
  recs.filter((x) => x['type'] === 'transfer').map((x) => {
    const t = x as unknown as Transfer;
    return `${t.state} ${t.target} ${t.from.pid}:${t.from.fd} -> ${t.to.pid}:${t.to.fd}`;
  });

/** The real seed trace (strace -f -yy: one fd sent parent -> child) with `extra` lines inserted after line `at`. */
function seedWith(name: string, at: number, extra: Array<string | { nulBytes: number }>): string {
  const lines = fs.readFileSync(path.join(SEED, 'f-yy.log'), 'latin1').split('\n');
  const file = path.join(tmp, name);
  const fd = fs.openSync(file, 'w');
  let pos = 0;
  const put = (text: string): void => { pos += fs.writeSync(fd, Buffer.from(text, 'latin1'), 0, text.length, pos); };
  put(lines.slice(0, at).join('\n') + '\n');
  for (const x of extra) {
    // a hole, not written bytes: the NULs cost no disk
    if (typeof x !== 'string') pos += x.nulBytes;
    put(typeof x === 'string' ? x + '\n' : '\n');
  }
  put(lines.slice(at).join('\n'));
  fs.closeSync(fd);
  return file;
}

let seedBase: { transfers: string[]; lines: number; rssKB: number } | null = null;
async function base(): Promise<NonNullable<typeof seedBase>> {
  if (seedBase) return seedBase;
  const r = await fdwatch(['replay', path.join(SEED, 'f-yy.log'), '--json', '-']);
  const recs = records(r);
  seedBase = { transfers: transfersOf(recs), lines: summaryOf(recs).lines, rssKB: r.maxRssKB };
  assert.is(seedBase.transfers.length, 1);
  assert.is(summaryOf(recs).parseErrors, 0);
  assert.ok(seedBase.rssKB > 0, 'the child reported its peak RSS');
  return seedBase;
}

const DEEP = 'arguments nested deeper than 64 levels';
const TOO_LONG = `line longer than ${MiB} bytes`;

function deepLines(): string[] {
  const tid = 21662;
  return [
    // a struct 2,900 deep and an array 100,000 deep: each overflowed the recursive argument parser
    `${tid} sendmsg(4<UNIX-STREAM:[251147->251148]>, ${'{a='.repeat(2900)}1${'}'.repeat(2900)}, 0) = 1`,
    `${tid} sendmsg(4<UNIX-STREAM:[251147->251148]>, {msg_control=[{cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=${'['.repeat(100_000)}${']'.repeat(100_000)}}], msg_flags=0}, 0) = 1`,
    // an entry half and a resumed half, each too deep on its own
    `${tid} recvmsg(4<UNIX-STREAM:[251147->251148]>, ${'['.repeat(3000)} <unfinished ...>`,
    `${tid} <... recvmsg resumed>${'{x='.repeat(3000)}1${'}'.repeat(3000)}${']'.repeat(3000)}, 0) = 1`,
    // a 300,000-escape path: its decoding once spread more arguments than the stack holds
    `${tid} openat(AT_FDCWD, "${'\\n'.repeat(300_000)}", O_RDONLY) = -1 ENOENT (No such file or directory)`,
  ];
}

test('deep nesting, from a file and from `replay -`: counted parse errors, the rest of the trace goes on, exit 0', async () => {
  const b = await base();
  const file = seedWith('deep.log', 30, deepLines());
  for (const args of [['replay', file, '--json', '-'], ['replay', '-', '--json', '-']]) {
    const r = await fdwatch(args, args[1] === '-' ? { stdin: file } : {});
    const recs = records(r);
    const s = summaryOf(recs);
    assert.is(s.lines, b.lines + 5);
    // the openat parses (and fails with ENOENT, as traced)
    assert.equal(s.parseErrorSamples.map((e) => [e.line, e.reason]), [[31, DEEP], [32, DEEP], [33, DEEP], [34, DEEP]]);
    assert.is(s.parseErrors, 4);
    assert.equal(transfersOf(recs), b.transfers);
  }
  // and the readable report says why, without a stack trace
  const t = await fdwatch(['replay', file]);
  assert.is(t.code, 0, t.err);
  assert.match(t.out, `4 parse errors`);
  assert.match(t.out, `line 31: ${DEEP}`);
  assert.not.match(t.err + t.out, /RangeError|\n\s+at /);
});

test('a 64 MB line in a file: one parse error, the transfer after it still found, peak RSS far below the line', async () => {
  const b = await base();
  const file = seedWith('long.log', 30, [{ nulBytes: 64 * MiB }, `21662 write(1, "${'x'.repeat(2 * MiB)}", ${2 * MiB}) = ${2 * MiB}`]);
  const r = await fdwatch(['replay', file, '--json', '-']);
  const recs = records(r);
  const s = summaryOf(recs);
  // the NUL line is an error; a long write (a large -s) is a call that does not matter: skipped, not an error
  assert.equal(s.parseErrorSamples.map((e) => [e.line, e.reason]), [[31, TOO_LONG]]);
  assert.is(s.lines, b.lines + 2);
  assert.equal(transfersOf(recs), b.transfers);
  assert.ok(r.maxRssKB < b.rssKB + 48 * 1024, `peak RSS ${r.maxRssKB} KB, ${b.rssKB} KB without the line`);
});

test('an -ff set with a 64 MB line in one file: streamed per file, the merge goes on', async () => {
  const dir = fs.mkdtempSync(path.join(tmp, 'ff-'));
  const names = fs.readdirSync(path.join(SEED, 'ff'));
  for (const n of names) fs.copyFileSync(path.join(SEED, 'ff', n), path.join(dir, n));
  const plain = records(await fdwatch(['replay', path.join(dir, 'trace'), '--json', '-']));
  assert.is(transfersOf(plain).length, 1);
  // the first file gets a 64 MB line of NULs before its own lines
  const victim = path.join(dir, names.sort()[0]!);
  const orig = fs.readFileSync(victim);
  const fd = fs.openSync(victim, 'w');
  fs.ftruncateSync(fd, 64 * MiB);
  fs.writeSync(fd, Buffer.concat([Buffer.from('\n'), orig]), 0, orig.length + 1, 64 * MiB);
  fs.closeSync(fd);
  const r = await fdwatch(['replay', path.join(dir, 'trace'), '--json', '-']);
  const recs = records(r);
  assert.equal(summaryOf(recs).parseErrorSamples.map((e) => [e.line, e.reason]), [[1, TOO_LONG]]);
  assert.is(summaryOf(recs).lines, summaryOf(plain).lines + 1);
  assert.equal(transfersOf(recs), transfersOf(plain));
  const b = await base();
  assert.ok(r.maxRssKB < b.rssKB + 48 * 1024, `peak RSS ${r.maxRssKB} KB, ${b.rssKB} KB for the seed trace alone`);
});

test('`replay -` through a pipe: a 1 GB line (sparse file) in linear time and bounded memory', async () => {
  const b = await base();
  const file = seedWith('huge.log', 30, [{ nulBytes: 1024 * MiB }]);
  assert.ok(fs.statSync(file).blocks * 512 < 1 * MiB, 'sparse: the test costs no disk');
  const r = await fdwatch(['replay', '-', '--json', '-'], { stdin: file, timeoutMs: 60_000 });
  const recs = records(r);
  assert.equal(summaryOf(recs).parseErrorSamples.map((e) => [e.line, e.reason]), [[31, TOO_LONG]]);
  assert.equal(transfersOf(recs), b.transfers);
  // 1 GB went through: memory may hold pipe chunks awaiting GC, never the line
  assert.ok(r.maxRssKB < b.rssKB + 128 * 1024, `peak RSS ${r.maxRssKB} KB, ${b.rssKB} KB for the seed trace alone`);
});

test('256 MB of NULs and no newline at all on stdin: one too-long line in the summary; no strace line, exit 1', async () => {
  const file = path.join(tmp, 'zeros.log');
  fs.closeSync(fs.openSync(file, 'w'));
  fs.truncateSync(file, 256 * MiB);
  const b = await base();
  // through a pipe: as a file it is refused from its first bytes (a binary; test/cli/input.test.ts)
  const r = await fdwatch(['replay', '-', '--json', '-'], { stdin: file });
  const s = summaryOf(r.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>));
  assert.equal([s.lines, s.parseErrors, s.parseErrorSamples[0]?.reason], [1, 1, TOO_LONG]);
  assert.equal([r.code, r.err.trim()], [1, 'fdwatch: no strace output in stdin (1 line, none from strace): record a log with strace -f -yy -o FILE CMD']);
  // a pipe is read in stream chunks that queue while the line is dropped: a little more room than a file's
  assert.ok(r.maxRssKB < b.rssKB + 64 * 1024, `peak RSS ${r.maxRssKB} KB, ${b.rssKB} KB for the seed trace alone`);
});

// ---- names that lie: invalid UTF-8 and a right-to-left override, in real files traced by real strace ----

const PY = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const RLO = '\u202e';
/** A folder with `bad\xff\xfename` and `rtl<U+202E>txt.exe`; returns it and the two names as NDJSON should carry them. */
function lyingNames(): { dir: string; bad: string; rtl: string } {
  const dir = fs.mkdtempSync(path.join(tmp, 'names-'));
  const badBytes = Buffer.concat([Buffer.from('bad'), Buffer.from([0xff, 0xfe]), Buffer.from('name')]);
  fs.closeSync(fs.openSync(Buffer.concat([Buffer.from(dir + '/'), badBytes]), 'w'));
  fs.writeFileSync(path.join(dir, `rtl${RLO}txt.exe`), '');
  // docs/schema.md: each invalid byte becomes U+FFFD
  return { dir, bad: path.join(dir, 'bad\ufffd\ufffdname'), rtl: path.join(dir, `rtl${RLO}txt.exe`) };
}

// opens every file of the folder (sorted), sends the fds to a forked child over a socketpair
const SENDER = [
  'import os, socket, sys',
  'd = os.fsencode(sys.argv[1])',
  'fds = [os.open(os.path.join(d, n), os.O_RDONLY) for n in sorted(os.listdir(d))]',
  'a, b = socket.socketpair()',
  'pid = os.fork()',
  'if pid == 0:',
  '    socket.recv_fds(b, 1, len(fds))',
  '    os._exit(0)',
  "socket.send_fds(a, [b'x'], fds)",
  'os.waitpid(pid, 0)',
].join('\n');

/** Lines a terminal gets: the escaped RTL override, never the raw one. */
function assertEscaped(text: string, what: string): void {
  assert.ok(!text.includes(RLO), `${what}: a raw U+202E reached the terminal:\n${text}`);
  assert.ok(text.includes('rtl\\u{202e}txt.exe'), `${what}: the escaped name:\n${text}`);
}

test('real strace, names with invalid UTF-8 and U+202E: NDJSON as the schema says, text lines escaped', async () => {
  const { dir, bad, rtl } = lyingNames();
  const log = path.join(tmp, 'names.log');
  const st = spawnSync('strace', ['-f', '-yy', '-qq', '-o', log, PY, '-I', '-c', SENDER, dir], { encoding: 'utf8' });
  assert.is(st.status, 0, st.stderr);
  // strace prints the bytes as octal escapes, in the path argument and in the -yy decoration alike
  const raw = fs.readFileSync(log, 'latin1');
  assert.ok(raw.includes('bad\\377\\376name>'), 'strace escapes invalid UTF-8');
  assert.ok(raw.includes('rtl\\342\\200\\256txt.exe>'), 'strace escapes U+202E');

  const json = records(await fdwatch(['replay', log, '--json', '-']));
  const targets = json.filter((x) => x['type'] === 'transfer').map((x) => x['target']);
  assert.equal(targets, [bad, rtl]);

  const text = await fdwatch(['replay', log]);
  assert.is(text.code, 0, text.err);
  assertEscaped(text.out, 'replay report');
  assert.ok(text.out.includes(`${dir}/bad\ufffd\ufffdname`));

  // live line mode (--no-tui): lines go to stderr when fdwatch launched the command
  const live = await fdwatch(['--no-tui', '--', PY, '-I', '-c', SENDER, dir]);
  assert.is(live.code, 0, live.err);
  assert.match(live.err, '--SCM_RIGHTS-->');
  assertEscaped(live.err, '--no-tui');
});

test('snapshot of a process holding such names: text escaped, JSON as the schema says', async () => {
  const { dir, bad, rtl } = lyingNames();
  const holder = spawn(PY, ['-I', '-c', [
    'import os, sys',
    'd = os.fsencode(sys.argv[1])',
    'fds = [os.open(os.path.join(d, n), os.O_RDONLY) for n in sorted(os.listdir(d))]',
    "print('ready', flush=True)",
    'sys.stdin.read()',
  ].join('\n'), dir], { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve, reject) => {
      holder.stdout.once('data', () => resolve());
      holder.once('exit', () => reject(new Error('holder exited early')));
    });
    const pid = String(holder.pid);
    const text = await fdwatch(['snapshot', pid]);
    assert.is(text.code, 0, text.err);
    assertEscaped(text.out, 'snapshot');
    const recs = (await fdwatch(['snapshot', pid, '--json', '-'])).out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const targets = recs.filter((x) => x['type'] === 'fd').map((x) => x['target']);
    assert.ok(targets.includes(bad) && targets.includes(rtl), JSON.stringify(targets));
  } finally {
    holder.stdin.end();
    holder.kill();
  }
});

test.after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

test.run();
