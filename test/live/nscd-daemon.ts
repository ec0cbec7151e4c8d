// The test's own glibc nscd, in a mount namespace of its own with fresh tmpfs on its socket and cache folders: a host
// nscd, its socket and its cache are never touched. Shared by the nscd tests (line mode here, the dashboard in test/tui).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { tmp } from './run.js';

export const NSCD = ['/usr/sbin/nscd', '/sbin/nscd'].find((p) => fs.existsSync(p));
// the paths glibc compiles in, as the daemon and its client see them inside the namespace
export const SOCKET = '/var/run/nscd/socket';
export const CACHE = '/var/cache/nscd/passwd';

// In the new namespace (private propagation: nothing mounted here shows outside), an empty tmpfs on each
// folder, or on its nearest existing parent if the host has no such folder; then the daemon, in the foreground.
const NAMESPACE = `set -e
for d in ${path.dirname(SOCKET)} ${path.dirname(CACHE)}; do
  m=$d; while [ ! -d "$m" ]; do m=$(dirname "$m"); done
  mount -t tmpfs -o mode=0755,size=64m fdwatch-nscd-test "$m"
  mkdir -p "$d"
done
exec "$0" -F -f "$1"`;

/** A folder of the host, as entries (name, inode) and its own mtime: what creating or deleting changes. */
export function listing(dir: string): string {
  if (!fs.existsSync(dir)) return `${dir}: absent`;
  const names = fs.readdirSync(dir).sort().map((n) => `${n}@${fs.lstatSync(path.join(dir, n)).ino}`);
  return `${dir}: mtime ${fs.statSync(dir).mtimeMs} ${names.join(' ')}`;
}

/** A path inside the daemon's namespace, from here: through /proc/PID/root, with the host's symlinks (/var/run ->
 * /run) resolved first, since an absolute symlink met under /proc/PID/root resolves from this process's root. */
export function inside(pid: number, p: string): string {
  let dir = p;
  while (!fs.existsSync(dir)) dir = path.dirname(dir);
  return path.join(`/proc/${pid}/root`, fs.realpathSync(dir), path.relative(dir, p));
}

function connectable(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(socket, () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  });
}

export async function startNscd(): Promise<ChildProcess> {
  const conf = path.join(tmp, 'nscd.conf');
  fs.writeFileSync(conf, [
    'paranoia no', 'enable-cache passwd yes', 'positive-time-to-live passwd 600', 'persistent passwd yes',
    'shared passwd yes', 'check-files passwd yes', 'enable-cache group no', 'enable-cache hosts no',
    'enable-cache services no', 'enable-cache netgroup no', '',
  ].join('\n'));
  // unshare and sh exec in place: the child's pid is the daemon's
  const d = spawn('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c', NAMESPACE, NSCD!, conf],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  d.stderr!.setEncoding('utf8').on('data', (s: string) => { err += s; });
  d.on('error', (e) => { err += `${e.message}\n`; });
  // ready when it is nscd (so the mounts are made: until then the path below is the host's) and its
  // socket, seen through its own root, accepts a connection (bounded: 100 tries)
  const exe = fs.realpathSync(NSCD!);
  for (let i = 0; i < 100; i++) {
    if (d.exitCode !== null || d.pid === undefined) throw new Error(`nscd exited (${d.exitCode}) during startup: ${err}`);
    let running = '';
    try { running = fs.readlinkSync(`/proc/${d.pid}/exe`); } catch { /* between execs */ }
    if (running === exe && await connectable(inside(d.pid, SOCKET))) return d;
    await new Promise((r) => setTimeout(r, 50));
  }
  d.kill('SIGKILL');
  throw new Error(`nscd did not open its socket: ${err}`);
}

/** Opens a FIFO both ways and fills it: the next write into it blocks until `drain` reads it out. */
export function fullFifo(file: string): { drain: () => string; close: () => void } {
  execFileSync('mkfifo', ['-m', '0600', file]);
  const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
  const fill = (size: number): void => {
    const b = Buffer.alloc(size, 0x2e);
    for (;;) {
      try { fs.writeSync(fd, b); } catch (err) { if ((err as NodeJS.ErrnoException).code === 'EAGAIN') return; throw err; }
    }
  };
  fill(4096);
  fill(1); // down to the last byte: even a short write now blocks
  return {
    close: () => fs.closeSync(fd),
    drain: () => {
      let out = '';
      const b = Buffer.alloc(65536);
      for (;;) {
        let n: number;
        try { n = fs.readSync(fd, b); } catch (err) { if ((err as NodeJS.ErrnoException).code === 'EAGAIN') break; throw err; }
        if (n === 0) break;
        out += b.subarray(0, n).toString('latin1');
      }
      return out.replace(/^\.+/, '');
    },
  };
}
