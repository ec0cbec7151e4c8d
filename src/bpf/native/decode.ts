// The native eBPF engine's ring records (./format.ts) -> the eBPF parser's typed entries (../parse.ts): the same
// methods the bpftrace lines go through, so both engines mean the same. Pure: the records come in as bytes.
//
// Fixed-size fields are read as format.ts places them; the widths it leaves open are read as the kernel side writes
// them: u32 for counts, ids and flags; an E record's fields as 64-bit integers, signed where the text prints %d.
import type { BpfParser, Desc, EField } from '../parse.js';
import { callOfNr, leanDesc, ptrKeyOf } from '../parse.js';
import { DESC, HEADER, KIND, NATIVE_STRLEN, REC_D, REC_E, REC_F, REC_G, REC_I, REC_M, REC_P, REC_Q, REC_U, REC_X } from './format.js';

/** Bytes of a malformed record shown in its sample (hex). */
const SAMPLE_BYTES = 48;
/** sun_path's size (struct sockaddr_un) */
const SUN_PATH = 108;
const TWO32 = 4294967296;

/** Sizes by kind letter (0: no such kind): a shorter record is malformed (an E record without its DESC ends where
 * the DESC would start). */
const SIZES = new Int32Array(256);
for (const [k, n] of [
  [KIND.D, REC_D.size], [KIND.F, REC_F.size], [KIND.U, REC_U.size], [KIND.I, REC_I.size], [KIND.G, REC_G.size],
  [KIND.H, REC_G.size], [KIND.M, REC_M.size], [KIND.E, REC_E.desc], [KIND.P, REC_P.size], [KIND.X, REC_X.size], [KIND.Q, REC_Q.size],
] as const) SIZES[k] = n;

/** Reads ring records into one parser. */
export class RecordDecoder {
  /** the ring's bytes as a Buffer (for names), made once per DataView */
  private view: DataView | null = null;
  private bytes: Buffer = Buffer.alloc(0);
  /** an E record's fields, handed to the parser (it copies what it keeps) */
  private readonly fields: EField[] = [];

  /** `knownFiles`: records may name a file as one an earlier record described (an H record of lean 2, the text's K
   * line; ./messages.ts writes lean 1 only): the parser keeps every file's description for them. Without, it keeps
   * only sockets' (BpfParser.recallsFiles). */
  constructor(private readonly parser: BpfParser, opts: { knownFiles?: boolean } = {}) {
    parser.recallsFiles = opts.knownFiles ?? false;
  }

  /** The record at data[off, off + len). A malformed one is counted (the parser's stats.malformed, with a sample),
   * never thrown. */
  record(data: DataView, off: number, len: number): void {
    const p = this.parser;
    if (len < HEADER.size || off < 0 || off + len > data.byteLength) {
      // no time to read: counted as a line all the same
      p.admit(-Infinity);
      p.malformed(`a record of ${len} bytes (a header is ${HEADER.size})`, this.sample(data, off, len));
      return;
    }
    const ns = u64(data, off + HEADER.ns);
    if (!p.admit(ns)) return;
    const kind = data.getUint8(off + HEADER.kind);
    const size = SIZES[kind]!;
    if (size === 0) { p.malformed(`a record of unknown kind 0x${kind.toString(16)}`, this.sample(data, off, len)); return; }
    if (len < size) { p.malformed(`${String.fromCharCode(kind)} record of ${len} bytes, not ${size}`, this.sample(data, off, len)); return; }
    if (kind === KIND.E && data.getUint8(off + REC_E.hasDesc) !== 0 && len < REC_E.size) {
      p.malformed(`E record with a DESC of ${len} bytes, not ${REC_E.size}`, this.sample(data, off, len));
      return;
    }
    try {
      this.read(data, off, kind, ns);
    } catch (e) {
      p.malformed(e instanceof Error ? e.message : String(e), this.sample(data, off, len));
    }
  }

  private read(v: DataView, o: number, kind: number, ns: number): void {
    const p = this.parser;
    const tid = v.getUint32(o + HEADER.tid, true);
    switch (kind) {
      case KIND.E: {
        const call = callOfNr(v.getUint32(o + REC_E.nr, true));
        if (call === null) throw new Error(`E record for syscall ${v.getUint32(o + REC_E.nr, true)}`);
        const kinds = call.kinds;
        const n = v.getUint32(o + REC_E.nfields, true);
        if (n !== kinds.length) throw new Error(`${call.syscall}: E record with ${n} fields, not ${kinds.length}`);
        const f = this.fields;
        for (let i = 0; i < n; i++) f[i] = field(v, o + REC_E.fields + 8 * i, kinds.charCodeAt(i));
        const desc = v.getUint8(o + REC_E.hasDesc) !== 0 ? this.desc(v, o + REC_E.desc) : null;
        p.event(ns, tid, v.getUint32(o + REC_E.tgid, true), v.getUint32(o + REC_E.euid, true), call, f, desc);
        return;
      }
      case KIND.D: {
        const len = v.getUint32(o + REC_D.len, true);
        const at = o + REC_D.name;
        p.dentry(ns, tid, ptr(v, o + REC_D.dentry), ptr(v, o + REC_D.parent), len <= NATIVE_STRLEN ? this.text(v, at, at + len) : null);
        return;
      }
      case KIND.F: p.fd(ns, tid, String.fromCharCode(v.getUint8(o + HEADER.role)), this.desc(v, o + REC_F.desc)); return;
      case KIND.G: case KIND.H: {
        const b = o + REC_G.desc;
        // H: a lean fd (sent, or received past the first few): its sender's table or /proc names it; lean 2 (the
        // text's K line, proposed for format.ts): a received fd whose file a record described before
        const d = kind === KIND.G ? this.desc(v, b)
          : leanDesc(v.getInt32(b + DESC.fd, true), ptr(v, b + DESC.file), u64(v, b + DESC.ino), v.getUint8(b + DESC.cloexec) === 1, v.getUint8(b + DESC.lean) === 2);
        p.messageFd(ns, tid, v.getUint32(o + REC_G.msg, true), v.getUint32(o + REC_G.nfds, true), v.getUint32(o + REC_G.ctrunc, true) !== 0,
          v.getUint32(o + REC_G.i, true), d);
        return;
      }
      case KIND.M:
        p.message(ns, tid, v.getUint32(o + REC_M.msg, true), v.getUint32(o + REC_M.nfds, true), v.getUint32(o + REC_M.ctrunc, true) !== 0);
        return;
      case KIND.U: {
        const len = Math.min(Math.max(v.getInt32(o + REC_U.len, true), 0), SUN_PATH);
        const at = o + REC_U.path;
        p.unixAddress(ns, tid, String.fromCharCode(v.getUint8(o + HEADER.role)), this.text(v, at, at + len));
        return;
      }
      case KIND.I: {
        const family = v.getUint16(o + REC_I.family, true);
        p.inet(ns, tid, String.fromCharCode(v.getUint8(o + HEADER.role)), v.getInt32(o + REC_I.type, true), v.getInt32(o + REC_I.state, true),
          ntop(family, v, o + REC_I.laddr), v.getUint16(o + REC_I.lport, true), ntop(family, v, o + REC_I.raddr), v.getUint16(o + REC_I.rport, true));
        return;
      }
      case KIND.P:
        p.fork(ns, tid, v.getUint32(o + REC_P.tgid, true), v.getUint32(o + REC_P.euid, true), v.getInt32(o + REC_P.child, true),
          v.getBigUint64(o + REC_P.flags, true), v.getUint32(o + REC_P.which, true));
        return;
      case KIND.X: {
        const len = v.getUint32(o + REC_X.len, true);
        const at = o + REC_X.path;
        p.exec(ns, tid, v.getUint32(o + REC_X.tgid, true), v.getUint32(o + REC_X.euid, true), v.getInt32(o + REC_X.oldTid, true),
          this.text(v, o + REC_X.comm, o + REC_X.path), this.text(v, at, at + Math.min(len, NATIVE_STRLEN)), len > NATIVE_STRLEN);
        return;
      }
      case KIND.Q:
        p.exit(ns, tid, v.getUint32(o + REC_Q.tgid, true), v.getUint32(o + REC_Q.groupDead, true) !== 0, v.getInt32(o + REC_Q.exitCode, true));
        return;
      default: throw new Error(`a record of unknown kind 0x${kind.toString(16)}`);
    }
  }

  /** A DESC at `b`, as the text's 14 fields read it. */
  private desc(v: DataView, b: number): Desc {
    return {
      fd: v.getInt32(b + DESC.fd, true), file: ptr(v, b + DESC.file), ino: u64(v, b + DESC.ino), magic: v.getUint32(b + DESC.magic, true),
      mode: v.getUint32(b + DESC.mode, true), nlink: v.getUint32(b + DESC.nlink, true), mntId: v.getInt32(b + DESC.mntId, true),
      mntRoot: ptr(v, b + DESC.mntRoot), dentry: ptr(v, b + DESC.dentry), cloexec: v.getUint8(b + DESC.cloexec) === 1,
      aux: v.getInt32(b + DESC.aux, true), family: v.getInt16(b + DESC.family, true), sockType: v.getInt16(b + DESC.sockType, true),
      peer: u64(v, b + DESC.peer), procPath: null, known: false, pe: null,
    };
  }

  /** Bytes [a, b) of the ring as UTF-8 (as the text's unescaped names read). */
  private text(v: DataView, a: number, b: number): string {
    if (this.view !== v) { this.view = v; this.bytes = Buffer.from(v.buffer, v.byteOffset, v.byteLength); }
    return this.bytes.toString('utf8', a, b);
  }

  private sample(v: DataView, off: number, len: number): string {
    const end = Math.min(off + Math.max(len, 0), off + SAMPLE_BYTES, v.byteLength);
    let hex = '';
    for (let i = Math.max(off, 0); i < end; i++) hex += v.getUint8(i).toString(16).padStart(2, '0');
    return `native record of ${len} bytes: ${hex}${len > SAMPLE_BYTES ? '...' : ''}`;
  }
}

/** A u64 as a number (exact below 2^53: times, inodes). */
function u64(v: DataView, o: number): number {
  return v.getUint32(o + 4, true) * TWO32 + v.getUint32(o, true);
}

/** Pointer keys made lately, by a hash of the pointer (direct-mapped): the same files, dentries and mount roots come
 * again and again, and each key made anew is several string concatenations. */
const KEY_SLOTS = 4096;
const keyLo = new Uint32Array(KEY_SLOTS);
const keyHi = new Uint32Array(KEY_SLOTS);
const keyText: Array<string | undefined> = new Array<string | undefined>(KEY_SLOTS).fill(undefined);

/** A kernel pointer's key (../parse.ts ptrKey). */
function ptr(v: DataView, o: number): string {
  const lo = v.getUint32(o, true);
  const hi = v.getUint32(o + 4, true);
  // slab objects are 8-byte aligned or more: the bits above those tell them apart
  const h = ((lo >>> 3) ^ (lo >>> 15) ^ hi) & (KEY_SLOTS - 1);
  const t = keyText[h];
  if (t !== undefined && keyLo[h] === lo && keyHi[h] === hi) return t;
  const k = ptrKeyOf(lo, hi);
  keyLo[h] = lo;
  keyHi[h] = hi;
  keyText[h] = k;
  return k;
}

/** An E record's field as its kind (../parse.ts E_FIELDS): d signed, u unsigned, p a pointer, x/n a 64-bit bigint. */
function field(v: DataView, o: number, kind: number): EField {
  switch (kind) {
    case 100 /* d */: return v.getInt32(o + 4, true) * TWO32 + v.getUint32(o, true);
    case 117 /* u */: return u64(v, o);
    case 112 /* p */: return ptr(v, o);
    default: return v.getBigUint64(o, true);
  }
}

/** An address as inet_ntop (glibc, as bpftrace's ntop) writes it: AF_INET dotted, AF_INET6 with its longest run of
 * two or more zero groups as ::, an IPv4-mapped or -compatible one with its IPv4 part dotted. */
export function ntop(family: number, v: DataView, o: number): string {
  const v4 = (at: number): string => `${v.getUint8(at)}.${v.getUint8(at + 1)}.${v.getUint8(at + 2)}.${v.getUint8(at + 3)}`;
  if (family !== 10) return v4(o);
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push(v.getUint16(o + 2 * i, false));
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (w[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  if (bestLen < 2) best = -1;
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (i === best) { out += i === 0 ? '::' : ':'; i += bestLen - 1; continue; }
    // ::a.b.c.d and ::ffff:a.b.c.d
    if (i === 6 && best === 0 && (bestLen === 6 || (bestLen === 5 && w[5] === 0xffff))) { out += v4(o + 12); break; }
    out += w[i]!.toString(16) + (i < 7 ? ':' : '');
  }
  return out;
}
