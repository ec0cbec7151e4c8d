// How every view names a process: `comm[pid]`, `comm[pid/tid]` for a thread other than the leader. The text is
// raw: a view escapes it for its output (comm is whatever the process set). Imports nothing.

export function commPid(comm: string | null, pid: number | null, tid: number | null = null): string {
  const t = tid !== null && pid !== null && tid !== pid ? `/${tid}` : '';
  return `${comm ?? '?'}[${pid ?? '?'}${t}]`;
}
