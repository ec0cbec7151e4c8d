// Member offsets from the kernel's BTF: a hand-made BTF blob (a struct with an anonymous union and a bitfield
// struct) and, where the kernel has BTF, the layout the args-free probes need.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import { kernelLayout, memberOffsets } from '../../src/bpf/btf.js';

/** A BTF blob: `types` as [name, kind, vlen, size, members [name, type, bitOffset]] and their strings. */
function blob(types: Array<{ name: string; kind: number; kflag?: boolean; size: number; members?: Array<[string, number, number]> }>): Uint8Array {
  const strs: string[] = [''];
  const off = (s: string): number => {
    if (s === '') return 0;
    let o = 0;
    for (const x of strs) { if (x === s) return o; o += Buffer.byteLength(x) + 1; }
    strs.push(s);
    return o;
  };
  const words: number[] = [];
  for (const t of types) {
    const m = t.members ?? [];
    words.push(off(t.name), ((t.kflag ? 1 : 0) << 31) | (t.kind << 24) | m.length, t.size);
    if (t.kind === 1) words.push(t.size * 8);
    for (const [n, ty, bits] of m) words.push(off(n), ty, bits);
  }
  const typeSec = Buffer.alloc(words.length * 4);
  words.forEach((w, i) => typeSec.writeUInt32LE(w >>> 0, i * 4));
  const strSec = Buffer.from(strs.map((s) => s + '\0').join(''), 'latin1');
  const hdr = Buffer.alloc(24);
  hdr.writeUInt16LE(0xeb9f, 0); hdr[2] = 1; hdr.writeUInt32LE(24, 4);
  hdr.writeUInt32LE(0, 8); hdr.writeUInt32LE(typeSec.length, 12);
  hdr.writeUInt32LE(typeSec.length, 16); hdr.writeUInt32LE(strSec.length, 20);
  return Buffer.concat([hdr, typeSec, strSec]);
}

test('memberOffsets: byte offsets, through anonymous unions and past bitfields; null for what is not BTF', () => {
  const b = blob([
    { name: 'long', kind: 1, size: 8 }, // id 1
    { name: '', kind: 5, size: 8, members: [['a', 1, 0], ['b', 1, 0]] }, // id 2: anonymous union
    { name: 'flags', kind: 4, kflag: true, size: 24, members: [['x', 1, (1 << 24) | 0], ['y', 1, (3 << 24) | 1], ['z', 1, 64]] }, // id 3
    { name: 'task_struct', kind: 4, size: 48, members: [['stack', 1, 0], ['', 2, 64], ['fl', 3, 128], ['pid', 1, 320]] }, // id 4
  ]);
  const o = memberOffsets(b, { task_struct: ['stack', 'b', 'pid', 'missing'], flags: ['z', 'y'], nosuch: ['a'] })!;
  assert.equal([...o].sort(), [['flags.z', 8], ['task_struct.b', 8], ['task_struct.pid', 40], ['task_struct.stack', 0]]);
  assert.is(memberOffsets(Buffer.from('not btf at all, not at all'), { task_struct: ['pid'] }), null);
  assert.is(kernelLayout(b), null, 'members missing: no layout');
});

test('kernelLayout: this kernel\'s lists, in the order of struct task_struct', () => {
  const file = '/sys/kernel/btf/vmlinux';
  if (!fs.existsSync(file)) { console.log('  skipped: no kernel BTF'); return; }
  const l = kernelLayout(fs.readFileSync(file));
  assert.ok(l, 'this kernel has the members');
  // include/linux/sched.h: children, then sibling right after it (a struct list_head, 16 bytes)
  assert.is(l.sibling - l.children, 16);
  assert.ok(l.threadNode > l.sibling);
  assert.is(l.groupExecTask, true);
});

test.run();
