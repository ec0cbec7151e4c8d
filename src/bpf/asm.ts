// A BPF instruction assembler (include/uapi/linux/bpf.h, Documentation/bpf/standardization/instruction-set.rst).
// Pure: a program is built as an array of 8-byte instructions with named labels; `assemble` resolves jumps and
// returns the bytes BPF_PROG_LOAD takes. Map references are BPF_PSEUDO_MAP_FD loads of a map fd the caller made.
//
//   const a = new Asm();
//   a.mov(R6, R1);                         // r6 = ctx
//   a.ldMap(R1, ringFd); a.movi(R2, 16); a.movi(R3, 0); a.call(HELPER.ringbuf_reserve);
//   a.jeqi(R0, 0, 'out'); ...; a.label('out'); a.movi(R0, 0); a.exit();
//   const insns = a.assemble();

export type Reg = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10;
export const R0: Reg = 0, R1: Reg = 1, R2: Reg = 2, R3: Reg = 3, R4: Reg = 4, R5: Reg = 5;
export const R6: Reg = 6, R7: Reg = 7, R8: Reg = 8, R9: Reg = 9, R10: Reg = 10;

/** Memory access sizes (BPF_W, BPF_H, BPF_B, BPF_DW) by byte count. */
export type Size = 1 | 2 | 4 | 8;
const SIZE: Record<Size, number> = { 4: 0x00, 2: 0x08, 1: 0x10, 8: 0x18 };

const BPF_LD = 0x00, BPF_LDX = 0x01, BPF_ST = 0x02, BPF_STX = 0x03, BPF_ALU = 0x04, BPF_JMP = 0x05, BPF_JMP32 = 0x06, BPF_ALU64 = 0x07;
const BPF_IMM = 0x00, BPF_MEM = 0x60, BPF_ATOMIC = 0xc0;
const BPF_K = 0x00, BPF_X = 0x08;

export const ALU = {
  add: 0x00, sub: 0x10, mul: 0x20, div: 0x30, or: 0x40, and: 0x50, lsh: 0x60, rsh: 0x70, neg: 0x80, mod: 0x90, xor: 0xa0,
  mov: 0xb0, arsh: 0xc0,
} as const;
export type AluOp = keyof typeof ALU;

export const JMP = {
  jeq: 0x10, jgt: 0x20, jge: 0x30, jset: 0x40, jne: 0x50, jsgt: 0x60, jsge: 0x70, jlt: 0xa0, jle: 0xb0, jslt: 0xc0, jsle: 0xd0,
} as const;
export type JmpOp = keyof typeof JMP;
const BPF_JA = 0x00, BPF_CALL = 0x80, BPF_EXIT = 0x90, BPF_JCOND = 0xe0;

/** ld_imm64 source registers: a map fd, a map value address, a function (bpf_loop's callback) */
export const BPF_PSEUDO_MAP_FD = 1;
export const BPF_PSEUDO_MAP_VALUE = 2;
export const BPF_PSEUDO_CALL = 1;
export const BPF_PSEUDO_FUNC = 4;

/** Helper ids (enum bpf_func_id). */
export const HELPER = {
  map_lookup_elem: 1, map_update_elem: 2, map_delete_elem: 3, probe_read: 4, ktime_get_ns: 5, get_smp_processor_id: 8,
  tail_call: 12, get_current_pid_tgid: 14, get_current_uid_gid: 15, get_current_comm: 16, perf_event_output: 25, probe_read_str: 45,
  get_current_task: 35, probe_read_user: 112, probe_read_kernel: 113, probe_read_user_str: 114, probe_read_kernel_str: 115,
  ringbuf_output: 130, ringbuf_reserve: 131, ringbuf_submit: 132, ringbuf_discard: 133, get_current_task_btf: 158, task_pt_regs: 175, loop: 181,
} as const;

/** One instruction before jump targets are resolved: `target` names a label (a jump, a call, a function address). */
interface Insn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
  target?: string;
  /** the second half of an ld_imm64 */
  wide?: boolean;
}

const S16_MIN = -0x8000, S16_MAX = 0x7fff;

/** An immediate as its 32 bits (s32 or u32 given), checked before `| 0` could wrap it silently. */
function imm32(imm: number): number {
  if (!Number.isInteger(imm) || imm < -0x80000000 || imm > 0xffffffff) throw new RangeError(`immediate ${imm} out of range`);
  return imm | 0;
}

export class Asm {
  private readonly insns: Insn[] = [];
  private readonly labels = new Map<string, number>();
  private uniq = 0;

  /** The index of the next instruction. */
  get length(): number {
    return this.insns.length;
  }

  /** A label name no other call returned. */
  fresh(prefix = 'L'): string {
    return `${prefix}.${this.uniq++}`;
  }

  label(name: string): this {
    if (this.labels.has(name)) throw new Error(`label ${name} defined twice`);
    this.labels.set(name, this.insns.length);
    return this;
  }

  private push(i: Insn): this {
    if (i.off < S16_MIN || i.off > S16_MAX) throw new RangeError(`offset ${i.off} out of range`);
    if (!Number.isInteger(i.imm) || i.imm < -0x80000000 || i.imm > 0xffffffff) throw new RangeError(`immediate ${i.imm} out of range`);
    this.insns.push(i);
    return this;
  }

  // ALU, 64-bit and 32-bit (a 32-bit op zeroes the upper half)
  alu(op: AluOp, dst: Reg, src: Reg): this { return this.push({ code: BPF_ALU64 | ALU[op] | BPF_X, dst, src, off: 0, imm: 0 }); }
  alui(op: AluOp, dst: Reg, imm: number): this { return this.push({ code: BPF_ALU64 | ALU[op] | BPF_K, dst, src: 0, off: 0, imm: imm32(imm) }); }
  alu32(op: AluOp, dst: Reg, src: Reg): this { return this.push({ code: BPF_ALU | ALU[op] | BPF_X, dst, src, off: 0, imm: 0 }); }
  alu32i(op: AluOp, dst: Reg, imm: number): this { return this.push({ code: BPF_ALU | ALU[op] | BPF_K, dst, src: 0, off: 0, imm: imm32(imm) }); }
  mov(dst: Reg, src: Reg): this { return this.alu('mov', dst, src); }
  /** dst = imm, sign-extended from 32 bits */
  movi(dst: Reg, imm: number): this { return this.alui('mov', dst, imm); }
  add(dst: Reg, src: Reg): this { return this.alu('add', dst, src); }
  addi(dst: Reg, imm: number): this { return this.alui('add', dst, imm); }
  andi(dst: Reg, imm: number): this { return this.alui('and', dst, imm); }
  lshi(dst: Reg, imm: number): this { return this.alui('lsh', dst, imm); }
  rshi(dst: Reg, imm: number): this { return this.alui('rsh', dst, imm); }
  /** dst = (s64)(s32)dst: the lower half sign-extended (an int argument in a 64-bit register) */
  sext32(dst: Reg): this { return this.lshi(dst, 32).alui('arsh', dst, 32); }
  /** dst = (u32)dst */
  zext32(dst: Reg): this { return this.alu32('mov', dst, dst); }

  /** dst = a 64-bit constant (two instruction slots) */
  ld64(dst: Reg, value: bigint): this {
    const v = BigInt.asUintN(64, value);
    this.push({ code: BPF_LD | SIZE[8] | BPF_IMM, dst, src: 0, off: 0, imm: Number(v & 0xffffffffn) });
    return this.push({ code: 0, dst: 0, src: 0, off: 0, imm: Number(v >> 32n), wide: true });
  }
  /** dst = the map behind fd (a map argument for a helper) */
  ldMap(dst: Reg, mapFd: number): this {
    this.push({ code: BPF_LD | SIZE[8] | BPF_IMM, dst, src: BPF_PSEUDO_MAP_FD, off: 0, imm: mapFd });
    return this.push({ code: 0, dst: 0, src: 0, off: 0, imm: 0, wide: true });
  }
  /** dst = the address of a function (a bpf_loop callback) that starts at `label` */
  ldFunc(dst: Reg, label: string): this {
    this.push({ code: BPF_LD | SIZE[8] | BPF_IMM, dst, src: BPF_PSEUDO_FUNC, off: 0, imm: 0, target: label });
    return this.push({ code: 0, dst: 0, src: 0, off: 0, imm: 0, wide: true });
  }

  // memory: dst = *(size *)(src + off); *(size *)(dst + off) = src / imm
  ldx(size: Size, dst: Reg, src: Reg, off: number): this { return this.push({ code: BPF_LDX | BPF_MEM | SIZE[size], dst, src, off, imm: 0 }); }
  stx(size: Size, dst: Reg, off: number, src: Reg): this { return this.push({ code: BPF_STX | BPF_MEM | SIZE[size], dst, src, off, imm: 0 }); }
  st(size: Size, dst: Reg, off: number, imm: number): this { return this.push({ code: BPF_ST | BPF_MEM | SIZE[size], dst, src: 0, off, imm: imm32(imm) }); }
  /** *(size *)(dst + off) += src, atomically (BPF_ATOMIC BPF_ADD; size 4 or 8) */
  xadd(size: 4 | 8, dst: Reg, off: number, src: Reg): this { return this.push({ code: BPF_STX | BPF_ATOMIC | SIZE[size], dst, src, off, imm: ALU.add }); }

  // jumps to a label
  ja(label: string): this { return this.push({ code: BPF_JMP | BPF_JA, dst: 0, src: 0, off: 0, imm: 0, target: label }); }
  jmp(op: JmpOp, dst: Reg, src: Reg, label: string): this { return this.push({ code: BPF_JMP | JMP[op] | BPF_X, dst, src, off: 0, imm: 0, target: label }); }
  jmpi(op: JmpOp, dst: Reg, imm: number, label: string): this { return this.push({ code: BPF_JMP | JMP[op] | BPF_K, dst, src: 0, off: 0, imm: imm32(imm), target: label }); }
  jmp32i(op: JmpOp, dst: Reg, imm: number, label: string): this { return this.push({ code: BPF_JMP32 | JMP[op] | BPF_K, dst, src: 0, off: 0, imm: imm32(imm), target: label }); }
  /** may_goto (BPF_JCOND, Linux 6.9+): falls through while the kernel's hidden loop budget lasts, else jumps to
   * `label`; a loop headed by it is verified until its states converge, not iteration by iteration */
  mayGoto(label: string): this { return this.push({ code: BPF_JMP | BPF_JCOND, dst: 0, src: 0, off: 0, imm: 0, target: label }); }
  jeqi(dst: Reg, imm: number, label: string): this { return this.jmpi('jeq', dst, imm, label); }
  jnei(dst: Reg, imm: number, label: string): this { return this.jmpi('jne', dst, imm, label); }

  /** a helper call: r0 = helper(r1..r5); r1-r5 are clobbered */
  call(helper: number): this { return this.push({ code: BPF_JMP | BPF_CALL, dst: 0, src: 0, off: 0, imm: helper }); }
  /** a call of a function of this program at `label` (a BPF-to-BPF call: r1-r5 arguments, r6-r9 kept) */
  callLocal(label: string): this { return this.push({ code: BPF_JMP | BPF_CALL, dst: 0, src: BPF_PSEUDO_CALL, off: 0, imm: 0, target: label }); }
  exit(): this { return this.push({ code: BPF_JMP | BPF_EXIT, dst: 0, src: 0, off: 0, imm: 0 }); }

  /** The program's bytes, jumps resolved. */
  assemble(): Uint8Array {
    const out = new Uint8Array(this.insns.length * 8);
    const v = new DataView(out.buffer);
    this.insns.forEach((i, at) => {
      let off = i.off;
      let imm = i.imm;
      if (i.target !== undefined) {
        const to = this.labels.get(i.target);
        if (to === undefined) throw new Error(`label ${i.target} not defined`);
        const rel = to - at - 1;
        // calls and function addresses are relative in imm, jumps in off
        if (i.code === (BPF_JMP | BPF_CALL) || (i.code === (BPF_LD | SIZE[8] | BPF_IMM) && i.src === BPF_PSEUDO_FUNC)) imm = rel;
        else {
          if (rel < S16_MIN || rel > S16_MAX) throw new RangeError(`jump to ${i.target} too far (${rel})`);
          off = rel;
        }
      }
      v.setUint8(at * 8, i.code);
      v.setUint8(at * 8 + 1, ((i.src & 0xf) << 4) | (i.dst & 0xf));
      v.setInt16(at * 8 + 2, off, true);
      v.setInt32(at * 8 + 4, imm | 0, true);
    });
    return out;
  }
}
