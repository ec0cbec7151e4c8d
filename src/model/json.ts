// JSON text written by hand on the hot paths (NDJSON records, snapshot lines): the pieces JSON.stringify would print.

/** A string's JSON text when it is printable ASCII with nothing to escape; else null (JSON.stringify it). */
export function plainQuoted(s: string): string | null {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 34 /* " */ || c === 92 /* \ */) return null;
  }
  return '"' + s + '"';
}

/** A number as JSON.stringify prints it: an integer as it is, anything else (NaN: null) through JSON.stringify. */
export function num(n: number | null): string {
  return n !== null && Number.isSafeInteger(n) ? '' + n : JSON.stringify(n);
}
