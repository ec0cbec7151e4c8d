// What keeps strace waiting on fdwatch's FIFO: nothing on the drain path walks /proc for a socket only traced
// processes can hold, and the readable lines of one read of the trace go out in one write.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { TransferRecord } from '../../src/model/records.js';
import { lineBatch } from '../../src/cli/live-common.js';
import { readChannel } from '../../src/live/trace.js';
import { BIN, childrenOf, passToChild, records, tmp, underStrace } from './run.js';

const PY = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

// A parent passes a file over a socketpair to its child, which takes 0.6 s to receive it: the message waits,
// queued, through several of fdwatch's polls of sockets nobody traced receives from.
const SLOW_RECEIVER = passToChild(1, 0.6);

test('a socket made in the trace and held only by traced processes: no walk over every process\'s fds while it waits', async () => {
  // fdwatch's own main thread, traced for its readlinks
  const { code, err, recs, log: links } = await underStrace('readlink,readlinkat', 'slow_receiver', SLOW_RECEIVER);
  assert.is(code, 0, err);
  const t = recs.filter((r): r is TransferRecord => r.type === 'transfer');
  assert.equal(t.map((x) => [x.state, x.target]), [['delivered', '/etc/hostname']], 'the slow receive is seen');
  const mine = links.split('\n').filter((l) => l.includes(`"/proc/${process.pid}/fd/`));
  assert.ok(links.includes('readlink'), 'the readlinks are in the log');
  assert.equal(mine, [], 'the fds of this test runner (never traced, holding no socket of the trace) were not read');
});

// A process holding 3000 fds (what the walk must read); an untraced server that, when told, hands its connection
// to a worker it forks (the holder fdwatch knew closes it) which takes its time to receive; and a client, connected
// before fdwatch attaches to it (so strace names the socket's peer), that sends a file when told.
const HOLDER = String.raw`
import os, resource, sys
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4096)), hard))
fds = [os.open('/dev/null', os.O_RDONLY) for _ in range(3000)]
print('holding', flush=True)
sys.stdin.read()
`;
const SERVER = String.raw`
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.listen(1)
print('listening', flush=True)
c, _ = s.accept()
print('accepted', flush=True)
sys.stdin.readline()
if os.fork() == 0:
    time.sleep(0.6)
    msg, fds, flags, addr = socket.recv_fds(c, 16, 4)
    print('got', len(fds), flush=True)
    sys.stdin.read()
    os._exit(0)
c.close()
print('handed', flush=True)
sys.stdin.read()
`;
const CLIENT = String.raw`
import os, socket, sys
c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
c.connect(sys.argv[1])
sys.stdin.readline()
socket.send_fds(c, [b'x'], [os.open('/etc/hostname', os.O_RDONLY)])
sys.stdin.read()
`;

test('the walk for the holders of a socket nobody traced made runs in slices: the event loop turns between them', async () => {
  const py = (name: string, text: string, args: string[] = []): { child: ReturnType<typeof spawn>; out: () => string } => {
    const file = path.join(tmp, name);
    fs.writeFileSync(file, text);
    const child = spawn(PY, [file, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
    return { child, out: () => out };
  };
  const until = (what: string, pred: () => boolean, ms = 15000): Promise<void> => new Promise((resolve, reject) => {
    const t0 = Date.now();
    const tick = (): void => { if (pred()) resolve(); else if (Date.now() - t0 > ms) reject(new Error(`timed out: ${what}`)); else setTimeout(tick, 10); };
    tick();
  });
  const sock = path.join(tmp, 'slow-server.sock');
  const holder = py('holder.py', HOLDER);
  const server = py('server.py', SERVER, [sock]);
  const started = [holder.child, server.child];
  let fdw: ReturnType<typeof spawn> | null = null;
  try {
    await until('the holder and the server', () => holder.out().includes('holding') && server.out().includes('listening'));
    const client = py('client.py', CLIENT, [sock]);
    started.push(client.child);
    await until('the connection', () => server.out().includes('accepted'));
    const json = path.join(tmp, 'walk.ndjson');
    const log = path.join(tmp, 'fdwatch-walk.log');
    fdw = spawn('strace', ['-o', log, '-e', 'trace=readlink,readlinkat,epoll_wait,epoll_pwait,epoll_pwait2,write',
      process.execPath, BIN, '--backend', 'strace', '--no-tui', '--json', json, String(client.child.pid)], { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    fdw.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
    fdw.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; });
    const exited = new Promise<number | null>((resolve) => fdw!.on('exit', (x) => resolve(x)));
    await until(`fdwatch attached: ${err}`, () => err.includes(`attached to ${client.child.pid}`));
    server.child.stdin!.write('go\n');
    await until('the hand-over', () => server.out().includes('handed'));
    client.child.stdin!.write('go\n');
    await until(`the worker's receive: ${server.out()}`, () => server.out().includes('got 1'));
    await until(`fdwatch names the untraced receiver: ${out} ${err}`, () => /--SCM_RIGHTS-->.*delivered/.test(out));
    const node = childrenOf(fdw.pid!)[0];
    assert.ok(node !== undefined, 'fdwatch runs under strace');
    process.kill(node, 'SIGINT');
    assert.is(await exited, 130, err); // 128 + SIGINT, through strace
    const t = records(json).filter((r): r is TransferRecord => r.type === 'transfer');
    assert.equal(t.map((x) => [x.state, x.to?.comm, x.to?.pid !== server.child.pid, x.target]), [['delivered', 'python3', true, '/etc/hostname']], 'to the worker');
    // the holder's 3000 links, read between turns of the event loop (epoll) rather than in one run
    // (after the attach: the walk at the start, for the holders of what the client held then, is before strace runs)
    let run = 0;
    let longest = 0;
    let read = 0;
    let tracing = false;
    for (const l of fs.readFileSync(log, 'utf8').split('\n')) {
      if (l.startsWith('write(2, "fdwatch: attached to')) tracing = true;
      if (!tracing) continue;
      if (l.startsWith('epoll')) { run = 0; continue; }
      if (!l.includes(`"/proc/${holder.child.pid}/fd/`)) continue;
      read++;
      longest = Math.max(longest, ++run);
    }
    assert.ok(read >= 3000, `the walk read the holder's fds: ${read}`);
    assert.ok(longest < 1500, `at most part of them without the event loop turning: ${longest} in a row`);
  } finally {
    for (const c of started) c.kill('SIGKILL');
    if (fdw && fdw.exitCode === null) fdw.kill('SIGKILL');
  }
});

// Told to on stdin, 1200 dup/close pairs (about 170 KiB of trace, 64 KiB being a pipe's default) and then "done" on stdout, which strace never
// sees (write is not traced): the burst fits the trace channel whole, so it ends while fdwatch does not read.
const BURST = String.raw`
import os, sys
print('ready', flush=True)
sys.stdin.readline()
for _ in range(1200):
    os.close(os.dup(0))
print('done', flush=True)
sys.stdin.readline()
`;

test('a burst of trace while fdwatch is not reading waits in the channel (1 MiB): strace and its tracee run on', async () => {
  const prog = path.join(tmp, 'burst.py');
  fs.writeFileSync(prog, BURST);
  const json = path.join(tmp, 'burst.ndjson');
  const c = spawn(process.execPath, [BIN, '--backend', 'strace', '--no-tui', '--only', 'fd', '--json', json, '--', PY, prog], { cwd: tmp, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  c.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
  c.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; });
  const exited = new Promise<number | null>((resolve) => c.on('exit', (x) => resolve(x)));
  const until = (what: string, pred: () => boolean, ms: number): Promise<boolean> => new Promise((resolve) => {
    const t0 = Date.now();
    const tick = (): void => { if (pred()) resolve(true); else if (Date.now() - t0 > ms || c.exitCode !== null) resolve(false); else setTimeout(tick, 10); };
    tick();
  });
  try {
    assert.ok(await until('ready', () => out.includes('ready'), 15000), `the command started: ${err}`);
    c.kill('SIGSTOP'); // fdwatch reads nothing from here on
    c.stdin!.write('go\n');
    // a 64 KiB channel fills after ~500 calls: strace then waits on fdwatch, the command waits on strace
    const ran = await until('done', () => out.includes('done'), 20000); // seconds at most, even on a loaded machine
    c.kill('SIGCONT');
    assert.ok(ran, 'the command made its 2400 calls while fdwatch was stopped');
    c.stdin!.end('\n');
    assert.is(await exited, 0, err);
    const dups = records(json).filter((r) => r.type === 'fd' && r.op === 'dup' && r.fromFd === 0); // os.dup is fcntl(F_DUPFD_CLOEXEC)
    assert.is(dups.length, 1200, 'every call of the burst is in the records');
  } finally {
    c.kill('SIGCONT');
    if (c.exitCode === null) c.kill('SIGKILL');
  }
});

// 300 dup/close pairs 2 ms apart: strace writes the trace a line at a time, for at least 0.6 s
const TRICKLE = String.raw`
import os, time
for _ in range(300):
    os.close(os.dup(0))
    time.sleep(0.002)
`;

test('a trickle of trace is read in batches (a read that empties the channel waits 25 ms for the next), not a read per line', async () => {
  const prog = path.join(tmp, 'trickle.py');
  fs.writeFileSync(prog, TRICKLE);
  const json = path.join(tmp, 'trickle.ndjson');
  const log = path.join(tmp, 'fdwatch-reads.log');
  // fdwatch's own main thread, traced for its reads (not -f: the strace it runs is left alone)
  const c = spawn('strace', ['-o', log, '-e', 'trace=read', '-s', '64', process.execPath, BIN, '--backend', 'strace', '--no-tui', '--only', 'fd', '--json', json, '--', PY, prog],
    { cwd: tmp, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  c.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; });
  const code = await new Promise<number | null>((resolve) => c.on('exit', (x) => resolve(x)));
  assert.is(code, 0, err);
  const dups = records(json).filter((r) => r.type === 'fd' && r.op === 'dup' && r.fromFd === 0);
  assert.is(dups.length, 300, 'every call is in the records');
  // as long as the calls took (longer on a loaded machine): a read per 25 ms of it, and a few more
  const span = dups[dups.length - 1]!.ts! - dups[0]!.ts!;
  // reads of the trace: its lines start "PID  EPOCH.USEC " (the first of a read may end a line the last one cut)
  const reads = fs.readFileSync(log, 'utf8').split('\n').filter((l) => l.startsWith('read(') && /\d+ +\d{10}\.\d{6} /.test(l) && / = [1-9]\d*$/.test(l));
  assert.ok(reads.length >= 5, `the trace was read: ${reads.length} reads`);
  assert.ok(reads.length <= span / 0.025 + 20, `600 lines over ${span.toFixed(2)} s in at most one read per 25 ms and a few more: ${reads.length}`);
});

test('the channel reader: a read that empties it waits before the next; drain() (strace exited) reads the rest at once', async () => {
  const fifo = path.join(tmp, 'channel');
  assert.is(spawnSync('mkfifo', ['-m', '600', fifo]).status, 0);
  const read = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  const write = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
  fs.rmSync(fifo);
  let open = true;
  const closeWrite = (): void => { if (open) { open = false; fs.closeSync(write); } };
  try {
    const got: Array<{ line: string; at: number }> = [];
    let firsts = 0;
    let wake: (() => void) | null = null;
    const next = (): Promise<void> => new Promise((resolve) => { wake = resolve; });
    // a long wait (5 s), so that what drain() changes is not a matter of milliseconds
    const r = readChannel(read, () => firsts++, (b, a, e) => { got.push({ line: b.toString('latin1', a, e), at: performance.now() }); wake?.(); }, 5000);
    let arrived = next();
    fs.writeSync(write, 'one\n');
    await arrived;
    arrived = next();
    const t = performance.now();
    fs.writeSync(write, 'two\n'); // waits in the channel: the reader is resting
    r.drain();
    await arrived;
    assert.ok(got[1]!.at - t < 2500, `read at once after drain(): ${Math.round(got[1]!.at - t)} ms`);
    fs.writeSync(write, 'three\n');
    closeWrite();
    const end = await r.done;
    assert.equal(got.map((g) => g.line), ['one', 'two', 'three']);
    assert.equal(end, { lines: 3, truncated: false });
    assert.is(firsts, 1);
  } finally {
    closeWrite(); // the reader sees the end, whatever failed
  }
});

test('lines added in one turn of the event loop are written once, in order; flush writes what is pending now', async () => {
  const writes: string[] = [];
  const b = lineBatch((s) => writes.push(s));
  for (let i = 0; i < 500; i++) b.add(`line ${i}`);
  assert.equal(writes, [], 'nothing yet: the turn is not over');
  await new Promise((r) => setImmediate(r));
  assert.is(writes.length, 1);
  assert.is(writes[0], Array.from({ length: 500 }, (_, i) => `line ${i}\n`).join(''));
  b.add('before a message');
  b.flush();
  assert.equal(writes.slice(1), ['before a message\n'], 'flush: a status message comes after the lines before it');
  await new Promise((r) => setImmediate(r));
  assert.is(writes.length, 2, 'nothing left to write');
  // a long burst goes out in pieces of about 64 KiB, never held whole
  const long = 'x'.repeat(1000);
  for (let i = 0; i < 200; i++) b.add(long);
  assert.ok(writes.length >= 4, `written as it grows: ${writes.length}`);
  b.flush();
  assert.is(writes.slice(2).join(''), (long + '\n').repeat(200));
});

test.run();
