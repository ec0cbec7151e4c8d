// Member offsets of kernel structs from the kernel's BTF (/sys/kernel/btf/vmlinux, include/uapi/linux/btf.h).
// Pure: the raw BTF comes in as bytes. bpftrace 0.17 has no offsetof(), and the probes that find a new task
// on its parent's lists need container_of arithmetic.

const BTF_MAGIC = 0xeb9f;
const KIND_STRUCT = 4;
const KIND_UNION = 5;

/** Bytes that follow a struct btf_type of `kind` with `vlen` entries. */
function trailing(kind: number, vlen: number): number {
  switch (kind) {
    case 1: return 4; // INT
    case 3: return 12; // ARRAY
    case 4: case 5: return vlen * 12; // STRUCT, UNION: btf_member
    case 6: return vlen * 8; // ENUM
    case 13: return vlen * 8; // FUNC_PROTO: btf_param
    case 14: return 4; // VAR
    case 15: return vlen * 12; // DATASEC
    case 17: return 4; // DECL_TAG
    case 19: return vlen * 12; // ENUM64
    default: return 0; // PTR, FWD, TYPEDEF, VOLATILE, CONST, RESTRICT, FUNC, FLOAT, TYPE_TAG
  }
}

/**
 * Byte offsets of members of kernel structs: `want` maps a struct name to the member names asked for. A member
 * inside an anonymous struct or union counts at its place in the outer struct. Missing ones are left out; null
 * when the bytes are not BTF.
 */
export function memberOffsets(btf: Uint8Array, want: Readonly<Record<string, readonly string[]>>): Map<string, number> | null {
  const v = new DataView(btf.buffer, btf.byteOffset, btf.byteLength);
  if (btf.byteLength < 24 || v.getUint16(0, true) !== BTF_MAGIC) return null;
  const hdrLen = v.getUint32(4, true);
  const typeOff = hdrLen + v.getUint32(8, true);
  const typeLen = v.getUint32(12, true);
  const strOff = hdrLen + v.getUint32(16, true);
  const name = (off: number): string => {
    let end = strOff + off;
    while (end < btf.byteLength && btf[end] !== 0) end++;
    return Buffer.from(btf.buffer, btf.byteOffset + strOff + off, end - strOff - off).toString('latin1');
  };
  // type ids start at 1; structs and unions are remembered by where their btf_type starts (names read lazily)
  const aggregates = new Map<number, number>();
  const named = new Map<string, number>();
  const wanted = new Set(Object.keys(want));
  let id = 1;
  for (let p = typeOff; p + 12 <= typeOff + typeLen; id++) {
    const info = v.getUint32(p + 4, true);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    if (kind === KIND_STRUCT || kind === KIND_UNION) {
      aggregates.set(id, p);
      const nameOff = v.getUint32(p, true);
      if (nameOff !== 0 && kind === KIND_STRUCT && wanted.size > named.size) {
        const n = name(nameOff);
        if (wanted.has(n) && !named.has(n)) named.set(n, id);
      }
    }
    p += 12 + trailing(kind, vlen);
  }
  const find = (agg: number, member: string, depth: number): number | null => {
    const p = aggregates.get(agg);
    if (p === undefined) return null;
    const info = v.getUint32(p + 4, true);
    const bitfields = (info >>> 31) === 1;
    for (let i = 0; i < (info & 0xffff); i++) {
      const m = p + 12 + i * 12;
      const raw = v.getUint32(m + 8, true);
      const bits = bitfields ? raw & 0xffffff : raw;
      const n = v.getUint32(m, true);
      if (n !== 0 && name(n) === member) return bits / 8;
      if (n === 0 && depth < 4) {
        const inner = find(v.getUint32(m + 4, true), member, depth + 1);
        if (inner !== null) return bits / 8 + inner;
      }
    }
    return null;
  };
  const out = new Map<string, number>();
  for (const [struct, members] of Object.entries(want)) {
    const sid = named.get(struct);
    if (sid === undefined) continue;
    for (const m of members) {
      const off = find(sid, m, 0);
      if (off !== null && Number.isInteger(off)) out.set(`${struct}.${m}`, off);
    }
  }
  return out;
}

/** Where the args-free probes (src/bpf/program.ts) find a new task and an exec's thread, on this kernel. */
export interface KernelLayout {
  /** task_struct: its children list, its place on its parent's (sibling), on its thread group's (thread_node) */
  children: number;
  sibling: number;
  threadNode: number;
  /** signal_struct: the thread group's list */
  threadHead: number;
  /** signal_struct.group_exec_task exists (5.16+): the thread that execs while the others are killed */
  groupExecTask: boolean;
}

/** The layout from the kernel's BTF; null when a member is missing (the probes then read `args`). */
export function kernelLayout(btf: Uint8Array): KernelLayout | null {
  const o = memberOffsets(btf, { task_struct: ['children', 'sibling', 'thread_node'], signal_struct: ['thread_head', 'group_exec_task'] });
  const children = o?.get('task_struct.children');
  const sibling = o?.get('task_struct.sibling');
  const threadNode = o?.get('task_struct.thread_node');
  const threadHead = o?.get('signal_struct.thread_head');
  if (!o || children === undefined || sibling === undefined || threadNode === undefined || threadHead === undefined || !o.has('signal_struct.group_exec_task')) return null;
  return { children, sibling, threadNode, threadHead, groupExecTask: true };
}
