import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { straceArgv, straceCommand, straceEnv, explainStraceError, STRACE_TZ } from '../../src/live/strace.js';
import { runTrace } from '../helpers.js';
import { BIN, tmp } from './run.js';

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

test('strace gets a TZ when the user has none (glibc stats /etc/localtime per timestamp without), the command does not', () => {
  assert.is(straceEnv({ PATH: '/bin' })['TZ'], STRACE_TZ);
  assert.is(straceEnv({ TZ: 'Europe/Paris' })['TZ'], 'Europe/Paris');
  const without = straceArgv({ pids: [], command: ['./server'], output: '/f', stderrFd: 4, env: {} });
  assert.equal(without.slice(without.indexOf('-E'), without.indexOf('-E') + 2), ['-E', 'TZ']);
  assert.ok(without.indexOf('-E') < without.indexOf('--'), 'an option of strace');
  assert.not.ok(straceArgv({ pids: [], command: ['./server'], output: '/f', stderrFd: 4, env: { TZ: 'UTC' } }).includes('-E'), 'the user\'s TZ is left alone');
  assert.not.ok(straceArgv({ pids: [1], command: null, output: '/f', stderrFd: null, env: {} }).includes('-E'), 'no command, no -E');
});

test('a launched command sees the user\'s environment: no TZ when it had none, its own TZ when it had one', () => {
  // the command says its TZ and the TZ of its tracer (strace), from /proc
  const prog = path.join(tmp, 'tz.py');
  fs.writeFileSync(prog, [
    'import json, os',
    "tracer = [l.split()[1] for l in open('/proc/self/status') if l.startswith('TracerPid:')][0]",
    "env = dict(e.split('=', 1) for e in open(f'/proc/{tracer}/environ').read().split('\\0') if '=' in e)",
    "print(json.dumps({'own': os.environ.get('TZ'), 'strace': env.get('TZ')}))",
  ].join('\n'));
  const py = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const run = (tz: string | undefined): { own: string | null; strace: string | null } => {
    const env = { ...process.env };
    if (tz === undefined) delete env['TZ']; else env['TZ'] = tz;
    const r = spawnSync(process.execPath, [BIN, '--backend', 'strace', '--no-tui', '--only', 'alert', '--', py, prog], { cwd: tmp, env, encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as { own: string | null; strace: string | null };
  };
  assert.equal(run(undefined), { own: null, strace: STRACE_TZ });
  assert.equal(run('Europe/Paris'), { own: 'Europe/Paris', strace: 'Europe/Paris' });
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
