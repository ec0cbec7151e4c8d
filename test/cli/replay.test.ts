// The CLI as a user runs it: real strace on a real fd-passing program, stdin, errors, escaping.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { root } from '../paths.js';

const BIN = path.join(root, 'bin', 'fdwatch.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fdwatch-cli-'));

function fdwatch(args: string[], input?: string): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', input, cwd: tmp, maxBuffer: 64 << 20 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

function seedBinary(): string {
  const exe = path.join(tmp, 'seed');
  if (!fs.existsSync(exe)) execFileSync('cc', ['-O1', '-o', exe, path.join(root, 'fixtures', 'programs', 'seed.c')]);
  return exe;
}

test('real strace -f -yy -o of the seed program: one delivered transfer, parent -> child', () => {
  const log = path.join(tmp, 'seed.log');
  execFileSync('strace', ['-f', '-yy', '-qq', '-o', log, seedBinary()], { stdio: ['ignore', 'ignore', 'inherit'] });
  const r = fdwatch(['replay', log, '--json', '-']);
  assert.is(r.code, 0, r.err);
  const recs = r.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const t = recs.filter((x) => x['type'] === 'transfer') as Array<{ state: string; from: { pid: number; fd: number }; to: { pid: number; fd: number }; target: string }>;
  assert.is(t.length, 1);
  const fork = recs.find((x) => x['type'] === 'process' && x['event'] === 'fork')!;
  assert.equal([t[0]!.state, t[0]!.target, t[0]!.from.pid, t[0]!.to.pid], ['delivered', '/etc/hostname', fork['ppid'], fork['pid']]);
  assert.is.not(t[0]!.from.fd, t[0]!.to.fd);
  assert.is(recs[recs.length - 1]!['type'], 'summary');
});

test('real pidfd_getfd: a child takes its parent\'s pipe end; one delivered transfer via pidfd_getfd', () => {
  const py = [
    'import os, ctypes',
    'r, w = os.pipe()',
    'pid = os.fork()',
    'if pid == 0:',
    '    pfd = os.pidfd_open(os.getppid())',
    '    fd = ctypes.CDLL(None).syscall(438, pfd, r, 0)  # pidfd_getfd on x86-64',
    '    os._exit(0 if fd >= 0 else 1)',
    '_, st = os.waitpid(pid, 0)',
    'raise SystemExit(os.waitstatus_to_exitcode(st))',
  ].join('\n');
  const log = path.join(tmp, 'pidfd.log');
  execFileSync('strace', ['-f', '-yy', '-qq', '-o', log, fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3', '-I', '-c', py]);
  const r = fdwatch(['replay', log, '--json', '-']);
  assert.is(r.code, 0, r.err);
  const t = r.out.trim().split('\n').map((l) => JSON.parse(l) as { type: string; via?: string; state?: string; from?: { fd: number; pid: number }; to?: { pid: number }; kind?: string })
    .filter((x) => x.type === 'transfer');
  assert.equal(t.map((x) => [x.via, x.state, x.kind]), [['pidfd_getfd', 'delivered', 'pipe']]);
  assert.is.not(t[0]!.from!.pid, t[0]!.to!.pid);
});

test('strace to a pipe into `replay -` (the [pid N] form with spliced attach messages)', () => {
  const trace = spawnSync('strace', ['-f', '-yy', seedBinary()], { encoding: 'latin1' }).stderr;
  const r = fdwatch(['replay', '-'], trace);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /seed\[\d+\] fd 3 {2}--SCM_RIGHTS--> {2}seed\[\d+\] fd 4 {2}\/etc\/hostname {2}delivered/);
  assert.match(r.out, /0 parse errors/);
});

test('a named pipe is read as one log: `replay <(strace -f -yy -o /dev/fd/9 seed 9>&1 >/dev/null)`', () => {
  // the trace alone on the pipe: seed prints to its stdout, and a line of it in the middle of a strace line cuts it
  const r = spawnSync('bash', ['-c', `"${process.execPath}" "${BIN}" replay <(strace -f -yy -o /dev/fd/9 "${seedBinary()}" 9>&1 >/dev/null 2>/dev/null)`],
    { encoding: 'utf8', cwd: tmp });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /seed\[\d+\] fd 3 {2}--SCM_RIGHTS--> {2}seed\[\d+\] fd 4 {2}\/etc\/hostname {2}delivered/);
});

test('odd names: a working directory with , ) and <>, files with [ ] and " in their names, all parsed', () => {
  const cwd = path.join(tmp, 'we,ird) <dir>');
  fs.mkdirSync(cwd, { recursive: true });
  for (const f of ['a[b', 'c]d', 'e"f']) fs.writeFileSync(path.join(cwd, f), 'x\n');
  const log = path.join(tmp, 'odd.log');
  execFileSync('strace', ['-f', '-yy', '-o', log, 'sh', '-c', 'exec 3<"a[b"; cat "c]d" "e\\"f" <&3'], { cwd, stdio: 'ignore' });
  const text = fs.readFileSync(log, 'latin1');
  assert.match(text, /openat\(AT_FDCWD<[^\n]*we,ird\)/);
  assert.match(text, /dup2\(3<[^\n]*a\[b>/);
  const r = fdwatch(['replay', log, '--json', '-']);
  assert.is(r.code, 0, r.err);
  const recs = r.out.trim().split('\n').map((l) => JSON.parse(l) as { type: string; op?: string; target?: string; cloexec?: boolean; parseErrors?: number });
  assert.is(recs[recs.length - 1]!.parseErrors, 0);
  const open = (end: string) => recs.find((x) => x.type === 'fd' && x.op === 'open' && x.target?.endsWith(end));
  assert.is(open('/etc/ld.so.cache')?.cloexec, true); // libc: O_RDONLY|O_CLOEXEC, after AT_FDCWD</we,ird) ...>
  for (const f of ['/a[b', '/c]d', '/e"f']) assert.is(open(f)?.cloexec, false, f); // O_RDONLY
  assert.ok(recs.some((x) => x.type === 'fd' && x.op === 'dup' && x.target?.endsWith('/a[b')), 'dup2 of the a[b fd onto stdin');
});

test('-s 2 prints two fds of a message and then `...`: the shown ones pair, the message counts as partly hidden', () => {
  const log = path.join(tmp, 's2.log');
  execFileSync('strace', ['-f', '-s', '2', '-yy', '-o', log, 'python3', path.join(root, 'fixtures', 'programs', 'send_fds.py')], { stdio: 'ignore' });
  assert.match(fs.readFileSync(log, 'latin1'), /cmsg_data=\[\d+<[^\n]*>, \.\.\.\]/);
  const r = fdwatch(['replay', log, '--json', '-']);
  assert.is(r.code, 0, r.err);
  const recs = r.out.trim().split('\n').map((l) => JSON.parse(l) as { type: string; state?: string; fdsSent?: number; fdsReceived?: number; opaqueMessages?: number });
  const sum = recs[recs.length - 1]!;
  // four fds in one message, three in the next (the receiver gets one, MSG_CTRUNC): strace shows two of each
  assert.is(sum.fdsSent, 4);
  assert.is(sum.fdsReceived, 3);
  assert.is(sum.opaqueMessages, 3); // both sendmsg and the first recvmsg left fds out; the second recvmsg got one
  assert.is(recs.filter((x) => x.type === 'transfer' && x.state === 'delivered').length, 3);
  assert.is(recs.filter((x) => x.type === 'transfer' && x.state === 'lost').length, 1);
});

test('report: transfers, process tables with origins, alerts, summary', () => {
  const r = fdwatch(['replay', path.join(root, 'fixtures', 'traces', 'send_fds', 'f-yy.log')]);
  assert.is(r.code, 0);
  assert.match(r.out, /TRANSFERS \(7\)/);
  assert.match(r.out, /LOST: MSG_CTRUNC/);
  assert.match(r.out, /python3\[\d+\] ppid \d+ uid \S+ exited 0, sent 0 fds, received 5/);
  assert.match(r.out, /ALERTS \(2\)/);
  assert.match(r.out, /summary: .*7 fds transferred \(5 delivered, 0 in flight, 2 lost\)/);
});

test('-ff prefix and --json FILE', () => {
  const out = path.join(tmp, 'ff.ndjson');
  const r = fdwatch(['replay', path.join(root, 'fixtures', 'traces', 'seed', 'ff', 'trace'), '--json', out]);
  assert.is(r.code, 0, r.err);
  assert.match(r.err, /records in .*ff\.ndjson/);
  const last = JSON.parse(fs.readFileSync(out, 'utf8').trim().split('\n').pop()!) as { type: string; transfers: { delivered: number } };
  assert.equal([last.type, last.transfers.delivered], ['summary', 1]);
});

test('bad input: one line, non-zero exit, no stack trace', () => {
  const cases: Array<[string[], number, RegExp]> = [
    [['replay', path.join(tmp, 'nope.log')], 1, /^fdwatch: no such trace: .*nope\.log/],
    [['replay'], 2, /^fdwatch: replay needs a trace: .*see --help/],
    [['frobnicate'], 2, /^fdwatch: not a command or a process id: frobnicate \(see --help\)$/],
    [['replay', path.join(root, 'fixtures', 'traces', 'seed', 'tt-T.log'), '--date', 'yesterday'], 2, /^fdwatch: --date must be a day of the calendar as YYYY-MM-DD .*, got "yesterday"$/],
    [['replay', tmp], 1, /^fdwatch: .* is a folder without strace -ff files/],
  ];
  for (const [args, code, re] of cases) {
    const r = fdwatch(args);
    assert.is(r.code, code, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err.trim(), re);
    assert.is(r.err.trim().split('\n').length, 1, r.err);
    assert.not.match(r.err, /\n\s+at /);
  }
});

test('an empty trace is an error; a trace of garbage is counted, not fatal', () => {
  fs.writeFileSync(path.join(tmp, 'empty.log'), '');
  assert.is(fdwatch(['replay', path.join(tmp, 'empty.log')]).code, 1);
  const g = fdwatch(['replay', '-', '--json', '-'], 'hello\n\u0000\u0001binary\nclose(3) = 0\n');
  assert.is(g.code, 0);
  const s = JSON.parse(g.out.trim().split('\n').pop()!) as { parseErrors: number; parseErrorSamples: Array<{ line: number }> };
  assert.equal([s.parseErrors, s.parseErrorSamples.map((e) => e.line)], [2, [1, 2]]);
});

test('control characters from traced paths never reach the terminal', () => {
  const log = [
    '10  openat(AT_FDCWD, "/tmp/\\33]0;pwned\\7\\33[31mred", O_RDONLY) = 3</tmp/\\33]0;pwned\\7\\33[31mred>',
    '10  socketpair(AF_UNIX, SOCK_STREAM, 0, [4<UNIX-STREAM:[1->2]>, 5<UNIX-STREAM:[2->1]>]) = 0',
    '10  sendmsg(4<UNIX-STREAM:[1->2]>, {msg_control=[{cmsg_type=SCM_RIGHTS, cmsg_data=[3</tmp/\\33]0;pwned\\7\\33[31mred>]}], msg_flags=0}, 0) = 1',
    '10  recvmsg(5<UNIX-STREAM:[2->1]>, {msg_control=[{cmsg_type=SCM_RIGHTS, cmsg_data=[6</tmp/\\33]0;pwned\\7\\33[31mred>]}], msg_flags=0}, 0) = 1',
  ].join('\n') + '\n';
  const r = fdwatch(['replay', '-'], log);
  assert.is(r.code, 0, r.err);
  assert.not.ok(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/.test(r.out), 'raw control character in output');
  assert.match(r.out, /\/tmp\/\\x1b\]0;pwned\\x07\\x1b\[31mred/);
  // NDJSON keeps the real bytes (JSON escapes them)
  const j = fdwatch(['replay', '-', '--json', '-'], log);
  assert.ok(j.out.includes('\\u001b]0;pwned'));
});

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
test.run();
