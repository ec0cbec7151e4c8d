// Shared test helpers: run trace text through the real pipeline and collect its records.
import { TraceSession } from '../src/correlate/session.js';
import type { FdwatchRecord, SummaryRecord } from '../src/model/records.js';

export interface Run {
  records: FdwatchRecord[];
  summary: SummaryRecord;
  session: TraceSession;
}

export function runTrace(text: string, baseDay = 0): Run {
  const records: FdwatchRecord[] = [];
  const session = new TraceSession((r) => records.push(r), { baseDay });
  const src = session.source(null);
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  lines.forEach((l, i) => session.line(l, i + 1, src));
  const summary = session.end();
  return { records, summary, session };
}

export function ofType<T extends FdwatchRecord['type']>(rs: FdwatchRecord[], type: T): Array<Extract<FdwatchRecord, { type: T }>> {
  return rs.filter((r): r is Extract<FdwatchRecord, { type: T }> => r.type === type);
}
