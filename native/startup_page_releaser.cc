// Startup is the proxy's peak RSS: every isolate that boots (the agent's, each
// worker thread's) runs the parser, the compiler and Node's bootstrap, and the
// kernel maps the node binary's pages they touch 64 kB at a time (fault-around).
// With two worker threads booting at once the process had ~42 MB of the binary
// mapped at its peak, against ~18 MB serving. Releasing at phase ends
// (binary_pages.cc) comes too late for that peak: it is reached inside the
// phases. So while the proxy starts, a thread of its own releases them every
// few milliseconds; the booting threads fault back (minor faults) only what
// they use next. The pages stay in the page cache throughout. One per process
// (the binary's mapping is the process's): a static, not addon instance data.
#include "startup_page_releaser.h"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "binary_pages.h"

namespace isthmus {

namespace {

class PageReleaser {
 public:
  // takes the period and how long to run at most; returns false when a releaser already runs (its settings stay).
  bool Start(std::chrono::milliseconds period, std::chrono::milliseconds limit) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (thread_.joinable() && !finished_) return false;
    if (thread_.joinable()) thread_.join();  // it ran out its limit: reap it
    stop_ = false;
    finished_ = false;
    rounds_ = 0;
    thread_ = std::thread([this, period, limit] { Run(period, limit); });
    return true;
  }

  // takes nothing; returns the rounds the stopped releaser ran (0 when none ran).
  uint64_t Stop() {
    std::thread done;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!thread_.joinable()) return 0;
      stop_ = true;
      done = std::move(thread_);
    }
    wake_.notify_all();
    done.join();
    std::lock_guard<std::mutex> lock(mutex_);
    return rounds_;
  }

  ~PageReleaser() { Stop(); }

 private:
  // A proxy that never reports ready (a control plane that never answers) must not pay for this forever: `limit`.
  void Run(std::chrono::milliseconds period, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stop_ && std::chrono::steady_clock::now() < deadline) {
      lock.unlock();
      ReleaseCleanFilePages();
      lock.lock();
      rounds_++;
      wake_.wait_for(lock, period, [this] { return stop_; });
    }
    finished_ = true;
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::thread thread_;
  bool stop_ = false;
  bool finished_ = false;  // Run returned (stopped or out of time); the thread is still to be joined
  uint64_t rounds_ = 0;
};

PageReleaser& Releaser() {
  static PageReleaser* releaser = new PageReleaser();  // never destroyed: no join at exit, after threads are gone
  return *releaser;
}

// takes (periodMs: integer 1..1000, limitMs: integer 1..600000, how long it runs unless stopped first); returns true
// when it started the releaser, false when one already runs.
Napi::Value StartPageReleaser(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) {
    Napi::TypeError::New(env, "startPageReleaser(periodMs, limitMs): both must be numbers").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const int64_t periodMs = info[0].As<Napi::Number>().Int64Value();
  const int64_t limitMs = info[1].As<Napi::Number>().Int64Value();
  if (periodMs < 1 || periodMs > 1000 || limitMs < 1 || limitMs > 600000) {
    Napi::RangeError::New(env, "startPageReleaser(periodMs, limitMs): periodMs must be 1..1000 and limitMs 1..600000").ThrowAsJavaScriptException();
    return env.Undefined();
  }
#if defined(__linux__)
  return Napi::Boolean::New(env, Releaser().Start(std::chrono::milliseconds(periodMs), std::chrono::milliseconds(limitMs)));
#else
  return Napi::Boolean::New(env, false);
#endif
}

// takes nothing; returns the rounds the releaser ran before it stopped (0 when none ran).
Napi::Value StopPageReleaser(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(Releaser().Stop()));
}

}  // namespace

void RegisterStartupPageReleaser(Napi::Env env, Napi::Object exports) {
  exports.Set("startPageReleaser", Napi::Function::New(env, StartPageReleaser, "startPageReleaser"));
  exports.Set("stopPageReleaser", Napi::Function::New(env, StopPageReleaser, "stopPageReleaser"));
}

}  // namespace isthmus
