// How every view names a process: `comm[pid]`, `comm[pid/tid]` for a thread other than the leader. The text is
// raw: a view escapes it for its output (comm is whatever the process set). Imports nothing.

export function commPid(comm: string | null, pid: number | null, tid: number | null = null): string {
  const t = tid !== null && pid !== null && tid !== pid ? `/${tid}` : '';
  return `${comm ?? '?'}[${pid ?? '?'}${t}]`;
}

/**
 * An end outside the trace known only by the path its peer connected to (`UNIX-STREAM:[a->b,"/run/x.sock"]`):
 * `server of /run/x.sock`, else null. Raw text, as commPid.
 */
export function untracedName(e: { pid: number | null; socket: string | null }): string | null {
  if (e.pid !== null || e.socket === null) return null;
  const m = /,("(?:[^"\\]|\\.)*")\]$/.exec(e.socket);
  if (!m) return null;
  try { return `server of ${JSON.parse(m[1]!) as string}`; } catch { return null; }
}
