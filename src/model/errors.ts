// fdwatch's own errors: what the user did or gave that cannot work, said in one line. The CLI prints the message
// and exits with `exitCode`; anything else that reaches it is a bug, and shows as one too. Imports nothing.

export class FdwatchError extends Error {
  /** the process exit status this error ends fdwatch with */
  readonly exitCode: number;

  constructor(message: string, opts: { exitCode?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.exitCode = opts.exitCode ?? 1;
  }
}

/** The command line asks for something that cannot work (a bad flag value, a missing argument): exit 2. */
export class UsageError extends FdwatchError {
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super(message, { ...opts, exitCode: 2 });
  }
}

/** The input (a trace, a file to write) cannot be read or used. */
export class InputError extends FdwatchError {}

/** Live tracing cannot start or go on (strace missing, no permission, a process that is gone). */
export class LiveError extends FdwatchError {}

/** An error that is no FdwatchError (a bug) in one line: its message, or its name when it has none, cut at 200. */
export function internalText(e: unknown): string {
  const m = e instanceof Error ? e.message || e.name : String(e);
  const line = m.replace(/\s*\n\s*/g, ' ').trim();
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}

/**
 * Trace events fdwatch failed on (an internal error): each is counted and skipped, as a malformed line is, and
 * the trace goes on; the first one's message is kept for the summary.
 */
export class SkippedEvents {
  count = 0;
  sample: string | null = null;

  note(e: unknown): void {
    if (this.count++ === 0) this.sample = internalText(e);
  }

  /** The summary's `internalErrors` and `internalErrorSample`, only when there were any. */
  into(s: { internalErrors?: number; internalErrorSample?: string }): void {
    if (this.count === 0) return;
    s.internalErrors = this.count;
    s.internalErrorSample = this.sample ?? '';
  }
}
