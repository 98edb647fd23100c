// A thread that keeps releasing the node binary's clean pages while the proxy
// starts (startup_page_releaser.cc).
#ifndef ISTHMUS_STARTUP_PAGE_RELEASER_H_
#define ISTHMUS_STARTUP_PAGE_RELEASER_H_

#include <napi.h>

namespace isthmus {

// takes the addon's exports; adds startPageReleaser and stopPageReleaser.
void RegisterStartupPageReleaser(Napi::Env env, Napi::Object exports);

}  // namespace isthmus

#endif  // ISTHMUS_STARTUP_PAGE_RELEASER_H_
