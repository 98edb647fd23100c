// The one module that loads uWebSockets.js. The published build silently falls
// back to a slow pure-JS implementation when its binary does not load; a
// sidecar on that fallback would be quietly slow, so we refuse it unless the
// operator asks for it (ISTHMUS_ALLOW_UWS_FALLBACK=1).
import { createRequire } from 'node:module';
import type * as UWS from '@trufflesuite/uws-js-unofficial';

const require = createRequire(import.meta.url);

function loadUws(): typeof UWS {
  const binary = `@trufflesuite/uws-js-unofficial/binaries/uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;
  try {
    return require(binary) as typeof UWS;
  } catch (err) {
    if (process.env.ISTHMUS_ALLOW_UWS_FALLBACK === '1') {
      return require('@trufflesuite/uws-js-unofficial/dist/index') as typeof UWS;
    }
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(
      `uWebSockets.js native binary did not load (${reason}); refusing its slow JS fallback. ` +
        'Set ISTHMUS_ALLOW_UWS_FALLBACK=1 to run on it anyway.',
    );
  }
}

export const uws: typeof UWS = loadUws();
export type { TemplatedApp, HttpRequest, HttpResponse, us_listen_socket } from '@trufflesuite/uws-js-unofficial';
