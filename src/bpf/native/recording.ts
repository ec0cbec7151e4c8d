// A recording of the native engine's ring (FDWATCH_NATIVE_RECORD=FILE on a live run): its records as read, and when
// the session's rounds and pumps ended, so that bench/native-replay.ts can feed them to the decoder -> parser ->
// correlator -> NDJSON path again, offline and repeatably (instruction counts, records compared between builds).
//
// Frames: u32 length, u32 tag, then `length` bytes padded to 8. Tag 0: a record as read from the ring; 1: a round read
// everything stamped before the u64 ns that follows (BpfParser.readBefore); 2: a pump of the ring ended at that ns
// (about where the session's flush timer runs).
import fs from 'node:fs';
import { LiveError } from '../../model/errors.js';

export const FRAME_RECORD = 0;
export const FRAME_READ_BEFORE = 1;
export const FRAME_PUMPED = 2;

export interface RingRecorder {
  record(v: DataView, off: number, len: number): void;
  readBefore(ns: number): void;
  pumped(ns: number): void;
  close(): void;
}

/** A recorder writing to `file` (null: none asked for). */
export function ringRecorder(file: string | undefined): RingRecorder | null {
  if (!file) return null;
  let fd: number;
  try { fd = fs.openSync(file, 'w'); } catch (e) {
    throw new LiveError(`FDWATCH_NATIVE_RECORD: cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  let buf = Buffer.alloc(1 << 22);
  let at = 0;
  const room = (n: number): void => {
    if (at + n <= buf.length) return;
    fs.writeSync(fd, buf, 0, at);
    at = 0;
    if (n > buf.length) buf = Buffer.alloc(n);
  };
  const marker = (tag: number, ns: number): void => {
    room(16);
    buf.writeUInt32LE(8, at);
    buf.writeUInt32LE(tag, at + 4);
    buf.writeBigUInt64LE(BigInt(Math.max(0, Math.round(ns))), at + 8);
    at += 16;
  };
  let open = true;
  return {
    record(v, off, len) {
      const n = 8 + ((len + 7) & ~7);
      room(n);
      buf.writeUInt32LE(len, at);
      buf.writeUInt32LE(FRAME_RECORD, at + 4);
      buf.set(new Uint8Array(v.buffer, v.byteOffset + off, len), at + 8);
      buf.fill(0, at + 8 + len, at + n);
      at += n;
    },
    readBefore: (ns) => marker(FRAME_READ_BEFORE, ns),
    pumped: (ns) => marker(FRAME_PUMPED, ns),
    close() {
      if (!open) return;
      open = false;
      fs.writeSync(fd, buf, 0, at);
      fs.closeSync(fd);
    },
  };
}

/** Each frame of a recording, in order: `record` for the ring's records, `readBefore` and `pumped` for the markers. */
export function replayRecording(bytes: Uint8Array, to: { record(v: DataView, off: number, len: number): void; readBefore(ns: number): void; pumped(ns: number): void }, limit = Infinity): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let n = 0;
  for (let at = 0; at + 8 <= bytes.length && n < limit;) {
    const len = view.getUint32(at, true);
    const tag = view.getUint32(at + 4, true);
    if (at + 8 + len > bytes.length) break;
    if (tag === FRAME_RECORD) { to.record(view, at + 8, len); n++; }
    else if (tag === FRAME_READ_BEFORE) to.readBefore(Number(view.getBigUint64(at + 8, true)));
    else to.pumped(Number(view.getBigUint64(at + 8, true)));
    at += 8 + ((len + 7) & ~7);
  }
  return n;
}
