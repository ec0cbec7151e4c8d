// Records bpftrace's raw output for the parser's fixtures (fixtures/bpf/*.raw): each program run under the eBPF
// session as `fdwatch --backend bpf -- PROGRAM` would, its lines copied as they came. Root and bpftrace needed.
//   npm run build && node dist/test/bpf/record.js [name...]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startBpf } from '../../src/bpf/session.js';
import { root } from '../paths.js';

const out = path.join(root, 'fixtures', 'bpf');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fdwatch-bpf-rec-'));
const PY = '/usr/bin/python3';

function cc(src: string, name: string, extra: string[] = []): string {
  const exe = path.join(tmp, name);
  execFileSync('cc', ['-O1', '-o', exe, src, ...extra]);
  return exe;
}

const programs: Record<string, () => string[]> = {
  seed: () => [cc(path.join(root, 'fixtures', 'programs', 'seed.c'), 'seed')],
  send_fds: () => [PY, '-I', path.join(root, 'fixtures', 'programs', 'send_fds.py')],
  threads: () => [cc(path.join(root, 'fixtures', 'programs', 'threads.c'), 'threads', ['-pthread'])],
  exec_thread: () => [cc(path.join(root, 'fixtures', 'programs', 'exec_thread.c'), 'exec_thread', ['-pthread'])],
  pidfd_getfd: () => [cc(path.join(out, 'pidfd_getfd.c'), 'pidfd_getfd')],
  mmsg: () => [cc(path.join(out, 'mmsg.c'), 'mmsg')],
  hostile: () => [cc(path.join(out, 'hostile.c'), 'hostile'), fs.mkdtempSync(path.join(tmp, 'h-'))],
  max253: () => [PY, '-c', [
    'import os, socket, resource',
    'resource.setrlimit(resource.RLIMIT_NOFILE, (1024, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))',
    'a, b = socket.socketpair()',
    'fds = [os.open("/dev/null", os.O_RDONLY) for _ in range(253)]',
    'socket.send_fds(a, [b"x"], fds)',
    'print(len(socket.recv_fds(b, 1, 253)[1]))',
  ].join('\n')],
};

async function main(): Promise<void> {
  const want = process.argv.slice(2);
  for (const [name, argv] of Object.entries(programs)) {
    if (want.length > 0 && !want.includes(name)) continue;
    const raw = path.join(out, `${name}.raw`);
    const live = await startBpf({ pids: [], command: argv(), all: false, rawOutput: raw, onRecord: () => {} });
    const r = await live.done;
    // the heartbeat's 8 KB of padding, cut to one space: the parser skips it all the same
    fs.writeFileSync(raw, fs.readFileSync(raw, 'latin1').replace(/^(\d+\tT\t) +$/gm, '$1 '), 'latin1');
    console.log(`${name}: ${r.error ?? 'ok'}, exit ${JSON.stringify(r.commandExit)}, ${r.summary.events} events, ${r.summary.transfers.delivered} delivered`);
  }
  // the mount points the recorded mount ids stood for
  fs.writeFileSync(path.join(out, 'mountinfo'), fs.readFileSync('/proc/self/mountinfo', 'utf8'));
  fs.rmSync(tmp, { recursive: true, force: true });
}

void main();
