// Replay input as a new user gives it: compressed logs and -ff sets, folders, files that hold no strace line,
// bad options and outputs, strace writing through a pipe of its own, progress on a terminal only.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { root } from '../paths.js';

const BIN = path.join(root, 'bin', 'fdwatch.js');
const FIX = path.join(root, 'fixtures', 'traces');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fdwatch-input-'));

function fdwatch(args: string[], input?: string): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', input, cwd: tmp, maxBuffer: 64 << 20 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

/** NDJSON records without the fields that name the input file. */
function records(out: string): string[] {
  return out.trim().split('\n').map((l) => { const r = JSON.parse(l) as Record<string, unknown>; delete r['source']; return JSON.stringify(r); });
}

/** One line on stderr, the given status, no stack trace, nothing on stdout. */
function oneLine(r: { code: number; out: string; err: string }, code: number, re: RegExp): void {
  assert.is(r.code, code, r.err);
  assert.match(r.err.trim(), re);
  assert.is(r.err.trim().split('\n').length, 1, r.err);
  assert.not.match(r.err, /\n\s+at /);
  assert.is(r.out, '', 'no report');
}

test('a .gz log is read as the log it holds: the same records as the plain log', () => {
  for (const name of ['seed', 'nscd']) {
    const log = path.join(FIX, name, 'f-yy.log');
    const gz = path.join(tmp, `${name}.log.gz`);
    fs.writeFileSync(gz, zlib.gzipSync(fs.readFileSync(log)));
    const plain = fdwatch(['replay', log, '--json', '-']);
    const packed = fdwatch(['replay', gz, '--json', '-']);
    assert.is(packed.code, 0, packed.err);
    assert.equal(records(packed.out), records(plain.out));
    assert.ok(records(packed.out).some((r) => r.includes('"type":"transfer"')));
  }
});

test('an -ff set of .gz files (and a mix) is merged as the plain set is', () => {
  const dir = path.join(tmp, 'ffgz');
  fs.mkdirSync(dir);
  const src = path.join(FIX, 'nscd', 'ff');
  const names = fs.readdirSync(src);
  names.forEach((n, i) => {
    const data = fs.readFileSync(path.join(src, n));
    // every other file stays plain: a set that was half compressed by logrotate
    if (i % 2 === 0) fs.writeFileSync(path.join(dir, `${n}.gz`), zlib.gzipSync(data));
    else fs.writeFileSync(path.join(dir, n), data);
  });
  const plain = fdwatch(['replay', path.join(src, 'trace'), '--json', '-']);
  const packed = fdwatch(['replay', path.join(dir, 'trace'), '--json', '-']);
  assert.is(packed.code, 0, packed.err);
  assert.equal(records(packed.out), records(plain.out));
  const folder = fdwatch(['replay', dir, '--json', '-']);
  assert.equal(records(folder.out), records(plain.out));
  // the decoded copies are gone
  assert.equal(fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('fdwatch-ff-')), []);
});

test('xz, zstd and bzip2 logs: one line naming the command that decodes them', () => {
  const log = path.join(FIX, 'seed', 'f-yy.log');
  const xz = path.join(tmp, 'seed.log.xz');
  fs.writeFileSync(xz, execFileSync('xz', ['-c', log]));
  oneLine(fdwatch(['replay', xz]), 1, /^fdwatch: .*seed\.log\.xz is xz-compressed, which Node 20 cannot decode: xz -dc .*seed\.log\.xz \| fdwatch replay -$/);
  // the pipe it names works
  const piped = spawnSync('bash', ['-c', `xz -dc "${xz}" | "${process.execPath}" "${BIN}" replay - --json -`], { encoding: 'utf8' });
  assert.equal(records(piped.stdout), records(fdwatch(['replay', log, '--json', '-']).out));
  // told by the first bytes, whatever the name
  const zst = path.join(tmp, 'trace.log');
  fs.writeFileSync(zst, Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0]));
  oneLine(fdwatch(['replay', zst]), 1, /zstd-compressed, which Node 20 cannot decode: zstd -dc .*trace\.log \| fdwatch replay -$/);
  const bad = path.join(tmp, 'cut.log.gz');
  fs.writeFileSync(bad, zlib.gzipSync(fs.readFileSync(log)).subarray(0, 200));
  oneLine(fdwatch(['replay', bad]), 1, /^fdwatch: .*cut\.log\.gz is not a readable gzip file \(unexpected end of file\): check it with gzip -t /);
});

test('a folder: says what was expected; a folder named like an -ff file is not one', () => {
  const d = path.join(tmp, 'd');
  fs.mkdirSync(path.join(d, 'sub.123'), { recursive: true });
  const want = /^fdwatch: .* is a folder without strace -ff files \(NAME\.<pid>\): give a log file .*an -ff prefix/;
  oneLine(fdwatch(['replay', d]), 1, want);
  oneLine(fdwatch(['replay', path.join(d, 'sub.123')]), 1, want);
  oneLine(fdwatch(['replay', path.join(d, 'sub')]), 1, /^fdwatch: no such trace: /);
});

test('no strace line at all (a binary, an image, /dev/null): one line, exit 1, no report', () => {
  const png = path.join(tmp, 'pixel.png');
  fs.writeFileSync(png, Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000' +
    '1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082', 'hex'));
  oneLine(fdwatch(['replay', png]), 1, /^fdwatch: no strace output in .*pixel\.png \(\d+ lines?, none from strace\): record a log with strace -f -yy -o FILE CMD$/);
  oneLine(fdwatch(['replay', process.execPath]), 1, /^fdwatch: no strace output in .* \(a binary file\): record a log with strace/);
  oneLine(fdwatch(['replay', '/dev/null']), 1, /^fdwatch: the trace is empty$/);
  oneLine(fdwatch(['replay', '-'], 'just\nsome text\n'), 1, /^fdwatch: no strace output in stdin \(2 lines, none from strace\)/);
  // one strace line among garbage is a trace: the report, and the garbage counted
  const g = fdwatch(['replay', '-'], 'hello\nclose(3) = 0\n');
  assert.is(g.code, 0, g.err);
  assert.match(g.out, /1 parse errors/);
});

test('options: unknown ones and a --json without a file are named; write failures say what to do', () => {
  const log = path.join(FIX, 'seed', 'f-yy.log');
  oneLine(fdwatch(['replay', '--bogus', log]), 2, /^fdwatch: Unknown argument: bogus \(see --help\)$/);
  oneLine(fdwatch(['replay', log, '--bogus']), 2, /^fdwatch: Unknown argument: bogus/);
  oneLine(fdwatch(['replay', log, '--json']), 2, /^fdwatch: --json needs a file name \(or - for stdout\)$/);
  oneLine(fdwatch(['replay', log, '--json', '/proc/version']), 1,
    /^fdwatch: cannot write \/proc\/version: input\/output error \(EIO\): give --json a regular file in a folder you can write/);
  oneLine(fdwatch(['replay', log, '--json', path.join(tmp, 'no', 'such', 'x.ndjson')]), 1,
    /^fdwatch: cannot write .*\/no\/such\/x\.ndjson: no such file or directory \(ENOENT\): give --json a regular file/);
  oneLine(fdwatch(['replay', log, '--json', tmp]), 1, /^fdwatch: cannot write .*: .*\(EISDIR\): give --json/);
});

test('strace -o "|fdwatch replay -": the program keeps its stdout, the trace has 0 parse errors', () => {
  const exe = path.join(tmp, 'chatty');
  fs.writeFileSync(`${exe}.c`, [
    '#include <stdio.h>', '#include <unistd.h>', '#include <sys/wait.h>',
    'int main(void) { int p[2]; pipe(p);',
    '  for (int i = 0; i < 500; i++) { printf("line %d of the program\'s own output\\n", i); fflush(stdout); }',
    '  if (fork() == 0) { write(p[1], "x", 1); _exit(0); } wait(NULL); return 0; }',
  ].join('\n'));
  execFileSync('cc', ['-o', exe, `${exe}.c`]);
  const report = path.join(tmp, 'report.txt');
  const r = spawnSync('strace', ['-f', '-yy', '-o', `|"${process.execPath}" "${BIN}" replay - >"${report}"`, exe], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout.split('\n').filter((l) => /^line \d+ of the program's own output$/.test(l)).length, 500);
  const text = fs.readFileSync(report, 'utf8');
  assert.match(text, /summary: \d+ lines, \d+ syscalls, 2 processes, .* 0 parse errors/);
  // the README's old form mixes the two: parse errors
  const mixed = spawnSync('bash', ['-c', `"${process.execPath}" "${BIN}" replay <(strace -f -yy -o /dev/stdout "${exe}")`], { encoding: 'utf8' });
  assert.match(mixed.stdout, /[1-9]\d* parse errors/);
});

test('progress on stderr for a long replay on a terminal, never when stderr is not one', () => {
  const part = path.join(tmp, 'part.log');
  fs.writeFileSync(part, fs.readFileSync(path.join(FIX, 'seed', 'f-yy.log'), 'latin1').repeat(40)); // 2440 lines
  // the writer pauses past the one-second mark in the middle: what is measured here is time itself
  const feed = `{ cat "${part}"; sleep 1.3; cat "${part}"; }`;
  const cmd = `${feed} | "${process.execPath}" "${BIN}" replay - 2>&1 >/dev/null`;
  const tty = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8' });
  assert.is(tty.status, 0, tty.stdout);
  assert.match(tty.stdout, /\rfdwatch: read 0\.\d MB, \d+\.\d\dM lines\/s\x1b\[K/);
  assert.match(tty.stdout, /\r\x1b\[K/); // erased at the end
  const plain = spawnSync('bash', ['-c', `${feed} | "${process.execPath}" "${BIN}" replay -`], { encoding: 'utf8' });
  assert.is(plain.status, 0, plain.stderr);
  assert.is(plain.stderr, '');
  assert.match(plain.stdout, /summary: 4880 lines/);
});

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
test.run();
