// Releasing the clean pages of the node binary and its libraries while starting (binary_pages.cc).
#ifndef ISTHMUS_BINARY_PAGES_H_
#define ISTHMUS_BINARY_PAGES_H_

#include <napi.h>

#include <cstdint>

namespace isthmus {

// takes nothing; releases the clean pages of read-only private file mappings (the executable, libraries, addons) from
// this process's mappings (any thread may call it);
// returns the kB released (0 where there is no /proc).
uint64_t ReleaseCleanFilePages();

// takes the addon's exports; adds releaseBinaryPages.
void RegisterBinaryPages(Napi::Env env, Napi::Object exports);

}  // namespace isthmus

#endif  // ISTHMUS_BINARY_PAGES_H_
