// The BPF assembler's encoding: jumps resolved relative to the next instruction (forward and backward, across
// two-slot ld_imm64s), calls and function addresses in imm, may_goto, and the errors for a bad program.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Asm, BPF_PSEUDO_CALL, BPF_PSEUDO_FUNC, R0, R1, R2, R4, R6 } from '../../src/bpf/asm.js';

interface Ins { code: number; dst: number; src: number; off: number; imm: number }
function decode(b: Uint8Array): Ins[] {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return Array.from({ length: b.length / 8 }, (_, i) => ({
    code: v.getUint8(i * 8), dst: v.getUint8(i * 8 + 1) & 0xf, src: v.getUint8(i * 8 + 1) >> 4, off: v.getInt16(i * 8 + 2, true), imm: v.getInt32(i * 8 + 4, true),
  }));
}

test('jumps: forward, backward, over an ld_imm64 (two slots), relative to the next instruction', () => {
  const a = new Asm();
  a.label('top');                 // 0
  a.jeqi(R1, 5, 'end');           // 0 -> 5: off 4
  a.ld64(R2, 0x1122334455667788n); // 1, 2
  a.mayGoto('end');               // 3 -> 5: off 1
  a.ja('top');                    // 4 -> 0: off -5
  a.label('end').movi(R0, 0).exit(); // 5, 6
  const i = decode(a.assemble());
  assert.is(i.length, 7);
  assert.equal([i[0]!.code, i[0]!.off, i[0]!.imm], [0x15, 4, 5]);
  assert.equal([i[1]!.code, i[1]!.imm >>> 0, i[2]!.code, i[2]!.imm], [0x18, 0x55667788, 0, 0x11223344]);
  assert.equal([i[3]!.code, i[3]!.src, i[3]!.off], [0xe5, 0, 1]);
  assert.equal([i[4]!.code, i[4]!.off], [0x05, -5]);
  assert.equal([i[6]!.code], [0x95]);
});

test('a local call and a function address carry their distance in imm', () => {
  const a = new Asm();
  a.callLocal('fn');          // 0 -> 4: imm 3
  a.ldFunc(R1, 'fn');         // 1, 2 -> 4: imm 2
  a.exit();                   // 3
  a.label('fn').mov(R0, R6).exit(); // 4, 5
  const i = decode(a.assemble());
  assert.equal([i[0]!.code, i[0]!.src, i[0]!.imm, i[0]!.off], [0x85, BPF_PSEUDO_CALL, 3, 0]);
  assert.equal([i[1]!.code, i[1]!.src, i[1]!.imm], [0x18, BPF_PSEUDO_FUNC, 2]);
});

test('a bad program: an undefined or doubled label, a jump too far, an immediate out of range', () => {
  assert.throws(() => new Asm().ja('nowhere').assemble(), /label nowhere not defined/);
  assert.throws(() => new Asm().label('x').label('x'), /defined twice/);
  const far = new Asm();
  far.ja('end');
  for (let n = 0; n < 0x8000; n++) far.movi(R0, 0);
  far.label('end').exit();
  assert.throws(() => far.assemble(), /too far/);
  assert.throws(() => new Asm().movi(R0, 2 ** 33), /out of range/);
});

test('a register jump with r4 as its source is a jump (off), not a function address', () => {
  const a = new Asm();
  a.jmp('jeq', R1, R4, 'end'); // 0 -> 2: off 1 (src 4 is BPF_PSEUDO_FUNC's number only for an ld_imm64)
  a.movi(R0, 1);               // 1
  a.label('end').exit();       // 2
  const i = decode(a.assemble());
  assert.equal([i[0]!.code, i[0]!.src, i[0]!.off, i[0]!.imm], [0x1d, 4, 1, 0]);
});

test.run();
