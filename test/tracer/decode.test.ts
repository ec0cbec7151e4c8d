// decode alone: strace text in -> exact FdOp out, one row per syscall family and flag variant (as strace's own
// tests are a table of expected lines). The rows were checked by hand against strace's output format.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Joiner, newSource } from '../../src/tracer/joiner.js';
import { decode } from '../../src/tracer/decode.js';
import type { FdOp, FdTarget } from '../../src/model/fdop.js';
import type { FdKind } from '../../src/model/records.js';
import { hasFlag } from '../../src/model/kernel.js';

function T(target: string, kind: FdKind, extra: Partial<Omit<FdTarget, 'target' | 'kind'>> = {}): FdTarget {
  return { target, kind, inode: null, peer: null, path: null, pid: null, ...extra };
}

/** One strace line through the real joiner and decode; the op without its place in the trace. */
function decodeLine(text: string): Array<Record<string, unknown>> {
  const ops: FdOp[] = [];
  const errors: string[] = [];
  const j = new Joiner((e) => { const op = decode(e); if (op) ops.push(op); }, (er) => errors.push(er.reason), null, null);
  const src = newSource(null, 0);
  j.push(text, 1, src);
  if (!text.includes('<unfinished ...>')) { j.end(src); j.end(); }
  assert.equal(errors, [], text);
  return ops.map(({ tid, ts, line, comm, ...rest }) => {
    assert.is(tid, 10);
    assert.is(line, 1);
    // an FdRef may be a lazy one (close reads its decoration when asked): compare what it says
    if (rest.op === 'close') return { ...rest, fd: { fd: rest.fd.fd, target: rest.fd.target } };
    return rest as Record<string, unknown>;
  });
}

const CASES: Array<[string, string, Record<string, unknown>]> = [
  ['open: openat -yy', '10 openat(AT_FDCWD</tmp>, "/etc/hostname", O_RDONLY|O_CLOEXEC) = 3</etc/hostname>',
    { op: 'open', syscall: 'openat', fd: 3, target: T('/etc/hostname', 'file'), cloexec: true, socket: false }],
  ['open: openat plain', '10 openat(AT_FDCWD, "/etc/hostname", O_RDONLY) = 3',
    { op: 'open', syscall: 'openat', fd: 3, target: T('/etc/hostname', 'file'), cloexec: false, socket: false }],
  ['open: openat directory', '10 openat(AT_FDCWD, "/tmp", O_RDONLY|O_NONBLOCK|O_CLOEXEC|O_DIRECTORY) = 4',
    { op: 'open', syscall: 'openat', fd: 4, target: T('/tmp', 'dir'), cloexec: true, socket: false }],
  ['open: openat2 how.flags', '10 openat2(AT_FDCWD, "/x", {flags=O_RDONLY|O_CLOEXEC, resolve=0}, 24) = 5',
    { op: 'open', syscall: 'openat2', fd: 5, target: T('/x', 'file'), cloexec: true, socket: false }],
  ['open: socket -yy', '10 socket(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0) = 3<UNIX-STREAM:[1234]>',
    { op: 'open', syscall: 'socket', fd: 3, target: T('UNIX-STREAM:[1234]', 'socket', { inode: 1234 }), cloexec: true, socket: true }],
  ['open: socket plain', '10 socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) = 3',
    { op: 'open', syscall: 'socket', fd: 3, target: T('socket:[?]', 'socket'), cloexec: false, socket: true }],
  ['open: memfd_create', '10 memfd_create("shm", MFD_CLOEXEC) = 7</memfd:shm (deleted)>',
    { op: 'open', syscall: 'memfd_create', fd: 7, target: T('/memfd:shm (deleted)', 'memfd'), cloexec: true, socket: false }],
  ['open: pidfd_open', '10 pidfd_open(42, 0) = 6<anon_inode:[pidfd]>',
    { op: 'open', syscall: 'pidfd_open', fd: 6, target: T('anon_inode:[pidfd]', 'anon', { pid: 42 }), cloexec: true, socket: false }],
  ['open: signalfd new', '10 signalfd4(-1, [INT], 8, SFD_CLOEXEC) = 5',
    { op: 'open', syscall: 'signalfd4', fd: 5, target: T('anon_inode:[signalfd]', 'anon'), cloexec: true, socket: false }],
  ['open: signalfd update', '10 signalfd4(5, [INT], 8, SFD_CLOEXEC) = 5',
    { op: 'task', syscall: 'signalfd4' }],
  ['open: eventfd2', '10 eventfd2(0, EFD_CLOEXEC|EFD_NONBLOCK) = 8<anon_inode:[eventfd]>',
    { op: 'open', syscall: 'eventfd2', fd: 8, target: T('anon_inode:[eventfd]', 'anon'), cloexec: true, socket: false }],
  ['accept: accept4 -yy', '10 accept4(3<UNIX-STREAM:[100,"/run/x.sock"]>, NULL, NULL, SOCK_CLOEXEC) = 4<UNIX-STREAM:[101->102,"/run/x.sock"]>',
    { op: 'accept', syscall: 'accept4', fd: 4, target: T('UNIX-STREAM:[101->102,"/run/x.sock"]', 'socket', { inode: 101, peer: 102, path: '/run/x.sock' }), cloexec: true, listener: { fd: 3, target: T('UNIX-STREAM:[100,"/run/x.sock"]', 'socket', { inode: 100, path: '/run/x.sock' }) } }],
  ['pair: socketpair -yy', '10 socketpair(AF_UNIX, SOCK_STREAM, 0, [3<UNIX-STREAM:[6149->6150]>, 4<UNIX-STREAM:[6150->6149]>]) = 0',
    { op: 'pair', syscall: 'socketpair', fds: [{ fd: 3, target: T('UNIX-STREAM:[6149->6150]', 'socket', { inode: 6149, peer: 6150 }) }, { fd: 4, target: T('UNIX-STREAM:[6150->6149]', 'socket', { inode: 6150, peer: 6149 }) }], cloexec: false }],
  ['pair: pipe2 plain', '10 pipe2([3, 4], O_CLOEXEC) = 0',
    { op: 'pair', syscall: 'pipe2', fds: [{ fd: 3, target: T('pipe:[?]', 'pipe') }, { fd: 4, target: T('pipe:[?]', 'pipe') }], cloexec: true }],
  ['dup: dup', '10 dup(3</etc/passwd>) = 4</etc/passwd>',
    { op: 'dup', syscall: 'dup', from: { fd: 3, target: T('/etc/passwd', 'file') }, fd: 4, cloexec: false }],
  ['dup: dup2', '10 dup2(3, 1) = 1',
    { op: 'dup', syscall: 'dup2', from: { fd: 3, target: null }, fd: 1, cloexec: false }],
  ['dup: dup3 cloexec', '10 dup3(3, 9, O_CLOEXEC) = 9',
    { op: 'dup', syscall: 'dup3', from: { fd: 3, target: null }, fd: 9, cloexec: true }],
  ['dup: fcntl F_DUPFD_CLOEXEC', '10 fcntl(3</x>, F_DUPFD_CLOEXEC, 10) = 10</x>',
    { op: 'dup', syscall: 'fcntl', from: { fd: 3, target: T('/x', 'file') }, fd: 10, cloexec: true }],
  ['cloexec: fcntl F_SETFD', '10 fcntl(3, F_SETFD, FD_CLOEXEC) = 0',
    { op: 'set-cloexec', syscall: 'fcntl', fd: { fd: 3, target: null }, set: true, cloexec: true }],
  ['cloexec: fcntl F_SETFD 0', '10 fcntl(3, F_SETFD, 0) = 0',
    { op: 'set-cloexec', syscall: 'fcntl', fd: { fd: 3, target: null }, set: true, cloexec: false }],
  ['cloexec: fcntl F_GETFD', '10 fcntl(3, F_GETFD) = 0x1 (flags FD_CLOEXEC)',
    { op: 'set-cloexec', syscall: 'fcntl', fd: { fd: 3, target: null }, set: false, cloexec: true }],
  ['cloexec: fcntl F_GETFL is nothing', '10 fcntl(3, F_GETFL) = 0x2 (flags O_RDWR)',
    { op: 'task', syscall: 'fcntl' }],
  ['close: close -yy', '10 close(3</etc/hostname>) = 0',
    { op: 'close', syscall: 'close', fd: { fd: 3, target: T('/etc/hostname', 'file') } }],
  ['close: close deleted', '10 close(7</memfd:shm (deleted)>) = 0',
    { op: 'close', syscall: 'close', fd: { fd: 7, target: T('/memfd:shm (deleted)', 'memfd') } }],
  ['close: close EINTR still closes', '10 close(3) = -1 EINTR (Interrupted system call)',
    { op: 'close', syscall: 'close', fd: { fd: 3, target: null } }],
  ['close: close EBADF is nothing', '10 close(3) = -1 EBADF (Bad file descriptor)',
    { op: 'task', syscall: 'close' }],
  ['close_range: all', '10 close_range(3, ~0U, 0) = 0',
    { op: 'close_range', syscall: 'close_range', first: 3, last: Infinity, cloexec: false, unshare: false }],
  ['close_range: cloexec', '10 close_range(3, 10, CLOSE_RANGE_CLOEXEC) = 0',
    { op: 'close_range', syscall: 'close_range', first: 3, last: 10, cloexec: true, unshare: false }],
  ['close_range: unshare', '10 close_range(0, -1, CLOSE_RANGE_UNSHARE) = 0',
    { op: 'close_range', syscall: 'close_range', first: 0, last: Infinity, cloexec: false, unshare: true }],
  ['send: sendmsg one fd', '10 sendmsg(3<UNIX-STREAM:[1->2]>, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="x", iov_len=1}], msg_iovlen=1, msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[5</tmp/a>]}], msg_controllen=24, msg_flags=0}, 0) = 1',
    { op: 'send', syscall: 'sendmsg', socket: { fd: 3, target: T('UNIX-STREAM:[1->2]', 'socket', { inode: 1, peer: 2 }) }, messages: [{ fds: [{ fd: 5, target: T('/tmp/a', 'file') }], hidden: false, ctrunc: false }] , entry: false }],
  ['send: sendmsg -X raw', '10 sendmsg(3, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="x", iov_len=1}], msg_iovlen=1, msg_control=[{cmsg_len=20, cmsg_level=0x1, cmsg_type=0x1, cmsg_data=[5]}], msg_controllen=24, msg_flags=0}, 0) = 1',
    { op: 'send', syscall: 'sendmsg', socket: { fd: 3, target: null }, messages: [{ fds: [{ fd: 5, target: null }], hidden: false, ctrunc: false }] , entry: false }],
  ['send: sendmsg fds past -s', '10 sendmsg(3, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="x", iov_len=1}], msg_iovlen=1, msg_control=[{cmsg_len=28, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[5, 6, ...]}], msg_controllen=32, msg_flags=0}, 0) = 1',
    { op: 'send', syscall: 'sendmsg', socket: { fd: 3, target: null }, messages: [{ fds: [{ fd: 5, target: null }, { fd: 6, target: null }], hidden: true, ctrunc: false }] , entry: false }],
  ['send: sendmsg undecoded control', '10 sendmsg(3, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="x", iov_len=1}], msg_iovlen=1, msg_control=0x7ffd0000, msg_controllen=24, msg_flags=0}, 0) = 1',
    { op: 'send', syscall: 'sendmsg', socket: { fd: 3, target: null }, messages: [{ fds: [], hidden: false, ctrunc: false }] , entry: false }],
  ['send: sendmsg no control', '10 sendmsg(3, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="x", iov_len=1}], msg_iovlen=1, msg_controllen=0, msg_flags=0}, 0) = 1',
    { op: 'send', syscall: 'sendmsg', socket: { fd: 3, target: null }, messages: [{ fds: [], hidden: false, ctrunc: false }] , entry: false }],
  ['send: sendmmsg two messages', '10 sendmmsg(3, [{msg_hdr={msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="a", iov_len=1}], msg_iovlen=1, msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[5]}], msg_controllen=24, msg_flags=0}, msg_len=1}, {msg_hdr={msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="b", iov_len=1}], msg_iovlen=1, msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[6]}], msg_controllen=24, msg_flags=0}, msg_len=1}], 2, 0) = 2',
    { op: 'send', syscall: 'sendmmsg', socket: { fd: 3, target: null }, messages: [{ fds: [{ fd: 5, target: null }], hidden: false, ctrunc: false }, { fds: [{ fd: 6, target: null }], hidden: false, ctrunc: false }] , entry: false }],
  ['receive: recvmsg cloexec', '10 recvmsg(4<UNIX-STREAM:[2->1]>, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="x", iov_len=1}], msg_iovlen=1, msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[7</tmp/a>]}], msg_controllen=24, msg_flags=MSG_CMSG_CLOEXEC}, MSG_CMSG_CLOEXEC) = 1',
    { op: 'receive', syscall: 'recvmsg', socket: { fd: 4, target: T('UNIX-STREAM:[2->1]', 'socket', { inode: 2, peer: 1 }) }, messages: [{ fds: [{ fd: 7, target: T('/tmp/a', 'file') }], hidden: false, ctrunc: false }], cloexec: true , peek: false }],
  ['receive: recvmsg ctrunc', '10 recvmsg(4, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="x", iov_len=1}], msg_iovlen=1, msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[7]}], msg_controllen=24, msg_flags=MSG_CTRUNC}, 0) = 1',
    { op: 'receive', syscall: 'recvmsg', socket: { fd: 4, target: null }, messages: [{ fds: [{ fd: 7, target: null }], hidden: false, ctrunc: true }], cloexec: false , peek: false }],
  ['receive: recvmsg -X raw flags', '10 recvmsg(4, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="x", iov_len=1}], msg_iovlen=1, msg_control=[{cmsg_len=20, cmsg_level=0x1, cmsg_type=0x1, cmsg_data=[7]}], msg_controllen=24, msg_flags=0x8}, 0x40000000) = 1',
    { op: 'receive', syscall: 'recvmsg', socket: { fd: 4, target: null }, messages: [{ fds: [{ fd: 7, target: null }], hidden: false, ctrunc: true }], cloexec: true , peek: false }],
  ['take: pidfd_getfd', '10 pidfd_getfd(5<anon_inode:[pidfd]>, 3, 0) = 6</etc/hostname>',
    { op: 'take', syscall: 'pidfd_getfd', pidfd: { fd: 5, target: T('anon_inode:[pidfd]', 'anon') }, targetFd: 3, fd: 6, target: T('/etc/hostname', 'file') }],
  ['map: mmap shared', '10 mmap(NULL, 217032, PROT_READ, MAP_SHARED, 3</var/cache/nscd/passwd>, 0) = 0x7f8995777000',
    { op: 'map', syscall: 'mmap', fd: { fd: 3, target: T('/var/cache/nscd/passwd', 'file') }, start: 0x7f8995777000n, length: 0x35000n, perms: 'r--s', shared: true, offset: 0x0n }],
  ['map: mmap private anonymous', '10 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f8995780000',
    { op: 'task', syscall: 'mmap' }],
  ['map: mmap private file offset', '10 mmap(0x7f89955bb000, 1400832, PROT_READ|PROT_EXEC, MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE, 3</lib/libc.so.6>, 0x26000) = 0x7f89955bb000',
    { op: 'map', syscall: 'mmap', fd: { fd: 3, target: T('/lib/libc.so.6', 'file') }, start: 0x7f89955bb000n, length: 0x156000n, perms: 'r-xp', shared: false, offset: 0x26000n }],
  ['map: mmap shared anonymous is nothing', '10 mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_ANONYMOUS, -1, 0) = 0x7f8995780000',
    { op: 'task', syscall: 'mmap' }],
  ['map: munmap is nothing', '10 munmap(0x7f8995780000, 8192) = 0',
    { op: 'task', syscall: 'munmap' }],
  ['clone: clone process', '10 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f1) = 11',
    { op: 'clone', syscall: 'clone', child: 11, flags: { thread: false, files: false, parent: false } }],
  ['clone: clone thread', '10 clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, child_tid=0x7f, parent_tid=0x7f, exit_signal=0, stack=0x7f, stack_size=0x7ff80, tls=0x7f} => {parent_tid=[12]}, 88) = 12',
    { op: 'clone', syscall: 'clone3', child: 12, flags: { thread: true, files: true, parent: false } }],
  ['clone: clone -X raw', '10 clone(child_stack=NULL, flags=0x10400, parent_tid=NULL) = 13',
    { op: 'clone', syscall: 'clone', child: 13, flags: { thread: true, files: true, parent: false } }],
  ['clone: vfork', '10 vfork() = 14',
    { op: 'clone', syscall: 'vfork', child: 14, flags: { thread: false, files: false, parent: false } }],
  ['clone: clone failed', '10 clone(child_stack=NULL, flags=SIGCHLD) = -1 EAGAIN (Resource temporarily unavailable)',
    { op: 'clone', syscall: 'clone', child: null, flags: { thread: false, files: false, parent: false } }],
  ['clone: entry half', '10 clone(child_stack=NULL, flags=CLONE_FILES|SIGCHLD <unfinished ...>',
    { op: 'clone-entry', syscall: 'clone', flags: { thread: false, files: true, parent: false } }],
  ['exec: execve', '10 execve("/usr/bin/getent", ["getent", "passwd"], 0x7ffe /* 2 vars */) = 0',
    { op: 'exec', syscall: 'execve', path: '/usr/bin/getent' }],
  ['exec: execve with an environment of every shape', '10 execve("/bin/sh", ["sh", "-c", "a(b) = [c]"], ["X={y=1}", "Z=\\"q\\""...]) = 0',
    { op: 'exec', syscall: 'execve', path: '/bin/sh' }],
  ['exec: execveat', '10 execveat(3</usr/bin>, "true", ["true"], 0x7ffe /* 2 vars */, 0) = 0',
    { op: 'exec', syscall: 'execveat', path: 'true' }],
  ['exec: execve failed', '10 execve("/nope", ["nope"], 0x7ffe /* 2 vars */) = -1 ENOENT (No such file or directory)',
    { op: 'task', syscall: 'execve' }],
  ['uid: getuid', '10 getuid() = 1000',
    { op: 'uid', syscall: 'getuid', uid: 1000, effective: false, set: false }],
  ['uid: geteuid', '10 geteuid() = 0',
    { op: 'uid', syscall: 'geteuid', uid: 0, effective: true, set: false }],
  ['uid: setresuid', '10 setresuid(-1, 65534, -1) = 0',
    { op: 'uid', syscall: 'setresuid', uid: 65534, effective: true, set: true }],
  ['uid: setuid', '10 setuid(65534) = 0',
    { op: 'uid', syscall: 'setuid', uid: 65534, effective: true, set: true }],
  ['connect: connect path', '10 connect(3<UNIX-STREAM:[5]>, {sa_family=AF_UNIX, sun_path="/var/run/nscd/socket"}, 110) = 0',
    { op: 'connect', syscall: 'connect', socket: { fd: 3, target: T('UNIX-STREAM:[5]', 'socket', { inode: 5 }) }, path: '/var/run/nscd/socket' }],
  ['connect: connect abstract', '10 connect(3, {sa_family=AF_UNIX, sun_path=@"dbus"}, 7) = 0',
    { op: 'connect', syscall: 'connect', socket: { fd: 3, target: null }, path: '@dbus' }],
  ['bind: bind path', '10 bind(3, {sa_family=AF_UNIX, sun_path="/tmp/s"}, 110) = 0',
    { op: 'bind', syscall: 'bind', socket: { fd: 3, target: null }, path: '/tmp/s' }],
  ['exit: exited', '10 +++ exited with 3 +++',
    { op: 'exit', syscall: 'exit', code: 3, signal: null }],
  ['exit: killed', '10 +++ killed by SIGKILL +++',
    { op: 'exit', syscall: 'exit', code: null, signal: 'SIGKILL' }],
  ['task: read is nothing', '10 read(3, "x", 1) = 1',
    { op: 'task', syscall: 'read' }],
  ['send: sendmsg entry half (strace prints the msghdr there)', '10 sendmsg(3<UNIX-STREAM:[1->2]>, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="x", iov_len=1}], msg_iovlen=1, msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[5</tmp/a>]}], msg_controllen=24, msg_flags=0}, 0 <unfinished ...>',
    { op: 'send', syscall: 'sendmsg', socket: { fd: 3, target: T('UNIX-STREAM:[1->2]', 'socket', { inode: 1, peer: 2 }) }, messages: [{ fds: [{ fd: 5, target: T('/tmp/a', 'file') }], hidden: false, ctrunc: false }], entry: true }],
  ['send: sendmmsg entry half (its messages show at its return)', '10 sendmmsg(3<UNIX-STREAM:[1->2]>, [{msg_hdr={msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="a", iov_len=1}], msg_iovlen=1, msg_controllen=24, msg_flags=0}}], 2, 0 <unfinished ...>',
    { op: 'send-begin', syscall: 'sendmmsg', socket: { fd: 3, target: T('UNIX-STREAM:[1->2]', 'socket', { inode: 1, peer: 2 }) } }],
  ['send: sendmsg failed', '10 sendmsg(3, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="x", iov_len=1}], msg_iovlen=1, msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[5]}], msg_controllen=24, msg_flags=0}, MSG_DONTWAIT) = -1 EAGAIN (Resource temporarily unavailable)',
    { op: 'send-failed', syscall: 'sendmsg' }],
  ['receive: recvmsg MSG_PEEK', '10 recvmsg(4, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="x", iov_len=1}], msg_iovlen=1, msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[7]}], msg_controllen=24, msg_flags=0}, MSG_PEEK) = 1',
    { op: 'receive', syscall: 'recvmsg', socket: { fd: 4, target: null }, messages: [{ fds: [{ fd: 7, target: null }], hidden: false, ctrunc: false }], cloexec: false, peek: true }],
];

for (const [name, line, want] of CASES) {
  test(`decode ${name}`, () => {
    assert.equal(decodeLine(line), [want]);
  });
}

test('decode: a private file mapping is skipped unless the process holds a transferred fd', () => {
  const line = '10 mmap(NULL, 1974096, PROT_READ, MAP_PRIVATE|MAP_DENYWRITE, 3</lib/libc.so.6>, 0) = 0x7f8995595000';
  const ops: FdOp[] = [];
  const j = new Joiner((e) => { const op = decode(e, { privateMapsMatter: () => false }); if (op) ops.push(op); }, () => {}, null, null);
  const src = newSource(null, 0);
  j.push(line, 1, src);
  j.end(src);
  assert.equal(ops.map((o) => o.op), ['task']);
});

// a live Chromium trace crashed fdwatch on such a map record (start "0x-1" in live enrichment)
test('decode: an mmap that returned -1 without an errno name (also resumed) is no mapping', () => {
  for (const ret of ['-1', '-1 (errno 4095)']) {
    const whole = `10 mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_SHARED, 5</memfd:x (deleted)>, 0) = ${ret}`;
    const ops = decodeLine(whole);
    assert.equal(ops.map((o) => o.op), ['task'], whole);
  }
  const ops: FdOp[] = [];
  const j = new Joiner((e) => { const op = decode(e); if (op) ops.push(op); }, () => {}, null, null);
  const src = newSource(null, 0);
  j.push('10 mmap(NULL, 4096, PROT_READ, MAP_SHARED, 5</memfd:x (deleted)>, 0 <unfinished ...>', 1, src);
  j.push('10 <... mmap resumed>) = -1 (errno 4095)', 2, src);
  j.end(src);
  assert.equal(ops.map((o) => o.op), ['task']);
  // and one that returned an address still maps
  assert.equal(decodeLine('10 mmap(NULL, 4096, PROT_READ, MAP_SHARED, 5</memfd:x (deleted)>, 0) = 0x7f0000000000').map((o) => o.op), ['map']);
});

test('hasFlag: whole flag names, and bits of -X raw numbers (above 2^31 too)', () => {
  assert.ok(hasFlag('CLONE_VM|CLONE_PARENT|SIGCHLD', 'CLONE_PARENT', 0x8000));
  assert.not.ok(hasFlag('CLONE_VM|CLONE_PARENT_SETTID|SIGCHLD', 'CLONE_PARENT', 0x8000));
  assert.ok(hasFlag('0x10400', 'CLONE_THREAD', 0x10000));
  assert.not.ok(hasFlag('0x400', 'CLONE_THREAD', 0x10000));
  assert.ok(hasFlag('MSG_DONTWAIT|0x40000000', 'MSG_CMSG_CLOEXEC', 0x40000000));
  assert.ok(hasFlag('0xc0000000', 'MSG_CMSG_CLOEXEC', 0x40000000));
  assert.not.ok(hasFlag('', 'MSG_CTRUNC', 0x8));
});

test.run();
