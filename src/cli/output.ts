// Output that can fail: one line naming the output and the error, and a closed stdout told apart (a reader such
// as `head -1` that has read enough: a normal end for the finite commands).

const WHAT: Record<string, string> = {
  ENOSPC: 'no space left on device', EPIPE: 'broken pipe', EIO: 'input/output error', EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large', EROFS: 'read-only file system', EACCES: 'permission denied', EBADF: 'bad file descriptor',
  ENXIO: 'no such device or address', ECONNRESET: 'connection reset by peer',
};

/** "no space left on device (ENOSPC)": the kernel's words and its code. */
export function errnoText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const code = err && typeof err === 'object' ? err.code : undefined;
  if (code && WHAT[code]) return `${WHAT[code]} (${code})`;
  const msg = err instanceof Error ? err.message.replace(/^[A-Z]+: /, '').replace(/, write$/, '') : String(e);
  return code ? `${msg} (${code})` : msg;
}

/** What the reader closing a pipe or socket looks like from the writing end. */
export function isClosedPipe(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  return code === 'EPIPE' || code === 'ECONNRESET' || code === 'ERR_STREAM_DESTROYED';
}

/** The name an output goes by in messages: its path, or stdout for '-'. */
export function outputName(target: string): string {
  return target === '-' ? 'stdout' : target;
}

/** "cannot write out.ndjson: no space left on device (ENOSPC)": the one line a failed output gets. */
export function writeFailure(target: string, e: unknown): string {
  return `cannot write ${outputName(target)}: ${errnoText(e)}`;
}

/**
 * Watches a stream's 'error' event (an unhandled one is a stack trace) and remembers the first error.
 * `settled()` resolves once everything written so far has reached the stream or failed. The listener stays:
 * a stream that failed may report more errors later.
 */
export function guardStream(stream: NodeJS.WritableStream, onError?: (e: NodeJS.ErrnoException) => void):
  { failed: () => NodeJS.ErrnoException | null; settled: () => Promise<void> } {
  let failed: NodeJS.ErrnoException | null = null;
  const handler = (e: NodeJS.ErrnoException): void => {
    if (failed) return;
    failed = e;
    onError?.(e);
  };
  // a plain { write } object (tests hand one in) has no events to watch and writes at once
  const evented = typeof stream.on === 'function';
  if (evented) stream.on('error', handler);
  return {
    failed: () => failed,
    settled: () => new Promise<void>((resolve) => {
      if (failed || !evented) { resolve(); return; }
      // an empty write's callback runs after every earlier write (or with the error that ended the stream)
      try { stream.write('', () => resolve()); } catch { resolve(); }
    }),
  };
}
