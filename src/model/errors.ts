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
