import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs, parseArg, field, after, textOf, unescapeC, MAX_VALUE_DEPTH, type Value } from '../../src/tracer/values.js';
import { parseDecor } from '../../src/tracer/decor.js';
import { scanLine } from '../../src/tracer/scan.js';
import { root } from '../paths.js';

test('sendmsg with SCM_RIGHTS and SCM_CREDENTIALS', () => {
  const a = parseArgs('3<UNIX-STREAM:[6149->5313]>, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="x", iov_len=1}], msg_iovlen=1, msg_control=[{cmsg_len=28, cmsg_level=SOL_SOCKET, cmsg_type=SCM_CREDENTIALS, cmsg_data={pid=6303, uid=0, gid=0}}, {cmsg_len=24, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[5</etc/hostname>, 6</dev/null<char 1:3>>]}], msg_controllen=56, msg_flags=0}, MSG_NOSIGNAL');
  assert.is(a.length, 3);
  assert.equal(a[0], { t: 'fd', fd: 3, decor: 'UNIX-STREAM:[6149->5313]', suffix: '' });
  const ctl = field(a[1], 'msg_control') as Extract<Value, { t: 'arr' }>;
  assert.is(ctl.items.length, 2);
  const creds = field(ctl.items[0], 'cmsg_data');
  assert.is(textOf(field(creds, 'uid')), '0');
  const data = field(ctl.items[1], 'cmsg_data') as Extract<Value, { t: 'arr' }>;
  assert.equal(data.items.map((v) => (v.t === 'fd' ? [v.fd, v.decor] : null)), [[5, '/etc/hostname'], [6, '/dev/null<char 1:3>']]);
  assert.is(textOf(a[2]), 'MSG_NOSIGNAL');
});

test('-X verbose comments and in/out values', () => {
  const a = parseArgs('4, {msg_name=0x7ffd273f7700, msg_namelen=110 => 0, msg_control=[{cmsg_len=24, cmsg_level=0x1 /* SOL_SOCKET */, cmsg_type=0x1 /* SCM_RIGHTS */, cmsg_data=[6</etc/hostname>]}], msg_flags=0x8 /* MSG_CTRUNC */}, 0x40000000 /* MSG_CMSG_CLOEXEC */');
  const nl = field(a[1], 'msg_namelen')!;
  assert.is(nl.t, 'inout');
  assert.is(textOf(after(nl)), '0');
  const ctl = field(a[1], 'msg_control') as Extract<Value, { t: 'arr' }>;
  assert.ok(textOf(field(ctl.items[0], 'cmsg_type')).includes('SCM_RIGHTS'));
  assert.ok(textOf(field(a[1], 'msg_flags')).includes('MSG_CTRUNC'));
  assert.ok(textOf(a[2]).includes('MSG_CMSG_CLOEXEC'));
});

test('recvmmsg vector and [110 => 2] arrays', () => {
  const a = parseArgs('3, [{msg_hdr={msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="a", iov_len=1}], msg_iovlen=1, msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[7]}], msg_controllen=24, msg_flags=0}, msg_len=1}, {msg_hdr={msg_name=NULL}, msg_len=1}], 2, 0, NULL');
  const arr = a[1] as Extract<Value, { t: 'arr' }>;
  assert.is(arr.items.length, 2);
  assert.ok(field(arr.items[0], 'msg_hdr'));
  const b = parseArgs('3, {sa_family=AF_UNIX}, [110 => 2]');
  const x = (b[2] as Extract<Value, { t: 'arr' }>).items[0]!;
  assert.is(x.t, 'inout');
});

test('strings: escapes, truncation, abstract names', () => {
  const a = parseArgs('"a\\nb\\\\c\\"d\\x41\\101"..., @"abstractname", "\\303\\251t\\303\\251"');
  assert.equal(a[0], { t: 'str', s: 'a\nb\\c"dAA', trunc: true, abstract: false });
  assert.equal(a[1], { t: 'str', s: 'abstractname', trunc: false, abstract: true });
  assert.is((a[2] as { s: string }).s, 'été');
  assert.is(unescapeC('\\0'), '\u0000');
});

test('flag sets, calls, signal sets, elisions, env comment', () => {
  const a = parseArgs('AT_FDCWD, "/x", O_RDONLY|O_CLOEXEC|0x80, makedev(0x1, 0x3), ~[RTMIN RT_1], {st_mode=S_IFREG|0644, st_size=3, ...}, 0x7ffe /* 35 vars */, NULL');
  assert.is(textOf(a[2]), 'O_RDONLY|O_CLOEXEC|0x80');
  assert.is(textOf(a[3]), 'makedev(0x1, 0x3)');
  assert.is(textOf(a[4]), '~[RTMIN RT_1]');
  assert.is((a[5] as Extract<Value, { t: 'struct' }>).fields.length, 3);
  assert.is(a.length, 8);
  assert.is(textOf(a[7]), 'NULL');
});

test('pipe arrays and -1 fds', () => {
  const a = parseArgs('[3<pipe:[10875]>, 4<pipe:[10875]>], O_CLOEXEC');
  const arr = a[0] as Extract<Value, { t: 'arr' }>;
  assert.equal(arr.items.map((v) => v.t), ['fd', 'fd']);
  assert.equal(parseArgs('-1, 0')[0], { t: 'num', n: -1, text: '-1' });
});

test('decorations -> targets', () => {
  assert.equal(parseDecor('UNIX-STREAM:[5352->6172,"/var/run/nscd/socket"]'),
    { target: 'UNIX-STREAM:[5352->6172,"/var/run/nscd/socket"]', kind: 'socket', inode: 5352, peer: 6172, path: '/var/run/nscd/socket', pid: null });
  assert.equal(parseDecor('UNIX:[12183,@"abstractname"]').path, '@abstractname');
  assert.is(parseDecor('/dev/null<char 1:3>').kind, 'device');
  assert.is(parseDecor('/dev/null<char 1:3>').target, '/dev/null');
  const m = parseDecor('/memfd:shared-memory-region', '(deleted)');
  assert.equal([m.kind, m.target], ['memfd', '/memfd:shared-memory-region (deleted)']);
  assert.is(parseDecor('/tmp/we\\74i\\76rd name', '(deleted)').target, '/tmp/we<i>rd name (deleted)');
  assert.is(parseDecor('TCP:[127.0.0.1:49103->127.0.0.1:60820]').kind, 'socket');
  assert.equal([parseDecor('socket:[73980]').inode, parseDecor('socket:[73980]').kind], [73980, 'socket']);
  assert.is(parseDecor('pipe:[10875]').kind, 'pipe');
  assert.is(parseDecor('anon_inode:[eventfd]').kind, 'anon');
  assert.is(parseDecor('pid:6432').pid, 6432);
});

test('depth is bounded: past MAX_VALUE_DEPTH the rest of a value is one sym span; 100k levels do not throw', () => {
  const depthOf = (v: Value | undefined): number => {
    let d = 0;
    while (v && (v.t === 'arr' || v.t === 'struct')) { d++; v = v.t === 'arr' ? v.items[0] : v.fields[0]?.value; }
    return d;
  };
  for (const n of [MAX_VALUE_DEPTH + 1, 100_000]) {
    const a = parseArgs(`3, ${'['.repeat(n)}${']'.repeat(n)}, 0`);
    assert.is(a.length, 3);
    assert.is(depthOf(a[1]), MAX_VALUE_DEPTH);
    assert.is(textOf(a[2]), '0');
    const b = parseArgs(`3, ${'{a='.repeat(n)}1${'}'.repeat(n)}, 7`);
    assert.is(depthOf(b[1]), MAX_VALUE_DEPTH);
    assert.is(textOf(b[2]), '7');
    assert.is(textOf(parseArg(`${'['.repeat(n)}${']'.repeat(n)}, 9`, 1)), '9');
  }
  // what the scanner lets through (64 levels per half, so at most 129 joined) is built in full
  assert.is(depthOf(parseArgs(`3, ${'['.repeat(129)}${']'.repeat(129)}`)[1]), 129);
});

test('unescapeC of a long string: no argument spread, bytes as they were', () => {
  const s = unescapeC('\\n'.repeat(300_000));
  assert.is(s.length, 300_000);
  assert.is(s, '\n'.repeat(300_000));
  assert.is(unescapeC('\\377\\376' + 'a'.repeat(200_000)).length, 200_002);
});

test('parseArg(i) is parseArgs()[i], for every argument of every call in every fixture log', () => {
  let checked = 0;
  const dir = path.join(root, 'fixtures', 'traces');
  for (const c of fs.readdirSync(dir)) {
    for (const f of fs.readdirSync(path.join(dir, c)).filter((n) => n.endsWith('.log'))) {
      for (const line of fs.readFileSync(path.join(dir, c, f), 'latin1').split('\n')) {
        const l = scanLine(line);
        if (l.kind !== 'call' && l.kind !== 'resumed' && l.kind !== 'unfinished') continue;
        const all = parseArgs(l.args);
        for (let i = 0; i <= all.length; i++) { assert.equal(parseArg(l.args, i), all[i], `${line} [${i}]`); checked++; }
      }
    }
  }
  assert.ok(checked > 5000, `checked ${checked}`);
  // odd shapes: in/out values, comments, stray closers
  for (const a of ['110 => 0, [4 => 5], x', '0x1 /* SOL_SOCKET */, ) , 3', '"a\\"b"..., {x=[1, 2]}, @"abs", 7</a<b>>(deleted), 9']) {
    const all = parseArgs(a);
    for (let i = 0; i <= all.length; i++) assert.equal(parseArg(a, i), all[i], `${a} [${i}]`);
  }
});

test('AT_FDCWD</cwd> is one argument even when the directory name holds , ) or >', () => {
  const a = parseArgs('AT_FDCWD</tmp/a,b) <c>>, "x", O_RDONLY|O_CLOEXEC');
  assert.is(a.length, 3);
  assert.equal(a[0], { t: 'sym', text: 'AT_FDCWD</tmp/a,b) <c>>' });
  assert.is(textOf(a[2]), 'O_RDONLY|O_CLOEXEC');
  assert.equal(parseArg('AT_FDCWD</tmp/a,b) <c>>, "x", O_RDONLY|O_CLOEXEC', 2), a[2]);
});

test.run();
