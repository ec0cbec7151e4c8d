// The sock_diag codec on bytes: the request layout, responses assembled by hand, errors and truncation.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  decodeUnixDiagBatch,
  encodeNetlinkDone,
  encodeUnixDiagRequest,
  encodeUnixDiagResponse,
  UDIAG_SHOW_NAME,
  UDIAG_SHOW_PEER,
} from '../../src/native/sockdiag-codec.js';

const u8 = (...xs: number[]): number[] => xs.map((x) => x & 0xff);
const u16 = (x: number): number[] => u8(x, x >> 8);
const u32 = (x: number): number[] => u8(x, x >> 8, x >> 16, x >>> 24);
const pad4 = (b: number[]): number[] => [...b, ...new Array<number>((4 - (b.length % 4)) % 4).fill(0)];
const attr = (type: number, data: number[]): number[] => pad4([...u16(4 + data.length), ...u16(type), ...data]);
const ascii = (s: string): number[] => [...Buffer.from(s, 'latin1')];
/** nlmsghdr + unix_diag_msg + attributes, laid out by hand from linux/unix_diag.h */
function diagMsg(ino: number, type: number, state: number, attrs: number[][], seq = 7): number[] {
  const body = [...u8(1, type, state, 0), ...u32(ino), ...u32(0xdeadbeef), ...u32(0x1), ...attrs.flat()];
  return [...u32(16 + body.length), ...u16(20), ...u16(2), ...u32(seq), ...u32(0), ...body];
}

test('request: nlmsghdr + unix_diag_req, byte for byte', () => {
  const got = Buffer.from(encodeUnixDiagRequest({ seq: 0x01020304, show: UDIAG_SHOW_NAME | UDIAG_SHOW_PEER })).toString('hex');
  const want = [
    '28000000', // nlmsg_len 40
    '1400', // SOCK_DIAG_BY_FAMILY
    '0103', // NLM_F_REQUEST | NLM_F_DUMP
    '04030201', // seq
    '00000000', // portid
    '01', '00', '0000', // AF_UNIX, protocol, pad
    'ffffffff', // all states
    '00000000', // any inode
    '05000000', // show NAME|PEER
    'ffffffff', 'ffffffff', // no cookie
  ].join('');
  assert.is(got, want);
});

test('response: name, vfs, peer, rqlen, uid, icons decoded from hand-built bytes; then DONE', () => {
  const bytes = Uint8Array.from([
    ...diagMsg(5300, 1, 10, [attr(0, ascii('/var/run/nscd/socket\0')), attr(1, [...u32(77), ...u32(0xfe00001)]), attr(4, [...u32(0), ...u32(128)]), attr(3, [...u32(9001), ...u32(9002)]), attr(7, u32(0))]),
    ...diagMsg(6150, 1, 1, [attr(2, u32(5313)), attr(4, [...u32(3), ...u32(0)]), attr(7, u32(1000)), attr(6, [2])]),
    ...diagMsg(6148, 2, 7, [attr(0, ascii('\0abs\0x'))]),
    ...[...encodeNetlinkDone(7)],
  ]);
  const b = decodeUnixDiagBatch(bytes);
  assert.is(b.done, true);
  assert.is(b.error, null);
  assert.is(b.trailing, 0);
  assert.is(b.sockets.length, 3);
  assert.equal(b.sockets[0], {
    inode: 5300, type: 1, state: 10, cookie: 0x1deadbeefn, peer: null, name: '/var/run/nscd/socket',
    vfs: { ino: 77, dev: 0xfe00001 }, rqlen: { rqueue: 0, wqueue: 128 }, icons: [9001, 9002], uid: 0, shutdown: null,
  });
  assert.is(b.sockets[1]!.peer, 5313);
  assert.is(b.sockets[1]!.uid, 1000);
  assert.is(b.sockets[1]!.shutdown, 2);
  assert.is(b.sockets[2]!.type, 2);
  assert.is(b.sockets[2]!.name, '@abs@x', 'abstract: NULs print as @, as in /proc/net/unix and ss');
});

test('a dump split across recv() calls: the first batch is not done, a cut message is trailing', () => {
  const one = diagMsg(1, 1, 1, [attr(2, u32(2))]);
  const two = diagMsg(2, 1, 1, [attr(2, u32(1))]);
  const b = decodeUnixDiagBatch(Uint8Array.from([...one, ...two.slice(0, 10)]));
  assert.is(b.done, false);
  assert.is(b.sockets.length, 1);
  assert.is(b.trailing, 10);
});

test('NLMSG_ERROR carries a negative errno (ENOENT: unix_diag not loaded); a zero error is an ACK', () => {
  const err = decodeUnixDiagBatch(encodeNetlinkDone(1, -2));
  assert.is(err.error, -2);
  assert.is(err.done, true);
  const ack = Uint8Array.from([...u32(20), ...u16(2), ...u16(0), ...u32(1), ...u32(0), ...u32(0)]);
  assert.is(decodeUnixDiagBatch(ack).error, null);
});

test('a malformed attribute length stops attribute parsing without throwing', () => {
  const bytes = Uint8Array.from(diagMsg(9, 1, 1, [[...u16(200), ...u16(2), ...u32(5)]]));
  const b = decodeUnixDiagBatch(bytes);
  assert.is(b.sockets[0]!.inode, 9);
  assert.is(b.sockets[0]!.peer, null);
});

test('the test encoder agrees with the hand layout', () => {
  const s = { inode: 6150, type: 1, state: 1, peer: 5313, name: null, vfs: null, rqlen: { rqueue: 3, wqueue: 0 }, icons: null, uid: 1000, shutdown: 2, cookie: 0x1deadbeefn };
  const mine = Buffer.from(encodeUnixDiagResponse(s, 7)).toString('hex');
  const hand = Buffer.from(diagMsg(6150, 1, 1, [attr(2, u32(5313)), attr(4, [...u32(3), ...u32(0)]), attr(6, [2]), attr(7, u32(1000))])).toString('hex');
  assert.is(mine, hand);
});

test.run();
