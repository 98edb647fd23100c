// The pages of the node binary and of the shared libraries and addons a
// process has mapped are counted in its RSS, and startup maps many it never
// touches again: the dynamic symbol tables (read by the dynamic linker while
// it binds libraries and addons: node's, libstdc++'s, uWebSockets.js's...),
// the parser and module-loader code, Node's own JavaScript sources. They are
// clean page-cache pages: madvise(MADV_DONTNEED) on a private file mapping
// only drops this process's page-table entries; the pages stay in the page
// cache and are faulted back (a minor fault) if touched again, with the same
// contents (a private page not yet copied on write is the page cache's page).
// Only read-only private file mappings that hold no anonymous (copy-on-write)
// page, resident or swapped, are released, so no written data (relocations,
// .data) is ever dropped. The libraries were added after the executable:
// -3.8 MB of file pages under load with two workers, ~-4 MB of peak RSS.
//
// The executable's mappings stay for the life of the process; a library's do
// not: while the proxy starts, threads dlopen addons (the dynamic linker maps
// a file, then maps segments over parts of it and writes relocations), and a
// range read from smaps a moment ago may since hold written pages. So a
// library's range is released only where it lies within a read-only PT_LOAD
// segment of an object the loader lists, and only inside dl_iterate_phdr,
// which holds the loader's lock: an object is listed only once its segments
// are mapped, and dlclose unlists it (under that lock) before unmapping it.
// Objects with text relocations (DT_TEXTREL: the linker writes into their
// read-only segments while relocating) are skipped.
#include "binary_pages.h"

#include <link.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace isthmus {

namespace {

struct Mapping {
  uintptr_t start = 0;
  uintptr_t end = 0;
  uint64_t rssKb = 0;
  uint64_t anonymousKb = 0;
  uint64_t swapKb = 0;  // a copy-on-write page swapped out leaves Anonymous and shows here
  unsigned seen = 0;    // which of Rss, Anonymous and Swap its block showed (kSeen*)
  bool executable = false;  // a mapping of the process's own executable (never unmapped), not of a library
};

constexpr unsigned kSeenRss = 1;
constexpr unsigned kSeenAnonymous = 2;
constexpr unsigned kSeenSwap = 4;
constexpr unsigned kSeenAll = kSeenRss | kSeenAnonymous | kSeenSwap;

// takes a line of smaps and its (unsigned long) start and end out; returns the offset past "start-end" when the line
// is a mapping's header, else 0 (field names such as "AnonHugePages:" begin with hex digits too, never with "x-y").
int HeaderRange(const char* line, unsigned long* start, unsigned long* end) {
  int at = 0;
  return std::sscanf(line, "%lx-%lx%n", start, end, &at) == 2 ? at : 0;
}

// takes an smaps stream and the executable's path; returns the read-only private mappings of files (the executable,
// libraries, addons) with the Rss/Anonymous/Swap their blocks showed. Every header ends the block before it, even one it cannot read, and the rest
// of a line longer than the buffer is skipped, so no mapping's counts are ever another's.
std::vector<Mapping> ReadOnlyFileMappings(FILE* f, const std::string& exe) {
  std::vector<Mapping> out;
  char line[8192];
  Mapping* current = nullptr;
  bool continuation = false;  // this read is the rest of a line longer than `line`
  while (std::fgets(line, sizeof line, f) != nullptr) {
    const size_t length = std::strlen(line);
    const bool whole = length > 0 && line[length - 1] == '\n';
    const bool rest = continuation;
    continuation = !whole;
    if (rest) continue;
    unsigned long start = 0, end = 0;
    const int rangeEnd = HeaderRange(line, &start, &end);
    if (rangeEnd > 0) {
      current = nullptr;
      char perms[8] = {0};
      int pathAt = 0;
      if (!whole || std::sscanf(line + rangeEnd, " %7s %*s %*s %*s %n", perms, &pathAt) != 1 || pathAt == 0) continue;
      std::string path(line + rangeEnd + pathAt);
      while (!path.empty() && (path.back() == '\n' || path.back() == ' ')) path.pop_back();
      // A path names a file; anonymous mappings have none, special ones are in brackets ([heap], [vdso]...).
      if (!path.empty() && path[0] == '/' && std::strlen(perms) == 4 && perms[1] == '-' && perms[3] == 'p' && start < end) {
        out.push_back(Mapping{start, end, 0, 0, 0, 0, path == exe});
        current = &out.back();
      }
      continue;
    }
    if (current == nullptr) continue;
    unsigned long kb = 0;
    if (std::sscanf(line, "Rss: %lu kB", &kb) == 1) {
      current->rssKb = kb;
      current->seen |= kSeenRss;
    } else if (std::sscanf(line, "Anonymous: %lu kB", &kb) == 1) {
      current->anonymousKb = kb;
      current->seen |= kSeenAnonymous;
    } else if (std::sscanf(line, "Swap: %lu kB", &kb) == 1) {
      current->swapKb = kb;
      current->seen |= kSeenSwap;
    }
  }
  return out;
}

// takes a mapping as its smaps block showed it; returns whether releasing it loses nothing the file cannot give back:
// its block showed all three counts (a /proc that leaves out Anonymous or Swap proves nothing), no anonymous
// (copy-on-write) page resident or swapped, and something resident.
bool Releasable(const Mapping& m) {
  return m.seen == kSeenAll && m.anonymousKb == 0 && m.swapKb == 0 && m.rssKb != 0;
}

// takes nothing; returns the kB of clean read-only file mappings released (their Rss before).
Napi::Value ReleaseBinaryPages(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(ReleaseCleanFilePages()));
}

// takes (smaps: string), an smaps text; returns the [start, end) address pairs releaseBinaryPages would release from
// it before the loader's check of library ranges (tests of the parsing, which must never release what it cannot prove
// clean).
Napi::Value BinaryPagesToRelease(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    Napi::TypeError::New(env, "binaryPagesToRelease(smaps): smaps must be a string").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string text = info[0].As<Napi::String>().Utf8Value();
  Napi::Array pairs = Napi::Array::New(env);
  if (text.empty()) return pairs;
  FILE* f = fmemopen(text.data(), text.size(), "r");
  if (f == nullptr) return pairs;
  const std::vector<Mapping> mappings = ReadOnlyFileMappings(f, "");
  std::fclose(f);
  uint32_t i = 0;
  for (const Mapping& m : mappings) {
    if (!Releasable(m)) continue;
    pairs.Set(i++, Napi::Number::New(env, static_cast<double>(m.start)));
    pairs.Set(i++, Napi::Number::New(env, static_cast<double>(m.end)));
  }
  return pairs;
}

}  // namespace

#if defined(__linux__)
namespace {

// takes an object the loader lists; returns whether the linker writes into its read-only segments (text relocations).
bool HasTextRelocations(const dl_phdr_info* info) {
  for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
    if (info->dlpi_phdr[i].p_type != PT_DYNAMIC) continue;
    for (const ElfW(Dyn)* d = reinterpret_cast<const ElfW(Dyn)*>(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr); d->d_tag != DT_NULL; d++) {
      if (d->d_tag == DT_TEXTREL || (d->d_tag == DT_FLAGS && (d->d_un.d_val & DF_TEXTREL) != 0)) return true;
    }
  }
  return false;
}

struct LibraryRelease {
  const std::vector<Mapping>* mappings;
  uintptr_t pageSize;
  uint64_t releasedKb;
};

// dl_iterate_phdr's callback, run with the loader's lock held: releases the clean library ranges that lie within this
// object's read-only PT_LOAD segments; returns 0 (go on to the next object).
int ReleaseWithinObject(dl_phdr_info* info, size_t, void* data) {
  auto* release = static_cast<LibraryRelease*>(data);
  if (info->dlpi_name == nullptr || info->dlpi_name[0] == '\0') return 0;  // the executable (released apart) or the vDSO
  if (HasTextRelocations(info)) return 0;
  const uintptr_t mask = ~(release->pageSize - 1);
  for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD || (ph.p_flags & PF_W) != 0 || ph.p_memsz == 0) continue;
    // The pages wholly inside the segment: a partial page at either end may be shared with a writable neighbour.
    const uintptr_t start = (info->dlpi_addr + ph.p_vaddr + release->pageSize - 1) & mask;
    const uintptr_t end = (info->dlpi_addr + ph.p_vaddr + ph.p_memsz) & mask;
    for (const Mapping& m : *release->mappings) {
      if (m.executable || !Releasable(m)) continue;
      const uintptr_t from = m.start > start ? m.start : start;
      const uintptr_t to = m.end < end ? m.end : end;
      if (from >= to) continue;
      if (madvise(reinterpret_cast<void*>(from), to - from, MADV_DONTNEED) == 0) {
        release->releasedKb += m.rssKb * (to - from) / (m.end - m.start);
      }
    }
  }
  return 0;
}

}  // namespace
#endif

uint64_t ReleaseCleanFilePages() {
  uint64_t releasedKb = 0;
#if defined(__linux__)
  char exe[4096];
  const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  FILE* f = n > 0 ? std::fopen("/proc/self/smaps", "r") : nullptr;
  if (f == nullptr) return 0;
  exe[n] = '\0';
  const std::vector<Mapping> mappings = ReadOnlyFileMappings(f, exe);
  std::fclose(f);
  for (const Mapping& m : mappings) {
    if (!m.executable || !Releasable(m)) continue;
    if (madvise(reinterpret_cast<void*>(m.start), m.end - m.start, MADV_DONTNEED) == 0) releasedKb += m.rssKb;
  }
  const long pageSize = sysconf(_SC_PAGESIZE);
  LibraryRelease libraries{&mappings, static_cast<uintptr_t>(pageSize > 0 ? pageSize : 4096), 0};
  dl_iterate_phdr(ReleaseWithinObject, &libraries);
  releasedKb += libraries.releasedKb;
#endif
  return releasedKb;
}

void RegisterBinaryPages(Napi::Env env, Napi::Object exports) {
  exports.Set("releaseBinaryPages", Napi::Function::New(env, ReleaseBinaryPages, "releaseBinaryPages"));
  exports.Set("binaryPagesToRelease", Napi::Function::New(env, BinaryPagesToRelease, "binaryPagesToRelease"));
}

}  // namespace isthmus
