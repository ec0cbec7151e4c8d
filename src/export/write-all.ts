import fs from 'node:fs';

/** Writes all of `b` to `fd`: a short write (a full pipe, a signal) writes the rest; EAGAIN (a non-blocking stdout pipe) retries. */
export function writeAll(fd: number, b: Buffer): void {
  let off = 0;
  while (off < b.length) {
    try {
      off += fs.writeSync(fd, b, off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      throw e;
    }
  }
}
