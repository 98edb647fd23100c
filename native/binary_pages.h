// Releasing the node binary's clean pages after startup (binary_pages.cc).
#ifndef ISTHMUS_BINARY_PAGES_H_
#define ISTHMUS_BINARY_PAGES_H_

#include <napi.h>

namespace isthmus {

// takes the addon's exports; adds releaseBinaryPages.
void RegisterBinaryPages(Napi::Env env, Napi::Object exports);

}  // namespace isthmus

#endif  // ISTHMUS_BINARY_PAGES_H_
