// Typed /proc errors that carry the path: a process that exits mid-scan is NotFound, not a crash.

export type ProcErrorKind = 'NotFound' | 'PermissionDenied' | 'Io';

export abstract class ProcError extends Error {
  abstract readonly kind: ProcErrorKind;
  constructor(readonly path: string, readonly code: string, message: string) {
    super(message);
  }
}

/** The file or process is gone (ENOENT, ESRCH): normal for a process that exited mid-scan. */
export class NotFound extends ProcError {
  readonly kind = 'NotFound' as const;
  constructor(path: string, code = 'ENOENT') {
    super(path, code, `not found: ${path}`);
  }
}

/** The caller may not read it (EACCES, EPERM): a partial result with a note. */
export class PermissionDenied extends ProcError {
  readonly kind = 'PermissionDenied' as const;
  constructor(path: string, code = 'EACCES') {
    super(path, code, `permission denied: ${path}`);
  }
}

/** Anything else the kernel said (EIO, EINVAL, ...). */
export class ProcIoError extends ProcError {
  readonly kind = 'Io' as const;
  constructor(path: string, code: string, detail: string) {
    super(path, code, `${code}: ${path}: ${detail}`);
  }
}

/** Turns a Node fs error into a typed ProcError; anything that is not an fs error is rethrown. */
export function toProcError(err: unknown, path: string): ProcError {
  const code = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : '';
  switch (code) {
    case 'ENOENT':
    case 'ESRCH':
    case 'ENOTDIR': // /proc/PID became a different kind of entry: the process is gone
      return new NotFound(path, code);
    case 'EACCES':
    case 'EPERM':
      return new PermissionDenied(path, code);
    case '':
      throw err;
    default:
      return new ProcIoError(path, code, err instanceof Error ? err.message : String(err));
  }
}

export function isProcError(err: unknown): err is ProcError {
  return err instanceof ProcError;
}
