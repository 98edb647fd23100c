// Startup leaves garbage in every isolate's old generation (the module graph's
// parse and compile, config compilation, Node's bootstrap) that no major GC has
// collected yet when serving starts: V8 collects it only when the old
// generation next reaches its limit, so load begins on top of it. One full GC
// per isolate when its startup ends (the agent at "proxy ready", a worker
// thread after its first config) collects it first. The `gc` function comes
// from bin/isthmus.js's --expose-gc (V8's flags must be set before isolates
// run: setting it later with v8.setFlagsFromString is unsupported).

/** Takes nothing; runs a full GC of this thread's isolate when node was started with --expose-gc; returns whether it did. */
export function collectStartupGarbage(): boolean {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== 'function') return false;
  gc();
  return true;
}
