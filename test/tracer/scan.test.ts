import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { scanLine, scanReturn, quickSkip, finishScan, nameFilter, QuickScan, MAX_NESTING, LineRecord } from '../../src/tracer/scan.js';
import { INTERESTING } from '../../src/model/syscalls.js';
import { root } from '../paths.js';

// One row per strace output form: line -> the fields it must yield (cf. strace's own golden tests).
const cases: Array<[string, Record<string, unknown>]> = [
  ['close(3)                                = 0', { kind: 'call', tid: null, name: 'close', args: '3', ret: 0 }],
  ['2532  close(3) = 0', { kind: 'call', tid: 2532, name: 'close' }],
  ['[pid  2583] close(3) = 0', { kind: 'call', tid: 2583 }],
  ['[pid 2583<python3>] close(3) = 0', { kind: 'call', tid: 2583, comm: 'python3' }],
  ['2804<sh> 15:39:59.814896 [  12] [00007f723b500c47] brk(NULL) = 0x56372d58f000',
    { kind: 'call', tid: 2804, comm: 'sh', name: 'brk', retText: '0x56372d58f000', tod: true }],
  ['2804<sh> 15:39:59.824913 [ 231] [????????????????] +++ exited with 0 +++', { kind: 'exit', tid: 2804, code: 0, signal: null }],
  ['15:39:59 execve("/usr/bin/true", ["true"], 0x7fff9da9f038 /* 35 vars */) = 0', { kind: 'call', ts: 56399, name: 'execve' }],
  ['1700000000.123456 close(3) = 0', { kind: 'call', ts: 1700000000.123456, tod: false }],
  // a fraction longer than a double holds: its digits past 15 are stepped over (they made the time NaN)
  [`2804 15:39:59.${'1'.repeat(400)} close(3) = 0`, { kind: 'call', tid: 2804, ts: 56399 + 1 / 9, tod: true }],
  ['2532  1700000000.123456789 close(3) = 0', { kind: 'call', tid: 2532, ts: 1700000000.123456789 }],
  ['     0.000123 close(3)                  = 0', { kind: 'call', ts: null, name: 'close' }],
  [' > /usr/lib/x86_64-linux-gnu/libc.so.6(_exit+0x29) [0xd4409]', { kind: 'stack' }],
  ['2533  set_robust_list(0x7fb73d53aa20, 24 <unfinished ...>', { kind: 'unfinished', tid: 2533, name: 'set_robust_list', args: '0x7fb73d53aa20, 24' }],
  ['2533  <... set_robust_list resumed>) = 0 <0.000070>', { kind: 'resumed', tid: 2533, name: 'set_robust_list', args: '', ret: 0 }],
  ['2532  <... read resumed>"/usr/bin/readlink\\n", 4096) = 18', { kind: 'resumed', args: '"/usr/bin/readlink\\n", 4096', ret: 18 }],
  ['openat(AT_FDCWD, "/nope", O_RDONLY) = -1 ENOENT (No such file or directory)', { kind: 'call', ret: -1, errno: 'ENOENT' }],
  ['2532  <... openat resumed>) = -1 ENOENT (No such file or directory) <0.000029>', { kind: 'resumed', args: '', ret: -1, errno: 'ENOENT' }],
  ['2532  <... openat resumed>)   = 5</tmp/a) = b> <0.000029>', { kind: 'resumed', args: '', ret: 5, decor: '/tmp/a) = b' }],
  ['2532  <... ioctl resumed>), x) = 0', { kind: 'resumed', args: '), x', ret: 0 }],
  ['exit_group(0)                           = ?', { kind: 'call', ret: null, retText: '?' }],
  ['read(0, 0x7ffd, 10) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)', { kind: 'call', ret: null, errno: 'ERESTARTSYS' }],
  ['poll([{fd=3, events=POLLIN}], 1, 0) = 0 (Timeout)', { kind: 'call', ret: 0 }],
  ['openat(AT_FDCWD, "/etc/hostname", O_RDONLY) = 3</etc/hostname>', { kind: 'call', ret: 3, decor: '/etc/hostname' }],
  ['openat(AT_FDCWD, "/tmp/a = b", O_RDONLY) = 3</tmp/a = b> <0.000010>', { kind: 'call', ret: 3, decor: '/tmp/a = b' }],
  ['getpid() = 42 (INJECTED)', { kind: 'call', ret: 42 }],
  ['write(1, "a) = 3", 6) = 6', { kind: 'call', args: '1, "a) = 3", 6', ret: 6 }],
  ['dup2(3</tmp/a[b"c>, 0</dev/pts/0<char 136:0>>) = 0</tmp/a[b"c>', { kind: 'call', args: '3</tmp/a[b"c>, 0</dev/pts/0<char 136:0>>', ret: 0, decor: '/tmp/a[b"c' }],
  ['openat(AT_FDCWD</tmp/a) = b>, "x", O_RDONLY) = 3</tmp/a) = b/x>', { kind: 'call', args: 'AT_FDCWD</tmp/a) = b>, "x", O_RDONLY', ret: 3 }],
  ['wait4(-1, [{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 2533', { kind: 'call', ret: 2533 }],
  ['sendmsg(3<UNIX-STREAM:[4923->4924]>, {msg_control=[{cmsg_type=SCM_RIGHTS, cmsg_data=[5</etc/hostname>]}]}, 0) = 1',
    { kind: 'call', ret: 1, args: '3<UNIX-STREAM:[4923->4924]>, {msg_control=[{cmsg_type=SCM_RIGHTS, cmsg_data=[5</etc/hostname>]}]}, 0' }],
  ['close(5</tmp/we\\74i\\76rd (name>) = 0', { kind: 'call', ret: 0 }],
  ['restart_syscall(<... resuming interrupted read ...>) = 0', { kind: 'call', name: 'restart_syscall', ret: 0 }],
  ['????( <unfinished ...>', { kind: 'unfinished', name: '????' }],
  ['syscall_0x1c7(0x1, 0x2) = -1 ENOSYS (Function not implemented)', { kind: 'call', name: 'syscall_0x1c7', errno: 'ENOSYS' }],
  ['--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=2533, si_uid=0, si_status=0} ---', { kind: 'signal', signal: 'SIGCHLD', info: '{si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=2533, si_uid=0, si_status=0}' }],
  ['[pid  2533] +++ exited with 3 +++', { kind: 'exit', tid: 2533, code: 3 }],
  ['+++ killed by SIGKILL (core dumped) +++', { kind: 'exit', code: null, signal: 'SIGKILL', core: true }],
  ['2897  +++ superseded by execve in pid 2898 +++', { kind: 'superseded', tid: 2897, by: 2898 }],
  ['2898  execve("/bin/true", ["true"], 0x7ffeae948fe8 /* 35 vars */ <pid changed to 2897 ...>', { kind: 'unfinished', pidChangedTo: 2897 }],
  ['[pid  2584] wait4(-1,  <detached ...>', { kind: 'unfinished', detached: true }],
  // a resumed half carries the call's return: cut again, it is a parse error (not a call without a return)
  ['[pid  2584] <... wait4 resumed> <detached ...>', { kind: 'error', reason: 'resumed line unfinished again' }],
  ['2898  <... execve resumed> <pid changed to 2897 ...>', { kind: 'error', reason: 'resumed line unfinished again' }],
  ['2898  <... read resumed> <unfinished ...>', { kind: 'error', reason: 'resumed line unfinished again' }],
  ['strace: Process 6305 attached', { kind: 'attached', pid: 6305 }],
  ['strace: Process 6305 detached', { kind: 'detached', pid: 6305 }],
  ['strace: Process 1234 attached with 3 threads', { kind: 'attached', pid: 1234 }],
  ['strace: ptrace(PTRACE_SEIZE, 1): Operation not permitted', { kind: 'message', text: 'ptrace(PTRACE_SEIZE, 1): Operation not permitted' }],
  ['', { kind: 'blank' }],
  ['close(3) = 0\r', { kind: 'call', ret: 0 }],
  ['hello from the traced program', { kind: 'error', reason: 'not a strace line' }],
  ['2532  sendmsg(3, {msg_name=NULL, msg_iov=[{iov_base="x"', { kind: 'error', reason: 'unbalanced arguments (truncated line?)' }],
  ['\u0000\u0001\u00ff garbage', { kind: 'error', reason: 'not a strace line' }],
  ['2532  1700000000.1', { kind: 'error', reason: 'prefix without body' }],
  ['+++ stopped +++', { kind: 'error', reason: 'unknown +++ line' }],
];

for (const [line, want] of cases) {
  test(`scan ${JSON.stringify(line).slice(0, 70)}`, () => {
    const s = scanLine(line);
    const ret = s.kind === 'call' || s.kind === 'resumed' ? s.ret : null;
    for (const [k, v] of Object.entries(want)) {
      let got: unknown;
      if (k === 'ret') got = ret?.value ?? null;
      else if (k === 'retText') got = ret?.text;
      else if (k === 'errno') got = ret?.errno;
      else if (k === 'decor') got = ret?.decor;
      else got = (s as unknown as Record<string, unknown>)[k];
      if (typeof v === 'number' && typeof got === 'number' && !Number.isInteger(v)) assert.ok(Math.abs(got - v) < 1e-6, `${k}: ${got} vs ${v}`);
      else assert.equal(got, v, `${k} of ${line}`);
    }
  });
}

const DEEP = `arguments nested deeper than ${MAX_NESTING} levels`;
const nest = (n: number, open = '[', close = ']'): string => open.repeat(n) + close.repeat(n);

test('nesting: 64 levels inside the call parse, 65 are a parse error, whatever the kind of line', () => {
  assert.is(MAX_NESTING, 64);
  assert.is(scanLine(`1 sendmsg(3, ${nest(64)}, 0) = 1`).kind, 'call');
  assert.is(scanLine(`1 sendmsg(3, ${nest(64, '{', '}')}, 0) = 1`).kind, 'call');
  for (const line of [
    `1 sendmsg(3, ${nest(65)}, 0) = 1`,
    `1 sendmsg(3, ${nest(65, '{a=', '}')}, 0) = 1`,
    `1 sendmsg(3, ${nest(100_000)}, 0) = 1`,
    `1 recvmsg(3, ${'{'.repeat(65)} <unfinished ...>`,
    `1 execve("/x", ${'['.repeat(65)} <pid changed to 2 ...>`,
    `1 wait4(-1, ${'['.repeat(65)} <detached ...>`,
    `1 <... recvmsg resumed>${nest(65)}}, 0) = 1`,
  ]) {
    const s = scanLine(line);
    assert.equal([s.kind, s.kind === 'error' && s.reason], ['error', DEEP], line.slice(0, 40));
  }
  // brackets inside strings, decorations and comments do not count
  const quoted = `1 openat(AT_FDCWD</${'['.repeat(100)}>, "${'{'.repeat(100)}", O_RDONLY /* ${'('.repeat(100)} */) = 3`;
  assert.is(scanLine(quoted).kind, 'call');
  assert.is(scanLine(`1 recvmsg(3, ${'{'.repeat(64)} <unfinished ...>`).kind, 'unfinished');
  assert.is(scanLine(`1 <... recvmsg resumed>${'}'.repeat(64)}, 0) = 1`).kind, 'resumed');
});

test('nesting on the hot path (quickSkip + finishScan) is checked too', () => {
  const f = nameFilter(new Set(['sendmsg']));
  const line = Buffer.from(`7 1700000000.000001 sendmsg(3, ${nest(65)}, 0) = 1`, 'latin1');
  const q = new QuickScan();
  assert.is(quickSkip(line, 0, line.length, f, q), 'interesting');
  const l = finishScan(q, line, line.length);
  assert.equal([l.kind, l.kind === 'error' && l.reason], ['error', DEEP]);
});

test('a reused LineRecord carries nothing of the line scanned into it before', () => {
  const lines = [
    '2532  1700000000.5 sendmsg(3<UNIX-STREAM:[1->2]>, {msg_control=[]}, 0) = 1',
    '2533  recvmsg(3,  <detached ...>',
    '2534  execve("/x", [] <pid changed to 2532 ...>',
    '[pid 7<sh>] --- SIGCHLD {si_signo=SIGCHLD} ---',
    '+++ killed by SIGKILL (core dumped) +++',
    '2897  +++ superseded by execve in pid 2898 +++',
    'strace: Process 6305 attached',
    'strace: ptrace(PTRACE_SEIZE, 1): Operation not permitted',
    '2532  openat(AT_FDCWD, "/x", O_RDONLY) = 3</x>',
    'hello',
    '',
  ];
  const r = new LineRecord();
  for (const a of lines) {
    for (const b of lines) {
      scanLine(a, null, r);
      assert.equal(scanLine(b, null, r), scanLine(b), `${a} then ${b}`);
    }
  }
});

test('the hot path (quickSkip, finishScan) reads every line of every fixture log as scanLine does', () => {
  const f = nameFilter(INTERESTING);
  const q = new QuickScan();
  const seen = { skip: 0, interesting: 0, unknown: 0 };
  let anonymous = 0;
  const dir = path.join(root, 'fixtures', 'traces');
  for (const c of fs.readdirSync(dir)) {
    for (const file of fs.readdirSync(path.join(dir, c)).filter((n) => n.endsWith('.log'))) {
      for (const line of fs.readFileSync(path.join(dir, c, file), 'latin1').split('\n')) {
        const b = Buffer.from(line, 'latin1');
        const verdict = quickSkip(b, 0, b.length, f, q);
        seen[verdict]++;
        if (verdict === 'unknown') continue;
        const full = scanLine(line, INTERESTING);
        const where = `${c}/${file}: ${line.slice(0, 80)}`;
        if (verdict === 'skip') {
          if ((full.kind === 'call' || full.kind === 'unfinished') && full.name === 'mmap') {
            // an anonymous mapping, which decodes to nothing: skipped whole, or its entry half (the joiner skips the rest)
            assert.ok(/^[^,]*,[^,]*,[^,]*, [^,]*MAP_ANONYMOUS[^,]*, -1, /.test(full.args), where);
            assert.equal([q.kind, q.tid], [full.kind === 'call' ? 'skip' : 'skip-entry', full.tid], where);
            anonymous++;
            continue;
          }
          assert.equal([q.kind, q.tid], [full.kind, full.tid], where);
          continue;
        }
        assert.equal(finishScan(q, b, b.length), full, where);
      }
    }
  }
  assert.ok(seen.skip > 1000 && seen.interesting > 1000, JSON.stringify(seen));
  assert.ok(anonymous > 10, `anonymous mmaps skipped: ${anonymous}`);
});

test('quickSkip steps over -ttt stamps of every width it may meet, as over -tt ones and -r ones; finishScan reads them as scanLine does', () => {
  const f = nameFilter(INTERESTING);
  const q = new QuickScan();
  const lines = [
    '6108  1796164943.946012 read(3, "x", 1) = 1',
    '6108  1796164943.946012345 read(3, "x", 1) = 1',
    '6108  796164943.946012 read(3, "x", 1) = 1',
    '6108  17961649430.946012 read(3, "x", 1) = 1',
    '6108  22:41:51.120646 read(3, "x", 1) = 1',
    '6108       0.000123 read(3, "x", 1) = 1',
    '6108  1796164943.946012 close(3</x>) = 0',
    '6108  1796164943.946012345 close(3</x>) = 0',
    '6108  22:41:51.120646 close(3</x>) = 0',
    '6108  22:41:51 close(3</x>) = 0',
    '6108       0.000123 close(3</x>) = 0',
    '6108  0.000123 close(3</x>) = 0',
    // not a stamp strace prints: the full path's
    '6108  1796164943.9460x2 close(3</x>) = 0',
    '6108  17961649x3.946012 read(3, "x", 1) = 1',
  ];
  for (const line of lines) {
    const b = Buffer.from(line, 'latin1');
    const verdict = quickSkip(b, 0, b.length, f, q);
    const full = scanLine(line, INTERESTING);
    if (verdict === 'unknown') continue;
    if (verdict === 'skip') assert.equal([q.kind, q.tid], [full.kind, full.tid], line);
    else assert.equal(finishScan(q, b, b.length), full, line);
  }
  const b = Buffer.from(lines[0]!, 'latin1');
  assert.is(quickSkip(b, 0, b.length, f, q), 'skip');
  for (const bad of lines.slice(-2)) {
    const x = Buffer.from(bad, 'latin1');
    assert.is(quickSkip(x, 0, x.length, f, q), 'unknown', bad);
  }
  const c = Buffer.from(lines[6]!, 'latin1');
  assert.is(quickSkip(c, 0, c.length, f, q), 'interesting');
  assert.is(finishScan(q, c, c.length).ts, 1796164943.946012);
});

test('a return at the very end of the line (no -T: `= 0`, `= -`, `= 0x`, `=`) reads as before the bounds checks', () => {
  assert.equal(scanReturn(') = 0', 1), { value: 0, text: '0', errno: null, decor: null });
  assert.equal(scanReturn(') = 7', 1), { value: 7, text: '7', errno: null, decor: null });
  assert.equal(scanReturn(') = 0x', 1), { value: null, text: '0x', errno: null, decor: null });
  assert.equal(scanReturn(') = 0x7f00', 1), { value: 0x7f00, text: '0x7f00', errno: null, decor: null });
  assert.is(scanReturn(') = -', 1), null);
  assert.is(scanReturn(') = ', 1), null);
  assert.is(scanReturn(') =', 1), null);
  // a resumed half whose return ends with a parenthesis: the close is the first `) = `
  const l = scanLine('5 <... fcntl resumed>) = -1 EAGAIN (Resource temporarily unavailable)');
  assert.equal([l.kind, l.kind === 'resumed' ? [l.args, l.ret.errno] : null], ['resumed', ['', 'EAGAIN']]);
  const m = scanLine('5 <... openat resumed>"/a) = b", O_RDONLY) = 3</a) = b>');
  assert.equal([m.kind, m.kind === 'resumed' ? [m.args, m.ret.value] : null], ['resumed', ['"/a) = b", O_RDONLY', 3]]);
});

test.run();
