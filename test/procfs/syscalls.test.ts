// What the snapshot asks the kernel per fd, counted by strace on a process the test starts: a socket's or
// pipe's link is known from its fdinfo (no readlinkat once sockfs and pipefs are known), and a file opened
// many times is asked its type (statx) once; the output is what reading every link gives.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ProcReader } from '../../src/procfs/reader.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const snapshotModule = path.resolve(here, '..', '..', 'src', 'procfs', 'snapshot.js');

// 20 socketpairs, 10 pipes, one file opened 12 times; one line on stdout says ready.
const HOLDER = String.raw`
import os, socket, sys
keep = [socket.socketpair() for _ in range(20)]
pipes = [os.pipe() for _ in range(10)]
files = [os.open(sys.argv[1], os.O_RDONLY) for _ in range(12)]
print('ready', flush=True)
sys.stdin.read()
`;

let dir = '';
let holder: ChildProcess | null = null;

test.before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdwatch-syscalls-'));
  fs.writeFileSync(path.join(dir, 'holder.py'), HOLDER);
  fs.writeFileSync(path.join(dir, 'data'), 'x');
  holder = spawn('python3', [path.join(dir, 'holder.py'), path.join(dir, 'data')], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    let seen = '';
    holder!.stdout!.on('data', (d: Buffer) => {
      seen += d.toString();
      if (seen.includes('ready\n')) resolve();
    });
    holder!.once('exit', (code) => reject(new Error(`holder exited (${code}) before it was ready`)));
  });
});

test.after(() => {
  holder?.stdin?.end();
  holder?.kill('SIGKILL');
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('per fd of a process of sockets, pipes and one file opened 12 times: readlinkat only where the fdinfo does not tell, statx once per file', () => {
  const pid = holder!.pid!;
  const links = new ProcReader('/proc').fdTable(pid, false).fds;
  const sockets = links.filter((f) => f.link.startsWith('socket:[')).length;
  const pipes = links.filter((f) => f.link.startsWith('pipe:[')).length;
  const data = links.filter((f) => f.link === path.join(dir, 'data')).length;
  assert.ok(sockets >= 40 && pipes >= 20 && data === 12, `${sockets} sockets, ${pipes} pipes, ${data} of the file`);
  const paths = new Set(links.filter((f) => f.link.startsWith('/')).map((f) => f.link)).size;

  const log = path.join(dir, 'strace.log');
  const script = `import(${JSON.stringify(snapshotModule)}).then((m) => { const s = m.snapshotProcesses('/proc', [${pid}], { threads: 1 });` +
    ` process.stdout.write(JSON.stringify(s.processes[0].fds.map((f) => [f.fd, f.linkText, f.kind, f.target]))); })`;
  const r = spawnSync('strace', ['-f', '-y', '-e', 'trace=readlinkat,statx', '-o', log, process.execPath, '-e', script], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  const calls = fs.readFileSync(log, 'utf8').split('\n');
  // calls on this holder's fd directory: readlinkat(5</proc/PID/fd>, "7", ...), statx(5</proc/PID/fd>, "7", ...)
  const on = (name: string): number => calls.filter((l) => l.includes(`${name}(`) && l.includes(`</proc/${pid}/fd>`)).length;
  const readlinks = on('readlinkat');
  const statxs = on('statx');
  // one readlinkat to learn sockfs, one for pipefs, one per fd that is neither
  assert.ok(readlinks <= links.length - sockets - pipes + 2, `${readlinks} readlinkat for ${links.length} fds (${sockets} sockets, ${pipes} pipes)`);
  assert.ok(statxs <= paths, `${statxs} statx for ${paths} distinct paths`);

  // and nothing is lost: every link as the kernel shows it, sockets and pipes by their inode
  const fds = JSON.parse(r.stdout) as Array<[number, string, string, string]>;
  assert.equal(fds.map(([fd, link]) => [fd, link]), links.map((f) => [f.fd, f.link]));
  for (const [, link, kind] of fds) {
    if (link.startsWith('socket:[')) assert.is(kind, 'socket');
    else if (link.startsWith('pipe:[')) assert.is(kind, 'pipe');
    else if (link === path.join(dir, 'data')) assert.is(kind, 'file');
  }
});

test.run();
