#!/usr/bin/env node
// Entry point: the compiled CLI (npm run build writes dist/).
import('../dist/src/cli/main.js').catch((e) => {
  process.stderr.write(`fdwatch: cannot start (${e && e.code === 'ERR_MODULE_NOT_FOUND' ? 'not built: run npm run build' : e}\n`);
  process.exit(1);
});
