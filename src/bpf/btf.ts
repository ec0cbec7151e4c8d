// Member offsets of kernel structs from the kernel's BTF (/sys/kernel/btf/vmlinux, include/uapi/linux/btf.h).
// Pure: the raw BTF comes in as bytes. bpftrace 0.17 has no offsetof(), and the probes that find a new task
// on its parent's lists need container_of arithmetic.

const BTF_MAGIC = 0xeb9f;
const KIND_STRUCT = 4;
const KIND_UNION = 5;

/** 32-bit words that follow a struct btf_type of `kind` with `vlen` entries. */
function trailingWords(kind: number, vlen: number): number {
  switch (kind) {
    case 1: return 1; // INT
    case 3: return 3; // ARRAY
    case 4: case 5: return vlen * 3; // STRUCT, UNION: btf_member
    case 6: return vlen * 2; // ENUM
    case 13: return vlen * 2; // FUNC_PROTO: btf_param
    case 14: return 1; // VAR
    case 15: return vlen * 3; // DATASEC
    case 17: return 1; // DECL_TAG
    case 19: return vlen * 3; // ENUM64
    default: return 0; // PTR, FWD, TYPEDEF, VOLATILE, CONST, RESTRICT, FUNC, FLOAT, TYPE_TAG
  }
}

/**
 * Byte offsets of members of kernel structs: `want` maps a struct name to the member names asked for. A member
 * inside an anonymous struct or union counts at its place in the outer struct. Missing ones are left out; null
 * when the bytes are not BTF.
 *
 * One walk over the type section as 32-bit words notes where each struct or union starts; a struct's name is
 * compared in place, byte by byte, only when its first byte is one a wanted name starts with: no string is decoded.
 */
export function memberOffsets(btf: Uint8Array, want: Readonly<Record<string, readonly string[]>>): Map<string, number> | null {
  const v = new DataView(btf.buffer, btf.byteOffset, btf.byteLength);
  if (btf.byteLength < 24 || v.getUint16(0, true) !== BTF_MAGIC) return null;
  const hdrLen = v.getUint32(4, true);
  const typeOff = hdrLen + v.getUint32(8, true);
  const typeLen = v.getUint32(12, true);
  const strOff = hdrLen + v.getUint32(16, true);
  if (typeOff + typeLen > btf.byteLength || strOff > btf.byteLength) return null;
  /** the string at `off` is `name` (latin1 bytes) */
  const is = (off: number, name: Uint8Array): boolean => {
    const at = strOff + off;
    if (at + name.length >= btf.byteLength) return false;
    for (let i = 0; i < name.length; i++) if (btf[at + i] !== name[i]) return false;
    return btf[at + name.length] === 0;
  };
  // the wanted struct names, by their first byte
  const byFirst = new Map<number, Array<{ name: string; bytes: Uint8Array }>>();
  for (const name of Object.keys(want)) {
    const bytes = Buffer.from(name, 'latin1');
    if (bytes.length === 0) continue;
    let l = byFirst.get(bytes[0]!);
    if (!l) byFirst.set(bytes[0]!, (l = []));
    l.push({ name, bytes });
  }
  // the type section as words, little-endian as the magic above (4-byte aligned in the file; a copy when not)
  const words = (btf.byteOffset + typeOff) % 4 === 0
    ? new Uint32Array(btf.buffer, btf.byteOffset + typeOff, Math.floor(typeLen / 4))
    : new Uint32Array(Uint8Array.from(btf.subarray(typeOff, typeOff + typeLen - (typeLen % 4))).buffer);
  // type ids start at 1; structs and unions are remembered by the word after their name, their info (0: not one)
  let aggregates = new Int32Array(1 << 17);
  const named = new Map<string, number>();
  const wanted = Object.keys(want).length;
  let id = 1;
  for (let p = 0; p + 3 <= words.length; id++) {
    const info = words[p + 1]!;
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    if (kind === KIND_STRUCT || kind === KIND_UNION) {
      if (id >= aggregates.length) { const a = new Int32Array(aggregates.length * 2); a.set(aggregates); aggregates = a; }
      aggregates[id] = p + 1;
      const nameOff = words[p]!;
      if (nameOff !== 0 && kind === KIND_STRUCT && named.size < wanted) {
        const cands = byFirst.get(btf[strOff + nameOff]!);
        if (cands) for (const c of cands) if (!named.has(c.name) && is(nameOff, c.bytes)) named.set(c.name, id);
      }
    }
    p += 3 + trailingWords(kind, vlen);
  }
  const find = (agg: number, member: Uint8Array, depth: number): number | null => {
    const p1 = agg < aggregates.length ? aggregates[agg]! : 0;
    if (p1 === 0) return null;
    const p = p1 - 1;
    const info = words[p + 1]!;
    const bitfields = (info >>> 31) === 1;
    for (let i = 0; i < (info & 0xffff); i++) {
      const m = p + 3 + i * 3;
      const raw = words[m + 2]!;
      const bits = bitfields ? raw & 0xffffff : raw;
      const n = words[m]!;
      if (n !== 0 && is(n, member)) return bits / 8;
      if (n === 0 && depth < 4) {
        const inner = find(words[m + 1]!, member, depth + 1);
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
      const off = find(sid, Buffer.from(m, 'latin1'), 0);
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
