import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Joiner, newSource, MAX_LINE } from '../../src/tracer/joiner.js';
import { INTERESTING } from '../../src/model/syscalls.js';
import type { ParseError, TraceEvent } from '../../src/model/events.js';

function join(text: string, fileTid: number | null = null): { events: TraceEvent[]; errors: ParseError[] } {
  const events: TraceEvent[] = [];
  const errors: ParseError[] = [];
  const j = new Joiner((e) => events.push(e), (e) => errors.push(e));
  const src = newSource(fileTid, 0);
  text.split('\n').forEach((l, i) => j.push(l, i + 1, src));
  j.end(src);
  j.end();
  return { events, errors };
}

const calls = (evs: TraceEvent[]): string[] =>
  evs.flatMap((e) => (e.type === 'syscall' ? [`${e.tid} ${e.name}(${e.args}) = ${e.ret.text}${e.cut ? ' cut' : ''}`] : []));

test('unfinished/resumed joined per thread, interleaved', () => {
  const { events, errors } = join([
    '2533  read(3<pipe:[1]>,  <unfinished ...>',
    '2532  write(4<pipe:[1]>, "ab", 2 <unfinished ...>',
    '2533  <... read resumed>"ab", 4096) = 2',
    '2532  <... write resumed>) = 2',
  ].join('\n'));
  assert.equal(errors, []);
  assert.equal(calls(events), ['2533 read(3<pipe:[1]>, "ab", 4096) = 2', '2532 write(4<pipe:[1]>, "ab", 2) = 2']);
  assert.is(events[0]!.type, 'entry');
});

test('a struct cut in the middle joins back', () => {
  const { events } = join([
    '10  sendmsg(3, {msg_name=NULL, msg_control=[{cmsg_type=SCM_RIGHTS, cmsg_data=[5]}],  <unfinished ...>',
    '11  close(4) = 0',
    '10  <... sendmsg resumed>msg_flags=0}, 0) = 1',
  ].join('\n'));
  assert.equal(calls(events)[1], '10 sendmsg(3, {msg_name=NULL, msg_control=[{cmsg_type=SCM_RIGHTS, cmsg_data=[5]}], msg_flags=0}, 0) = 1');
});

test('spliced "Process N attached" with a raw continuation line', () => {
  const { events, errors } = join([
    'clone3({flags=CLONE_VM|CLONE_THREAD, exit_signal=0}strace: Process 2905 attached',
    ' => {parent_tid=[2905]}, 88) = 2905',
    '[pid  2905] gettid() = 2905',
    '[pid  2904] close(3) = 0',
  ].join('\n'));
  assert.equal(errors, []);
  assert.ok(events.some((e) => e.type === 'attached' && e.tid === 2905));
  // the unprefixed lines belonged to 2904, learned when it printed with a prefix
  assert.equal(calls(events), [
    '2904 clone3({flags=CLONE_VM|CLONE_THREAD, exit_signal=0} => {parent_tid=[2905]}, 88) = 2905',
    '2905 gettid() = 2905',
    '2904 close(3) = 0',
  ]);
});

test('spliced message followed by a resumed line', () => {
  const { events, errors } = join([
    '[pid  2583] clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|SIGCHLDstrace: Process 2584 attached',
    '[pid  2583] <... clone resumed>, child_tidptr=0x7f0e125bda10) = 2584',
  ].join('\n'));
  assert.equal(errors, []);
  assert.equal(calls(events), ['2583 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|SIGCHLD, child_tidptr=0x7f0e125bda10) = 2584']);
});

test('non-leader execve: pid changed, superseded, resumed under the leader', () => {
  const { events, errors } = join([
    '2897  clone3({flags=CLONE_VM|CLONE_FILES|CLONE_THREAD} => {parent_tid=[2898]}, 88) = 2898',
    '2897  pause( <unfinished ...>',
    '2898  execve("/bin/true", ["true"], 0x7ffe /* 35 vars */ <pid changed to 2897 ...>',
    '2897  +++ superseded by execve in pid 2898 +++',
    '2897  <... execve resumed>)             = 0',
    '2897  +++ exited with 0 +++',
  ].join('\n'));
  assert.equal(errors, []);
  assert.ok(calls(events).includes('2897 execve("/bin/true", ["true"], 0x7ffe /* 35 vars */) = 0'));
  assert.ok(events.some((e) => e.type === 'superseded' && e.tid === 2897 && e.by === 2898));
});

test('killed thread: its pending call is cut; garbage is counted and skipped', () => {
  const { events, errors } = join([
    '5  read(0,  <unfinished ...>',
    'Hello from the program',
    '5  +++ killed by SIGKILL +++',
    '6  <... write resumed>) = 1',
  ].join('\n'));
  assert.equal(calls(events), ['5 read(0, ) = ? cut']);
  assert.is(errors.length, 2);
  assert.equal(errors.map((e) => e.line), [2, 4]);
});

test('a resumed half cut by <detached ...> or <pid changed to N ...> is a parse error; its call is reported cut', () => {
  const { events, errors } = join([
    '10  recvmsg(3,  <unfinished ...>',
    '10  <... recvmsg resumed> <detached ...>',
    '11  execve("/x", [], 0x1 <unfinished ...>',
    '11  <... execve resumed> <pid changed to 10 ...>',
  ].join('\n'));
  assert.equal(errors.map((e) => [e.line, e.reason]), [[2, 'resumed line unfinished again'], [4, 'resumed line unfinished again']]);
  assert.equal(calls(events), ['10 recvmsg(3, ) = ? cut', '11 execve("/x", [], 0x1) = ? cut']);
});

test('-ff files: lines take the pid of their file', () => {
  const { events } = join('close(3) = 0\n+++ exited with 0 +++', 77);
  assert.equal(events.map((e) => [e.type, e.tid]), [['syscall', 77], ['exit', 77]]);
});

test('-tt midnight rollover moves to the next day', () => {
  const { events } = join('1  23:59:59.900000 close(3) = 0\n1  00:00:00.100000 close(4) = 0');
  const ts = events.map((e) => e.ts!);
  assert.ok(Math.abs(ts[1]! - ts[0]! - 0.2) < 1e-6, String(ts));
});

test('a line longer than MAX_LINE is a parse error unless it is a call that does not matter; the next lines go on', () => {
  assert.is(MAX_LINE, 1 << 20);
  const reason = `line longer than ${MAX_LINE} bytes`;
  const events: TraceEvent[] = [];
  const errors: ParseError[] = [];
  const j = new Joiner((e) => events.push(e), (e) => errors.push(e), INTERESTING);
  const src = newSource(null, 0);
  const long = (body: string): string => body + 'x'.repeat(MAX_LINE + 1 - body.length);
  const lines = [
    long('5 openat(AT_FDCWD, "'),              // matters: an error, whatever follows
    long('5 write(1, "'),                      // does not matter (strace -s 2000000): skipped like any write
    '\u0000'.repeat(MAX_LINE + 1),              // not a strace line
    '5 close(3) = 0',
  ];
  lines.forEach((l, i) => j.push(l, i + 1, src));
  // the byte path (readers) gives the same verdicts
  lines.forEach((l, i) => { const b = Buffer.from(l, 'latin1'); j.pushBytes(b, 0, b.length, i + 11, src); });
  j.end(src);
  j.end();
  assert.equal(errors.map((e) => [e.line, e.reason]), [[1, reason], [3, reason], [11, reason], [13, reason]]);
  assert.ok(errors.every((e) => e.text.length <= 203), 'samples are cut');
  assert.equal(calls(events), ['5 close(3) = 0', '5 close(3) = 0']);
  assert.equal([j.stats.lines, j.stats.parseErrors], [8, 4]);
  // exactly MAX_LINE is still read
  const { errors: e2, events: ev2 } = join(`5 close(3${' '.repeat(MAX_LINE - 14)}) = 0`);
  assert.equal(e2, []);
  assert.is(calls(ev2).length, 1);
});

test('a reason quoting the trace is escaped (it is printed to a terminal)', () => {
  const { errors } = join('5 <... re\u001b]0;pwned\u0007ad resumed>) = 0');
  assert.equal(errors.map((e) => e.reason), ['resumed re\\x1b]0;pwned\\x07ad without its start']);
});

test.run();

test('an anonymous mmap is skipped on the byte path, its resumed half too; a file mmap split the same way is not', () => {
  const events: TraceEvent[] = [];
  const errors: ParseError[] = [];
  const j = new Joiner((e) => events.push(e), (e) => errors.push(e), INTERESTING);
  const src = newSource(null, 0);
  const lines = [
    '7 1700000000.000001 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000 <0.000004>',
    '7 1700000000.000002 mmap(NULL, 4096, PROT_READ, MAP_SHARED|MAP_ANONYMOUS, -1, 0 <unfinished ...>',
    '8 1700000000.000003 mmap(NULL, 4096, PROT_READ, MAP_SHARED, 3</tmp/MAP_ANONYMOUS, -1, x>, 0 <unfinished ...>',
    '7 1700000000.000004 <... mmap resumed>) = 0x7f0000002000 <0.000002>',
    '8 1700000000.000005 <... mmap resumed>) = 0x7f0000003000 <0.000002>',
    '7 1700000000.000006 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 4</lib/x.so>, 0 <unfinished ...>',
    '7 1700000000.000007 <... mmap resumed>) = 0x7f0000004000 <0.000002>',
    // without a pid there is no thread to remember the skipped entry by: the full path joins it
    '1700000000.000008 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0 <unfinished ...>',
    '1700000000.000009 <... mmap resumed>) = 0x7f0000005000 <0.000002>',
  ];
  lines.forEach((l, i) => { const b = Buffer.from(l, 'latin1'); j.pushBytes(b, 0, b.length, i + 1, src); });
  j.end(src);
  j.end();
  assert.equal(errors, [], 'no resumed half without its start');
  assert.equal(calls(events), [
    '8 mmap(NULL, 4096, PROT_READ, MAP_SHARED, 3</tmp/MAP_ANONYMOUS, -1, x>, 0) = 0x7f0000003000',
    '7 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 4</lib/x.so>, 0) = 0x7f0000004000',
    '0 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000005000',
  ]);
  // every line and call is still counted
  assert.equal([j.stats.lines, j.stats.syscalls], [9, 5]);
});
