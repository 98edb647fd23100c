// Startup leaves garbage in every isolate's old generation (the module graph's
// parse and compile, config compilation, Node's bootstrap) that no major GC has
// collected yet when serving starts: V8 only collects it when the old
// generation next reaches its limit, so load begins on top of it. One full GC
// per isolate when its startup ends (the agent at "proxy ready", a worker
// thread after its first config) collects it and returns the emptied pages.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Takes nothing; runs a full GC of this thread's isolate now; returns whether it could. */
export function collectStartupGarbage(): boolean {
  try {
    // --expose-gc reaches contexts made after it is set (a fresh one hands over its `gc`; the contexts of worker
    // threads started later get one too, unused). Not kept: the context (~140 kB) goes in a later collection.
    setFlagsFromString('--expose-gc');
    (runInNewContext('gc') as () => void)();
    return true;
  } catch {
    return false;
  }
}
