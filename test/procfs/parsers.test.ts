// Pure parsers of /proc text: fd links, fdinfo (every per-type extra), maps, status, net tables.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { describeOpenFlags, parseFdinfo } from '../../src/procfs/fdinfo.js';
import { formatFdLink, parseFdLink } from '../../src/procfs/fdlink.js';
import { hex64, isFileBacked, parseMaps, parseMapsLine } from '../../src/procfs/maps.js';
import { decodeInetAddress, parseNetInet, parseNetUnix } from '../../src/procfs/net.js';
import { parseStatus } from '../../src/procfs/status.js';

test('fd link: each kind of target becomes its tagged variant and prints back the same', () => {
  const cases: Array<[string, unknown]> = [
    ['/etc/hostname', { type: 'path', path: '/etc/hostname' }],
    ['/tmp/x (deleted)', { type: 'deleted', path: '/tmp/x' }],
    ['/tmp/with space (deleted)', { type: 'deleted', path: '/tmp/with space' }],
    ['/home/u/two\nlines', { type: 'path', path: '/home/u/two\nlines' }],
    ['socket:[6149]', { type: 'socket', inode: 6149 }],
    ['pipe:[4984]', { type: 'pipe', inode: 4984 }],
    ['anon_inode:[eventfd]', { type: 'anon', name: 'eventfd' }],
    ['anon_inode:[eventpoll]', { type: 'anon', name: 'eventpoll' }],
    ['anon_inode:inotify', { type: 'anon', name: 'inotify' }],
    ['anon_inode:[pidfd]', { type: 'anon', name: 'pidfd' }],
    ['/memfd:shared-memory-region (deleted)', { type: 'memfd', name: 'shared-memory-region' }],
    ['/memfd:with space (deleted)', { type: 'memfd', name: 'with space' }],
    ['net:[4026531840]', { type: 'other', text: 'net:[4026531840]' }],
    ['socket:[notanumber]', { type: 'other', text: 'socket:[notanumber]' }],
  ];
  for (const [text, want] of cases) {
    const got = parseFdLink(text);
    assert.equal(got, want, text);
    assert.is(formatFdLink(got), text, `round trip of ${JSON.stringify(text)}`);
  }
});

test('fdinfo: common lines, flags in octal, 64-bit pos and ino as bigint', () => {
  const i = parseFdinfo('pos:\t18446744073709551000\nflags:\t02100002\nmnt_id:\t27\nino:\t9007199254740993\n')!;
  assert.is(i.pos, 18446744073709551000n);
  assert.is(i.flags, 0o2100002);
  assert.is(i.flagsText, '02100002');
  assert.is(i.mntId, 27);
  assert.is(i.ino, 9007199254740993n);
  assert.is(describeOpenFlags(i.flags), 'O_RDWR|O_LARGEFILE|O_CLOEXEC');
  assert.is(parseFdinfo('mnt_id:\t1\n'), null, 'no pos/flags: not an fdinfo file');
});

test('fdinfo: Unix socket scm_fds (in flight)', () => {
  assert.is(parseFdinfo('pos:\t0\nflags:\t02000002\nmnt_id:\t10\nino:\t4999\nscm_fds: 2\n')!.scmFds, 2);
});

test('fdinfo: eventfd, epoll, inotify, signalfd, timerfd, pidfd, locks', () => {
  const base = 'pos:\t0\nflags:\t02\nmnt_id:\t17\nino:\t1038\n';
  const ev = parseFdinfo(base + 'eventfd-count:                3\neventfd-id: 7\neventfd-semaphore: 1\n')!;
  assert.equal(ev.eventfd, { count: 3n, id: 7, semaphore: true });
  const ep = parseFdinfo(base + 'tfd:        6 events:       19 data:                6  pos:0 ino:40e sdev:10\ntfd:       14 events:        1 data:     7f0000000004  pos:12 ino:1805 sdev:8\n')!;
  assert.equal(ep.epoll, [
    { tfd: 6, events: 0x19, data: 6n, pos: 0n, ino: 0x40en, sdev: 0x10 },
    { tfd: 14, events: 1, data: 0x7f0000000004n, pos: 12n, ino: 0x1805n, sdev: 8 },
  ]);
  const ino = parseFdinfo(base + 'inotify wd:1 ino:3f7e8 sdev:fe00000 mask:100 ignored_mask:0 fhandle-bytes:8 fhandle-type:1 f_handle:e8f7030000000000\n')!;
  assert.equal(ino.inotify, [{ wd: 1, ino: 0x3f7e8n, sdev: 0xfe00000, mask: 0x100, ignoredMask: 0 }]);
  assert.equal(parseFdinfo(base + 'sigmask:\t0000000000004002\n')!.signalfd, { sigmask: 0x4002n });
  const tf = parseFdinfo(base + 'clockid: 1\nticks: 5\nsettime flags: 01\nit_value: (0, 49406829)\nit_interval: (2, 500)\n')!;
  assert.equal(tf.timerfd, { clockid: 1, ticks: 5n, settimeFlags: 1, itValue: [0n, 49406829n], itInterval: [2n, 500n] });
  assert.equal(parseFdinfo(base + 'Pid:\t300\nNSpid:\t300\t1\n')!.pidfd, { pid: 300, nspid: [300, 1] });
  assert.equal(parseFdinfo(base + 'Pid:\t-1\nNSpid:\t-1\n')!.pidfd, { pid: -1, nspid: [-1] });
  assert.equal(parseFdinfo(base + 'lock:\t1: FLOCK  ADVISORY  WRITE 100 fe:00:12 0 EOF\n')!.locks, ['1: FLOCK  ADVISORY  WRITE 100 fe:00:12 0 EOF']);
  assert.equal(parseFdinfo(base + 'tty-index:\t3\n')!.other, ['tty-index:\t3']);
});

test('maps: bigint addresses above 2^53, shared/private, spaces, escaped newline, deleted, pseudo paths', () => {
  const text = [
    '0123456789abc000-0123456789abd000 r-xp 0000000000012000 fe:00 4242       /opt/high/lib with space.so',
    'ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]',
    '7f3bd0000000-7f3bd0020000 r--s 00000000 fe:00 5555                     /var/cache/nscd/passwd',
    '7f1c4d300000-7f1c4d302000 r--p 00001000 fe:00 131077                     /tmp/scratch file (deleted)',
    '7f1c4d400000-7f1c4d401000 r--p 00000000 fe:00 9999                       /home/u/two\\012lines',
    '7f1c4c000000-7f1c4c021000 rw-p 00000000 00:00 0 ',
    '55d0c1e9a000-55d0c1ebb000 rw-p 00000000 00:00 0                          [heap]',
    'garbage line',
    '',
  ].join('\n');
  const m = parseMaps(text);
  assert.is(m.length, 7, 'the garbage line is skipped, not fatal');
  assert.is(m[0]!.start, 0x0123456789abc000n);
  assert.ok(m[0]!.start > BigInt(Number.MAX_SAFE_INTEGER), 'above 2^53');
  assert.is(m[0]!.offset, 0x12000n);
  assert.equal(m[0]!.path, { type: 'path', path: '/opt/high/lib with space.so', deleted: false });
  assert.is(m[1]!.end, 0xffffffffff601000n);
  assert.equal(m[1]!.path, { type: 'special', name: '[vsyscall]' });
  assert.is(m[2]!.shared, true);
  assert.is(m[2]!.perms, 'r--s');
  assert.is(m[2]!.dev, 'fe:00');
  assert.is(m[2]!.inode, 5555n);
  assert.is(m[0]!.shared, false);
  assert.equal(m[3]!.path, { type: 'path', path: '/tmp/scratch file', deleted: true });
  assert.equal(m[4]!.path, { type: 'path', path: '/home/u/two\nlines', deleted: false });
  assert.equal(m[5]!.path, { type: 'anonymous' });
  assert.equal(m[6]!.path, { type: 'heap' });
  assert.is(m.filter(isFileBacked).length, 4);
  assert.is(hex64(m[0]!.start), '123456789abc000');
  assert.is(hex64(0x1000n), '00001000');
  assert.is(parseMapsLine('zz-1 r--p 0 0 0'), null);
});

test('status: Name unescaped, Tgid vs Pid (a thread), PPid, Uid', () => {
  const s = parseStatus('Name:\tweird\\nname\\\\x\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t100\nNgid:\t0\nPid:\t101\nPPid:\t1\nTracerPid:\t0\nUid:\t1000\t1001\t1002\t1003\n')!;
  assert.equal(s, { name: 'weird\nname\\x', tgid: 100, pid: 101, ppid: 1, uid: [1000, 1001, 1002, 1003], tracerPid: 0 });
  assert.is(parseStatus('Name:\tx\nTgid:\t5\nPid:\t5\nTracerPid:\t77\nUid:\t0\t0\t0\t0\n')!.tracerPid, 77);
  assert.is(parseStatus('Name:\t  lead spaces\nTgid:\t1\nPid:\t1\n')!.name, '  lead spaces');
  assert.is(parseStatus('Umask:\t0022\n'), null);
});

test('/proc/net/unix: types, listening flag, paths with spaces, abstract names', () => {
  const t = parseNetUnix(
    [
      'Num       RefCount Protocol Flags    Type St Inode Path',
      '0000000000000000: 00000002 00000000 00010000 0001 01  5300 /var/run/nscd/socket',
      '0000000000000000: 00000003 00000000 00000000 0001 03  6149',
      '0000000000000000: 00000002 00000000 00000000 0002 01  6148 @abstract name',
      '0000000000000000: 00000002 00000000 00000000 0005 01  6200 /run/with space.sock',
    ].join('\n'),
  );
  assert.is(t.size, 4);
  assert.equal(t.get(5300), { inode: 5300, type: 'STREAM', state: 1, listening: true, path: '/var/run/nscd/socket' });
  assert.equal(t.get(6149), { inode: 6149, type: 'STREAM', state: 3, listening: false, path: null });
  assert.is(t.get(6148)!.type, 'DGRAM');
  assert.is(t.get(6148)!.path, '@abstract name');
  assert.is(t.get(6200)!.type, 'SEQPACKET');
  assert.is(t.get(6200)!.path, '/run/with space.sock');
});

test('/proc/net/tcp, tcp6: addresses decoded, states named, inode-0 rows dropped', () => {
  const v4 = parseNetInet(
    [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 7001 1 0000000000000000 100 0 0 10 0',
      '   1: 0100007F:8EA1 0100007F:1F90 06 00000000:00000000 03:00000F3A 00000000     0        0 0 3 0000000000000000',
    ].join('\n'),
    'TCP',
  );
  assert.is(v4.size, 1);
  assert.equal(v4.get(7001), { protocol: 'TCP', inode: 7001, local: '127.0.0.1:8080', remote: '0.0.0.0:0', state: 'LISTEN', uid: 1000 });
  const v6 = parseNetInet(
    '  sl  local_address remote_address st\n   0: 00000000000000000000000001000000:0016 0000B80D000000000000000001000000:D431 01 00000000:00000000 02:0000012C 00000000     0        0 7002 1 0 20 4 30 10 -1\n',
    'TCPv6',
  );
  assert.equal(v6.get(7002), { protocol: 'TCPv6', inode: 7002, local: '[::1]:22', remote: '[db8::1]:54321', state: 'ESTABLISHED', uid: 0 });
  assert.is(decodeInetAddress('0000000000000000FFFF00000100007F:0050'), '[::ffff:127.0.0.1]:80');
  assert.is(decodeInetAddress('00000000000000000000000000000000:0000'), '[::]:0');
});

test.run();
