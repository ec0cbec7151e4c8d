// Escapes text that came from another process (paths, comm) before it reaches a terminal.
// C0 controls, DEL and C1 controls become \n, \t, \r or \xNN; a backslash becomes \\ so the output stays unambiguous.

const NAMED: Record<number, string> = { 0x09: '\\t', 0x0a: '\\n', 0x0d: '\\r' };

function needsEscape(c: number): boolean {
  return c < 0x20 || c === 0x5c || (c >= 0x7f && c <= 0x9f);
}

export function escapeControl(s: string): string {
  let i = 0;
  // Fast path: most names are clean; return the same string without copying.
  while (i < s.length && !needsEscape(s.charCodeAt(i))) i++;
  if (i === s.length) return s;
  let out = s.slice(0, i);
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!needsEscape(c)) {
      out += s[i];
    } else if (c === 0x5c) {
      out += '\\\\';
    } else {
      out += NAMED[c] ?? '\\x' + c.toString(16).padStart(2, '0');
    }
  }
  return out;
}
