import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { straceArgv, straceCommand, explainStraceError } from '../../src/live/strace.js';
import { runTrace } from '../helpers.js';

test('strace argv: follow, decorate, epoch times, detachable, targeted, FIFO output', () => {
  const a = straceArgv({ pids: [12, 34], command: null, output: '/tmp/x/trace', stderrFd: null });
  for (const f of ['-f', '-yy', '-ttt', '-I2']) assert.ok(a.includes(f), f);
  assert.ok(Number(a[a.indexOf('-s') + 1]) >= 253, 'strace prints all of the up to 253 fds of one SCM_RIGHTS message');
  assert.equal(a.slice(a.indexOf('-o'), a.indexOf('-o') + 2), ['-o', '/tmp/x/trace']);
  assert.equal(a.filter((x, i) => a[i - 1] === '-p'), ['12', '34']);
  const trace = a[a.indexOf('-e') + 1]!;
  for (const n of ['sendmsg', 'recvmsg', 'close_range', 'pidfd_getfd', 'execve', 'clone3', 'mmap']) assert.ok(trace.includes(`?${n}`), n);
  for (const n of ['read', 'write', 'poll', 'futex']) assert.not.ok(new RegExp(`\\?${n}(,|$)`).test(trace), n);
  assert.not.ok(a.includes('--seccomp-bpf'), 'seccomp-bpf does nothing for -p');
  assert.not.ok(a.includes('signal=none'), 'signal=none would hide +++ killed by +++ lines');
});

test('strace argv with a command: seccomp-bpf, and the command gets the user\'s stderr back', () => {
  const a = straceArgv({ pids: [], command: ['./server', '--flag'], output: '/f', stderrFd: 3 });
  assert.ok(a.includes('--seccomp-bpf'));
  const dd = a.indexOf('--');
  assert.equal(a.slice(dd + 1, dd + 3), ['/bin/sh', '-c']);
  assert.match(a[dd + 3]!, /exec 2>&3 3>&-; exec "\$0" "\$@"/);
  assert.equal(a.slice(dd + 4), ['./server', '--flag']);
});

test('the wrapper also closes the fds strace inherited for itself (the trace channel) before the command starts', () => {
  const a = straceArgv({ pids: [], command: ['./server'], output: '/proc/self/fd/3', stderrFd: 4, closeFds: [3] });
  assert.equal(a.slice(a.indexOf('-o'), a.indexOf('-o') + 2), ['-o', '/proc/self/fd/3']);
  assert.match(a[a.indexOf('--') + 3]!, /^exec 2>&4 4>&- 3>&-; exec "\$0" "\$@"$/);
});

test('strace runs under setpriv --pdeathsig SIGTERM when there is one, else as is', () => {
  assert.equal(straceCommand(['-f'], '/usr/bin/setpriv'), { file: '/usr/bin/setpriv', args: ['--pdeathsig', 'SIGTERM', 'strace', '-f'] });
  assert.equal(straceCommand(['-f'], null), { file: 'strace', args: ['-f'] });
});

test('strace complaints become one line with what to do', () => {
  assert.match(explainStraceError('strace: attach: ptrace(PTRACE_SEIZE, 1): Operation not permitted\n')!, /not permitted to trace 1: run fdwatch as root/);
  assert.match(explainStraceError('strace: attach: ptrace(PTRACE_SEIZE, 77): No such process\n')!, /process 77 exited before/);
  assert.match(explainStraceError("strace: Can't stat '/nope': No such file or directory\n")!, /command not found: \/nope/);
  assert.is(explainStraceError('strace: Process 5 attached\nstrace: Process 5 detached\n'), null);
});

test('long runs stay bounded: exited processes are pruned, live ones kept', () => {
  const lines: string[] = [];
  for (let i = 0; i < 300; i++) {
    lines.push(`1  clone(child_stack=NULL, flags=SIGCHLD) = ${1000 + i}`, `${1000 + i}  +++ exited with 0 +++`);
  }
  const { session } = runTrace(lines.join('\n'));
  assert.is(session.correlator.processes.size, 301);
  assert.is(session.correlator.pruneExited(50), 250);
  assert.is(session.correlator.processes.size, 51);
  assert.ok(session.correlator.processes.has(1));
});

test.run();
