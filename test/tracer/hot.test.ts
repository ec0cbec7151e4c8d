// The commonest calls' readers (src/tracer/hot.ts) against decode's general path: on every shape strace prints for
// them they must give the op the general path gives, and on anything else either that op or nothing (the general
// path then reads it). Real lines from the recorded logs' shapes, then random mutations of them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isDeepStrictEqual } from 'node:util';
import fs from 'node:fs';
import path from 'node:path';
import { root } from '../paths.js';
import { Joiner, newSource } from '../../src/tracer/joiner.js';
import { decode, decodeSyscall, sendEntry } from '../../src/tracer/decode.js';
import { hotDecode, sendmsg } from '../../src/tracer/hot.js';
import { ENTRY_EVENTS, SYSCALLS } from '../../src/model/syscalls.js';
import type { EntryEvent, SyscallEvent } from '../../src/model/events.js';
import type { FdOp } from '../../src/model/fdop.js';

/** The syscall event one strace line (or an unfinished + resumed pair) joins to. */
function eventOf(...lines: string[]): SyscallEvent {
  const out: SyscallEvent[] = [];
  const j = new Joiner((e) => { if (e.type === 'syscall') out.push(e); }, () => {}, null, null);
  const src = newSource(null, 0);
  lines.forEach((l, i) => j.push(l, i + 1, src));
  assert.is(out.length, 1, lines.join('\n'));
  return out[0]!;
}

/** An op as data (close's lazy FdRef read out), for comparing. */
function plain(op: FdOp | null): unknown {
  if (op === null || op.op !== 'close') return op;
  const { fd, ...rest } = op;
  return { ...rest, fd: { fd: fd.fd, target: fd.target } };
}

/** Both paths on one event, each with its own kernel model that counts what decode asked it. */
function both(e: SyscallEvent): { hot: unknown; general: unknown; asks: [number, number] } {
  const asks: [number, number] = [0, 0];
  const hot = hotDecode(e, { privateMapsMatter: (tid) => { asks[0]++; return tid % 2 === 0; } });
  const general = decodeSyscall(e, { privateMapsMatter: (tid) => { asks[1]++; return tid % 2 === 0; } });
  return { hot: plain(hot), general: plain(general), asks };
}

// every one of these is read by hot.ts (not handed on), and gives what the general path gives
const TAKEN: string[][] = [
  ['10 openat(AT_FDCWD</tmp/rw>, "/etc/ld.so.cache", O_RDONLY|O_CLOEXEC) = 3</etc/ld.so.cache> <0.000021>'],
  ['10 openat(AT_FDCWD, "/tmp", O_RDONLY|O_NONBLOCK|O_CLOEXEC|O_DIRECTORY) = 4</tmp>'],
  ['10 openat(5</home/u>, "a, \\"b\\"", O_WRONLY|O_CREAT|O_TRUNC, 0644) = 6</home/u/a, "b">'],
  ['10 openat(AT_FDCWD</x>, "/very/long"..., O_RDONLY) = 7</very/long/path>'],
  ['10 openat(AT_FDCWD</x>, "/dev/null", O_RDWR) = 3</dev/null<char 1:3>>'],
  ['10 openat(AT_FDCWD</x>, "/nope", O_RDONLY) = -1 ENOENT (No such file or directory)'],
  ['11 openat(AT_FDCWD</tmp/rw>, "/etc/passwd", O_RDONLY|O_CLOEXEC <unfinished ...>', '11 <... openat resumed>) = 3</etc/passwd> <0.000134>'],
  ['10 close(3</etc/ld.so.cache>) = 0 <0.000011>'],
  ['10 close(7</memfd:shm (deleted)>) = 0'],
  ['10 close(3) = -1 EBADF (Bad file descriptor)'],
  ['12 close(11</usr/bin/chromium> <unfinished ...>', '12 <... close resumed>) = 0 <0.000042>'],
  ['10 mmap(NULL, 39487, PROT_READ, MAP_PRIVATE, 3</etc/ld.so.cache>, 0) = 0x7fb28c750000 <0.000023>'],
  ['11 mmap(NULL, 39487, PROT_READ, MAP_PRIVATE, 3</etc/ld.so.cache>, 0) = 0x7fb28c750000 <0.000023>'],
  ['10 mmap(NULL, 65568, PROT_READ|PROT_WRITE, MAP_SHARED, 4</memfd:shared-memory-region>(deleted), 0) = 0x7f6b2b148000'],
  ['10 mmap(0x7f00aa000000, 1974096, PROT_READ|PROT_EXEC, MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE, 3</lib/libc.so.6>, 0x28000) = 0x7f00aa000000'],
  ['10 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_ANONYMOUS, -1, 0) = 0x7fcaca7af000'],
  ['10 mmap(NULL, 8192, PROT_READ, MAP_SHARED, 5, 0) = 0x7fcaca7af000'],
  ['10 mmap(NULL, 8192, PROT_READ, MAP_SHARED, 5</x>, 0) = -1 ENOMEM (Cannot allocate memory)'],
  ['13 mmap(NULL, 65536, PROT_READ|PROT_WRITE, MAP_SHARED, 3</memfd:shm>(deleted), 0 <unfinished ...>', '13 <... mmap resumed>) = 0x7fb28b5c5000'],
  ['10 munmap(0x7fcaca7a5000, 39487) = 0 <0.000026>'],
  ['10 fcntl(3</usr/bin/chromium>, F_DUPFD, 10) = 11</usr/bin/chromium>'],
  ['10 fcntl(3</x>, F_DUPFD_CLOEXEC, 10) = 10</x>'],
  ['10 fcntl(11</usr/bin/chromium>, F_SETFD, FD_CLOEXEC) = 0'],
  ['10 fcntl(3, F_SETFD, 0) = 0'],
  ['10 fcntl(3, F_SETFD, 0x1) = 0'],
  ['10 fcntl(3, F_GETFD) = 0x1 (flags FD_CLOEXEC)'],
  ['10 fcntl(4</memfd:shared-memory-region>(deleted), F_GETFD) = 0'],
  ['10 fcntl(4</root/.config/chromium/Crash Reports/pending>, F_GETFL) = 0x38800 (flags O_RDONLY|O_NONBLOCK)'],
  ['10 fcntl(4</memfd:x>(deleted), F_ADD_SEALS, F_SEAL_SEAL|F_SEAL_SHRINK|F_SEAL_GROW) = 0'],
  ['10 fcntl(4, F_SETLK, {l_type=F_WRLCK, l_whence=SEEK_SET, l_start=0, l_len=0}) = 0'],
  ['10 dup(5</memfd:shared-memory-region>(deleted)) = 4</memfd:shared-memory-region>'],
  ['10 dup2(3</x>, 1</dev/pts/0<char 136:0>>) = 1</x>'],
  ['10 dup3(3, 9, O_CLOEXEC) = 9'],
  ['10 dup2(-1, 1) = 1'],
  ['10 recvmsg(3<UNIX:[9540404->9540403]>, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="\\4\\0\\0\\0\\3\\0\\0\\0", iov_len=65536}], msg_iovlen=1, msg_controllen=0, msg_flags=0}, 0) = 8'],
  ['10 recvmsg(3<UNIX:[1->2]>, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="}{\\")]", iov_len=8}], msg_iovlen=1, msg_controllen=0, msg_flags=MSG_CTRUNC}, MSG_CMSG_CLOEXEC|MSG_PEEK) = 8'],
  ['10 recvmsg(3<UNIX:[1->2]>, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="a"..., iov_len=65536}], msg_iovlen=1, msg_controllen=0, msg_flags=MSG_TRUNC}, MSG_DONTWAIT) = 65536'],
  // a name inside the iov is no field of the msghdr
  ['10 recvmsg(3<UNIX:[1->2]>, {msg_name=NULL, msg_iov=[{iov_base="x"msg_control=[], iov_len=1}], msg_controllen=0, msg_flags=0}, 0) = 1'],
  ['10 recvmsg(3<UNIX:[1->2]>, 0x7ffd1234, 0) = -1 EAGAIN (Resource temporarily unavailable)'],
  ['14 recvmsg(3<UNIX:[9540404->9540403]>,  <unfinished ...>', '14 <... recvmsg resumed>{msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="x", iov_len=1}], msg_iovlen=1, msg_controllen=0, msg_flags=0}, 0) = 1'],
  // SCM_RIGHTS: decorated fds, unlinked ones, several per message, several messages, undecorated ones (no -yy)
  ['10 recvmsg(3<UNIX:[1->2]>, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="x", iov_len=1}], msg_iovlen=1, msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[5</etc/hostname>]}], msg_controllen=24, msg_flags=0}, 0) = 1'],
  ['10 recvmsg(3<UNIX:[1->2]>, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="\\210\\3\\0\\0gpu-process\\0", iov_len=65536}], msg_iovlen=1, msg_control=[{cmsg_len=28, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[36<UNIX:[215443->215442]>, 37</memfd:shared-memory-region>(deleted), 38</dev/shm/.org.chromium.Chromium.x (deleted)>]}], msg_controllen=32, msg_flags=MSG_CMSG_CLOEXEC}, MSG_CMSG_CLOEXEC) = 908'],
  ['10 recvmsg(3<UNIX:[1->2]>, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="ab", iov_len=2}], msg_iovlen=1, msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[7</a>]}, {cmsg_len=24, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[8</b>, 9</c, d]>]}], msg_controllen=48, msg_flags=MSG_CTRUNC}, MSG_PEEK) = 2'],
  ['10 recvmsg(3, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="x", iov_len=1}], msg_iovlen=1, msg_control=[{cmsg_len=24, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[5, 6]}], msg_controllen=24, msg_flags=0}, 0) = 1'],
  ['15 recvmsg(3<UNIX:[1->2]>,  <unfinished ...>', '15 <... recvmsg resumed>{msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="x", iov_len=1}], msg_iovlen=1, msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[10</x>]}], msg_controllen=24, msg_flags=0}, 0) = 1 <0.000040>'],
  ['10 sendmsg(8<UNIX:[215381->215382]>, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="\\4\\0\\0\\0\\3\\0\\0\\0", iov_len=8}], msg_iovlen=1, msg_controllen=0, msg_flags=0}, MSG_NOSIGNAL) = 8'],
  ['10 sendmsg(9<UNIX:[1->2]>, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="x", iov_len=1}], msg_iovlen=1, msg_control=[{cmsg_len=24, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[5</etc/passwd>, 6<TCP:[1.2.3.4:80->5.6.7.8:9]>]}], msg_controllen=24, msg_flags=0}, MSG_NOSIGNAL) = 1 <0.000012>'],
  ['10 sendmsg(4, {msg_name={sa_family=AF_UNIX, sun_path="/run/x"}, msg_namelen=110, msg_iov=[{iov_base="x", iov_len=1}], msg_iovlen=1, msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[3]}], msg_controllen=24, msg_flags=0}, 0) = 1'],
  ['16 sendmsg(9<UNIX:[1->2]>, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="x", iov_len=1}], msg_iovlen=1, msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[5</x>]}], msg_controllen=24, msg_flags=0}, MSG_NOSIGNAL <unfinished ...>', '16 <... sendmsg resumed>) = 1'],
];

const SENDMSG = SYSCALLS.get('sendmsg')!;

/** sendmsg entry halves (`<unfinished ...>` lines): decode's entry op, read in place, as the general path reads it. */
const SEND_ENTRIES: string[] = [
  '16 sendmsg(9<UNIX:[1->2]>, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="x", iov_len=1}], msg_iovlen=1, msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[5</x>]}], msg_controllen=24, msg_flags=0}, MSG_NOSIGNAL <unfinished ...>',
  '16 sendmsg(9<UNIX:[1->2]>, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="y", iov_len=1}], msg_iovlen=1, msg_controllen=0, msg_flags=0}, MSG_NOSIGNAL <unfinished ...>',
  // handed on: the general path's
  '16 sendmsg(9<UNIX:[1->2]>, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="x", iov_len=1}], msg_iovlen=1, msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[5, ...]}], msg_controllen=24, msg_flags=0}, 0 <unfinished ...>',
  '16 sendmsg(9, 0x7ffc0000, 0 <unfinished ...>',
];

// shapes hot.ts hands on to the general path (which reads them: their op is tested in decode.test.ts)
const HANDED_ON: string[] = [
  '10 openat(AT_FDCWD, "/etc/hostname", O_RDONLY) = 3',
  '10 openat(AT_FDCWD, "/x", O_RDONLY /* 0 */) = 3</x>',
  '10 close(3) = -1 EINTR (Interrupted system call)',
  '10 mmap(NULL, 0x1000, PROT_READ, MAP_SHARED, 3</x>, 0) = 0x7f0000000000',
  '10 mmap(NULL, 010, PROT_READ, MAP_SHARED, 3</x>, 0) = 0x7f0000000000',
  '10 mmap(NULL, 4096, PROT_READ, 21<<MAP_HUGE_SHIFT|MAP_SHARED, 3</x>, 0) = 0x7f0000000000',
  '10 fcntl(03, F_SETFD, FD_CLOEXEC) = 0',
  // control messages other than SCM_RIGHTS alone, strace's `...`, -X raw numbers, fds in octal or hex, a failed send
  '10 recvmsg(3<UNIX:[1->2]>, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="x", iov_len=1}], msg_iovlen=1, msg_control=[{cmsg_len=28, cmsg_level=SOL_SOCKET, cmsg_type=SCM_CREDENTIALS, cmsg_data={pid=1, uid=0, gid=0}}, {cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[5</x>]}], msg_controllen=56, msg_flags=0}, 0) = 1',
  '10 recvmsg(3<UNIX:[1->2]>, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="x", iov_len=1}], msg_iovlen=1, msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[5</x>, 6</y>, ...]}], msg_controllen=24, msg_flags=0}, 0) = 1',
  '10 recvmsg(3<UNIX:[1->2]>, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="x", iov_len=1}], msg_iovlen=1, msg_control=[{cmsg_len=20, cmsg_level=0x1 /* SOL_SOCKET */, cmsg_type=0x1 /* SCM_RIGHTS */, cmsg_data=[5]}], msg_controllen=24, msg_flags=0}, 0) = 1',
  '10 recvmsg(3<UNIX:[1->2]>, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="x", iov_len=1}], msg_iovlen=1, msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[05, 0x6]}], msg_controllen=24, msg_flags=0}, 0) = 1',
  '10 recvmsg(3<UNIX:[1->2]>, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="x", iov_len=1}], msg_iovlen=1, msg_control=0x7ffd0000, msg_controllen=24, msg_flags=0}, 0) = 1',
  '10 sendmsg(9<UNIX:[1->2]>, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="x", iov_len=1}], msg_iovlen=1, msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[5</x>]}], msg_controllen=24, msg_flags=0}, 0) = -1 EAGAIN (Resource temporarily unavailable)',
  '10 recvmsg(3<UNIX:[1->2]>, {msg_name={sa_family=AF_UNIX, sun_path="/x"}, msg_namelen=110 => 0, msg_iov=[{iov_base="x", iov_len=1}], msg_iovlen=1, msg_controllen=0, msg_flags=0}, 0) = 1',
  '10 recvmsg(3<UNIX:[1->2]>, {msg_name="x"msg_control=[{cmsg_type=SCM_RIGHTS, cmsg_data=[5]}], msg_flags=0}, 0) = 1',
];

test('the commonest shapes are read in place, each to the op the general path gives', () => {
  for (const lines of TAKEN) {
    const r = both(eventOf(...lines));
    assert.ok(r.hot !== null, `handed on: ${lines.join(' / ')}`);
    assert.equal(r.hot, r.general, lines.join(' / '));
    assert.equal(r.asks[0], r.asks[1], `kernel model asked differently: ${lines.join(' / ')}`);
  }
});

test('other shapes are handed on untouched: the general path reads them, and nothing was asked twice', () => {
  for (const line of HANDED_ON) {
    const e = eventOf(line);
    let asked = 0;
    assert.is(hotDecode(e, { privateMapsMatter: () => { asked++; return true; } }), null, line);
    assert.is(asked, 0, line);
    // decode takes the general path for it: the same op
    assert.equal(plain(decode(e)), plain(decodeSyscall(e, { privateMapsMatter: () => true })), line);
  }
});

test('a sendmsg entry half is read in place to the op the general path makes of it, or handed on', () => {
  let taken = 0;
  for (const line of SEND_ENTRIES) {
    const entries: EntryEvent[] = [];
    const j = new Joiner((e) => { if (e.type === 'entry') entries.push(e); }, () => {}, null, ENTRY_EVENTS);
    j.push(line, 1, newSource(null, 0));
    assert.is(entries.length, 1, line);
    const e = entries[0]!;
    const general = sendEntry(e, SENDMSG);
    const hot = sendmsg(e, true);
    if (hot !== null) { taken++; assert.equal(hot, general, line); }
    assert.equal(decode(e), general, line);
  }
  assert.is(taken, 2);
});

test('every call of every fixture log: what the readers take, they read as the general path does', () => {
  const dir = path.join(root, 'fixtures', 'traces');
  const taken = new Map<string, number>();
  let events = 0;
  for (const c of fs.readdirSync(dir)) {
    for (const file of fs.readdirSync(path.join(dir, c)).filter((n) => n.endsWith('.log'))) {
      const where = `${c}/${file}`;
      const j = new Joiner((e) => {
        if (e.type === 'entry' && e.name === 'sendmsg') {
          const hot = sendmsg(e, true);
          if (hot !== null) {
            assert.equal(hot, sendEntry(e, SENDMSG), `${where}:${e.line}`);
            taken.set('sendmsg entry', (taken.get('sendmsg entry') ?? 0) + 1);
          }
        }
        if (e.type !== 'syscall' || e.cut === true) return;
        events++;
        const r = both(e);
        if (r.hot === null) return;
        taken.set(e.name, (taken.get(e.name) ?? 0) + 1);
        assert.ok(isDeepStrictEqual(r.hot, r.general), `${where}:${e.line}: ${e.name}(${e.args.slice(0, 120)})`);
        assert.equal(r.asks[0], r.asks[1], `${where}:${e.line}`);
      }, () => {}, null, ENTRY_EVENTS);
      const src = newSource(null, 0);
      fs.readFileSync(path.join(dir, c, file), 'latin1').split('\n').forEach((l, i) => { if (l !== '') j.push(l, i + 1, src); });
      j.end();
    }
  }
  // the fixtures pass fds: their messages went through the readers, not only their opens and closes
  for (const name of ['openat', 'close', 'mmap', 'recvmsg', 'sendmsg', 'sendmsg entry']) assert.ok((taken.get(name) ?? 0) > 0, `no ${name} taken of ${events} events: ${JSON.stringify([...taken])}`);
});

/** A small deterministic generator (the same cases every run). */
function rng(seed: number): () => number {
  let x = seed;
  return () => { x = (x * 1103515245 + 12345) & 0x7fffffff; return x / 0x80000000; };
}

test('random damage to those shapes: the reader gives the general path\'s op or hands the line on', () => {
  const next = rng(2026);
  const alphabet = ['"', '\\', '<', '>', '(', ')', '[', ']', '{', '}', ',', ', ', ' ', '=', '=>', '/*', '*/', '0', '1', '-', 'x', '...',
    '(deleted)', 'MAP_SHARED', 'O_DIRECTORY', 'CLOEXEC', 'msg_control=', 'msg_flags=', 'MSG_CTRUNC', 'F_SETFD', '@'];
  let taken = 0;
  let compared = 0;
  for (const lines of TAKEN) {
    const base = eventOf(...lines);
    for (let k = 0; k < 400; k++) {
      let args = base.args;
      for (let m = 1 + Math.floor(next() * 3); m > 0; m--) {
        const at = Math.floor(next() * (args.length + 1));
        const cut = next() < 0.3 ? Math.floor(next() * 3) : 0;
        args = args.slice(0, at) + alphabet[Math.floor(next() * alphabet.length)]! + args.slice(at + cut);
      }
      const e: SyscallEvent = { ...base, args };
      const r = both(e);
      compared++;
      if (r.hot === null) continue;
      taken++;
      assert.ok(isDeepStrictEqual(r.hot, r.general), JSON.stringify({ name: e.name, args, hot: r.hot, general: r.general }, (_, v) => typeof v === 'bigint' ? `${v}n` : v));
      assert.equal(r.asks[0], r.asks[1], args);
    }
  }
  assert.is(compared, TAKEN.length * 400);
  // the damage leaves many lines in a shape the reader takes: the comparison is not empty
  assert.ok(taken > compared / 10, `${taken} of ${compared}`);
});

test.run();
