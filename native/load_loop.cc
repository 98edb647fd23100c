#include "load_loop.h"

#include <errno.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <vector>

#include "napi_args.h"
#include "response_framer.h"

namespace isthmus {
namespace {

// Owns an epoll descriptor (never the sockets: those stay Node's).
class EpollFd {
 public:
  EpollFd() : fd_(epoll_create1(EPOLL_CLOEXEC)) {}
  ~EpollFd() {
    if (fd_ >= 0) close(fd_);
  }
  EpollFd(const EpollFd&) = delete;
  EpollFd& operator=(const EpollFd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

struct Connection {
  int fd = -1;
  bool alive = true;
  bool busy = false;
  int64_t started_ns = 0;
  uint64_t seen_error_responses = 0;
  ResponseFramer framer;
};

enum Counter { kCompleted = 0, kErrors = 1, kSent = 2, kRecorded = 3, kCounterCount = 4 };

struct Run {
  const uint8_t* request;
  size_t request_length;
  int64_t warm_end_ns;
  int64_t end_ns;
  double max_requests;
  double* latencies;
  size_t latency_capacity;
  double* counters;
  int epoll;

  bool InWindow(int64_t t) const { return t >= warm_end_ns && t < end_ns; }

  void Send(Connection& c, int64_t now) {
    ssize_t n;
    do {
      n = write(c.fd, request, request_length);
    } while (n < 0 && errno == EINTR);
    if (n != static_cast<ssize_t>(request_length)) {
      // A socket buffer full with one small request in flight means the peer is gone or stuck.
      Drop(c, now);
      return;
    }
    c.busy = true;
    c.started_ns = now;
    counters[kSent] += 1;
  }

  void Drop(Connection& c, int64_t now) {
    if (c.busy && InWindow(now)) counters[kErrors] += 1;
    c.busy = false;
    c.alive = false;
    epoll_ctl(epoll, EPOLL_CTL_DEL, c.fd, nullptr);
  }

  void Readable(Connection& c, uint8_t* buf, size_t size) {
    for (;;) {
      const ssize_t n = read(c.fd, buf, size);
      const int64_t now = NowNs();
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        Drop(c, now);
        return;
      }
      if (n < 0) {
        if (errno == EINTR) continue;
        return;  // EAGAIN: all read
      }
      const int done = c.framer.Feed(buf, static_cast<size_t>(n));
      if (c.framer.malformed()) {
        Drop(c, now);
        return;
      }
      if (done > 0 && c.busy) {
        const uint64_t errors = c.framer.error_responses();
        const bool bad = errors != c.seen_error_responses;
        c.seen_error_responses = errors;
        c.busy = false;
        if (InWindow(now)) {
          if (bad) {
            counters[kErrors] += 1;
          } else {
            counters[kCompleted] += 1;
            if (counters[kRecorded] < static_cast<double>(latency_capacity)) {
              latencies[static_cast<size_t>(counters[kRecorded])] = static_cast<double>(now - c.started_ns) / 1e6;
              counters[kRecorded] += 1;
            }
          }
        }
        if (now < end_ns && counters[kSent] < max_requests) Send(c, now);
      }
      if (static_cast<size_t>(n) < size) return;  // a short read: the socket is drained
    }
  }
};

bool GetDouble(napi_env env, napi_value v, const char* message, double* out) {
  if (napi_get_value_double(env, v, out) != napi_ok || !(*out >= 0)) return ThrowTypeError(env, message);
  return true;
}

// runClosedLoop(fds: Int32Array, request: Buffer, warmupMs, durationMs, maxRequests,
//               latencies: Float64Array, counters: Float64Array(4)) -> undefined
// counters: [completed, errors, sent, recorded latencies].
napi_value RunClosedLoop(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc != 7) {
    ThrowTypeError(env, "runClosedLoop: 7 arguments");
    return nullptr;
  }
  int32_t* fds = nullptr;
  size_t fd_count = 0;
  if (!GetWordArray(env, argv[0], "runClosedLoop: fds must be an Int32Array", &fds, &fd_count)) return nullptr;
  void* request = nullptr;
  size_t request_length = 0;
  if (napi_get_buffer_info(env, argv[1], &request, &request_length) != napi_ok || request_length == 0) {
    ThrowTypeError(env, "runClosedLoop: request must be a non-empty Buffer");
    return nullptr;
  }
  double warmup_ms = 0, duration_ms = 0, max_requests = 0;
  if (!GetDouble(env, argv[2], "runClosedLoop: warmupMs must be a number >= 0", &warmup_ms) ||
      !GetDouble(env, argv[3], "runClosedLoop: durationMs must be a number >= 0", &duration_ms) ||
      !GetDouble(env, argv[4], "runClosedLoop: maxRequests must be a number >= 0", &max_requests)) {
    return nullptr;
  }
  double* latencies = nullptr;
  size_t latency_capacity = 0;
  double* counters = nullptr;
  size_t counter_count = 0;
  if (!GetWordArray(env, argv[5], "runClosedLoop: latencies must be a Float64Array", &latencies, &latency_capacity) ||
      !GetWordArray(env, argv[6], "runClosedLoop: counters must be a Float64Array", &counters, &counter_count)) {
    return nullptr;
  }
  if (counter_count < kCounterCount) {
    ThrowRangeError(env, "runClosedLoop: counters needs 4 elements");
    return nullptr;
  }
  for (size_t i = 0; i < kCounterCount; i++) counters[i] = 0;

  EpollFd epoll;
  if (epoll.get() < 0) {
    ThrowTypeError(env, "runClosedLoop: epoll_create1 failed");
    return nullptr;
  }
  std::vector<Connection> connections(fd_count);
  const int64_t start = NowNs();
  Run run{static_cast<const uint8_t*>(request), request_length,
          start + static_cast<int64_t>(warmup_ms * 1e6), start + static_cast<int64_t>((warmup_ms + duration_ms) * 1e6),
          max_requests, latencies, latency_capacity, counters, epoll.get()};
  for (size_t i = 0; i < fd_count; i++) {
    Connection& c = connections[i];
    c.fd = fds[i];
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = &c;
    if (c.fd < 0 || epoll_ctl(epoll.get(), EPOLL_CTL_ADD, c.fd, &ev) != 0) {
      c.alive = false;
      continue;
    }
    if (counters[kSent] < max_requests) run.Send(c, start);
  }
  std::vector<uint8_t> buffer(256 * 1024);
  epoll_event events[256];
  for (;;) {
    const int64_t now = NowNs();
    if (now >= run.end_ns) break;
    const int timeout_ms = static_cast<int>((run.end_ns - now) / 1000000) + 1;
    const int n = epoll_wait(epoll.get(), events, 256, timeout_ms < 50 ? timeout_ms : 50);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < n; i++) {
      Connection& c = *static_cast<Connection*>(events[i].data.ptr);
      if (c.alive) run.Readable(c, buffer.data(), buffer.size());
    }
  }
  // Requests still in flight at the end were sent in the window but are not errors (as the JS loop).
  return Undefined(env);
}

}  // namespace

void RegisterLoadLoop(Napi::Env env, Napi::Object exports) {
  napi_value fn = nullptr;
  napi_create_function(env, "runClosedLoop", NAPI_AUTO_LENGTH, RunClosedLoop, nullptr, &fn);
  exports.Set("runClosedLoop", Napi::Value(env, fn));
}

}  // namespace isthmus
