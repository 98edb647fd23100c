// The loop side of the native transport: one uv_poll_t per socket, one read
// per readiness event, writes straight to the kernel with the rest queued, and
// the event batch flushed to JS once per loop turn (a uv_check_t runs after
// every ready socket of the turn was served).
#include <errno.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "napi_args.h"
#include "socket_tls.h"
#include "socket_transport.h"

namespace isthmus {
namespace {

constexpr int kMaxIov = 64;

void OnConnHandleClosed(uv_handle_t* handle);
void OnPoll(uv_poll_t* handle, int status, int events);
void OnTimer(uv_timer_t* handle);

void UpdatePoll(Conn* c) {
  if (c->closing) return;
  int want = 0;
  if (c->connecting || c->Queued() > 0) want |= UV_WRITABLE;
  if (!c->connecting && c->reading && !c->eof && !c->tls_read_gated) want |= UV_READABLE;
  if (want == c->poll_events) return;
  c->poll_events = want;
  if (want == 0) {
    uv_poll_stop(&c->poll);
  } else {
    uv_poll_start(&c->poll, want, OnPoll);
  }
}

// The socket calls (send/recv/sendmsg) rather than write/read/writev: they skip the VFS layer, which costs
// a little on every call (4 per proxied request), and MSG_NOSIGNAL keeps a closed peer from raising SIGPIPE.
ssize_t SendIov(int fd, iovec* iov, size_t count) {
  msghdr msg;
  memset(&msg, 0, sizeof(msg));
  msg.msg_iov = iov;
  msg.msg_iovlen = count;
  return sendmsg(fd, &msg, MSG_NOSIGNAL);
}

void Touch(Conn* c) { c->last_activity = uv_now(c->transport->loop); }

void ArmTimer(Conn* c) {
  if (c->closing) return;
  const uint64_t now = uv_now(c->transport->loop);
  uint64_t due = UINT64_MAX;
  if (c->connecting && c->connect_deadline != 0) due = c->connect_deadline;
  if (c->idle_timeout_ms != 0) due = std::min(due, c->last_activity + c->idle_timeout_ms);
  if (due == UINT64_MAX) {
    if (c->timer_running) uv_timer_stop(&c->timer);
    c->timer_running = false;
    return;
  }
  uv_timer_start(&c->timer, OnTimer, due > now ? due - now : 0, 0);
  c->timer_running = true;
}

// Half-closes once the queue is empty; closes once both directions are done.
void MaybeFinish(Conn* c) {
  if (c->closing || c->connecting || c->Queued() > 0) return;
  if (c->shut_pending && !c->shut_done) {
    shutdown(c->fd, SHUT_WR);
    c->shut_done = true;
  }
  if (c->eof && c->shut_done) CloseConn(c, false);
}

void Fail(Conn* c, int err) {
  if (c->error == 0) c->error = err;
  CloseConn(c, false);
}

int SocketError(int fd) {
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  return err;
}

void DrainQueue(Conn* c) {
  while (c->Queued() > 0) {
    const ssize_t n = send(c->fd, c->queue.data() + c->queue_off, c->Queued(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      Fail(c, errno);
      return;
    }
    c->queue_off += static_cast<size_t>(n);
    Touch(c);
  }
  if (c->Queued() == 0) {
    c->queue.clear();
    c->queue_off = 0;
    c->tls_unasked = 0;
    c->tls_read_gated = false;
    if (c->want_writable) {
      c->want_writable = false;
      PushEvent(c->transport, c->id, kEventWritable, 0, 0);
    }
  }
  UpdatePoll(c);
  MaybeFinish(c);
}

void ReadOnce(Conn* c) {
  Transport* t = c->transport;
  if (t->read_cap - t->read_used < kMinRead || t->event_count >= t->event_cap) Flush(t);
  if (c->closing || !c->reading) return;  // JS closed or paused it during that flush
  // TLS: ciphertext goes to the session (socket_tls.cc), never to the buffer JS reads.
  char* into = c->tls ? TlsReadBuffer(t) : t->read_buf + t->read_used;
  const size_t room = c->tls ? kMaxRead : std::min(t->read_cap - t->read_used, kMaxRead);
  if (room == 0) return;  // only while a dispatch is running, which cannot be here
  ssize_t n;
  do {
    n = recv(c->fd, into, room, 0);
  } while (n < 0 && errno == EINTR);
  t->reads++;
  if (n > 0 && c->tls) {
    Touch(c);
    OnTlsCiphertext(c, static_cast<size_t>(n));
    return;
  }
  if (n > 0) {
    const size_t at = t->read_used;
    t->read_used += static_cast<size_t>(n);
    Touch(c);
    PushEvent(t, c->id, kEventData, static_cast<int32_t>(at), static_cast<int32_t>(n));
    return;
  }
  if (n == 0) {
    // As net.Socket with allowHalfOpen false: the peer's FIN ends our side too, after what is queued
    // (unless half-open: then JS half-closes when it is done writing).
    c->eof = true;
    if (!c->half_open) c->shut_pending = true;
    PushEvent(t, c->id, kEventEof, 0, 0);
    UpdatePoll(c);
    MaybeFinish(c);
    return;
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK) {
    t->reads_would_block++;
    return;
  }
  Fail(c, errno);
}

void OnPoll(uv_poll_t* handle, int status, int events) {
  Conn* c = static_cast<Conn*>(handle->data);
  if (c->closing) return;
  if (status < 0) {
    // libuv reports POLLERR as EBADF and stops the handle: the socket's own error says what happened.
    c->poll_events = 0;
    const int err = SocketError(c->fd);
    Fail(c, err != 0 ? err : ECONNRESET);
    return;
  }
  if (c->connecting) {
    if ((events & UV_WRITABLE) == 0) return;
    const int err = SocketError(c->fd);
    if (err != 0) {
      Fail(c, err);
      return;
    }
    c->connecting = false;
    Touch(c);
    ArmTimer(c);
    PushEvent(c->transport, c->id, kEventConnected, 0, 0);
    if (c->Queued() > 0) DrainQueue(c);
    UpdatePoll(c);
    MaybeFinish(c);
    return;
  }
  if ((events & UV_WRITABLE) != 0) {
    DrainQueue(c);
    if (c->closing) return;
  }
  if ((events & UV_READABLE) != 0 && c->reading && !c->eof && !c->tls_read_gated) ReadOnce(c);
}

void OnTimer(uv_timer_t* handle) {
  Conn* c = static_cast<Conn*>(handle->data);
  c->timer_running = false;
  if (c->closing) return;
  const uint64_t now = uv_now(c->transport->loop);
  if (c->connecting && c->connect_deadline != 0 && now >= c->connect_deadline) {
    Fail(c, ETIMEDOUT);
    return;
  }
  if (c->idle_timeout_ms != 0 && now >= c->last_activity + c->idle_timeout_ms) {
    c->last_activity = now;  // reported again only after another quiet period
    PushEvent(c->transport, c->id, kEventTimeout, 0, 0);
  }
  ArmTimer(c);
}

void OnIdle(uv_idle_t* handle) {
  Transport* t = static_cast<Transport*>(handle->data);
  uv_idle_stop(&t->idle);
  ServeTlsBacklog(t);
  Flush(t);
}

void OnCheck(uv_check_t* handle) { Flush(static_cast<Transport*>(handle->data)); }

void OnTransportHandleClosed(uv_handle_t* handle) {
  Transport* t = static_cast<Transport*>(handle->data);
  if (--t->open_handles == 0 && t->conns_alive == 0) {
    if (t->hook != nullptr) napi_remove_async_cleanup_hook(t->hook);
    delete t;
  }
}

void OnConnHandleClosed(uv_handle_t* handle) {
  Conn* c = static_cast<Conn*>(handle->data);
  if (--c->open_handles > 0) return;
  Transport* t = c->transport;
  close(c->fd);
  t->conns[c->id] = nullptr;
  t->conns_alive--;
  if (t->tearing_down) {
    delete c;
    if (t->conns_alive == 0 && t->open_handles == 0) {
      if (t->hook != nullptr) napi_remove_async_cleanup_hook(t->hook);
      delete t;
    }
    return;
  }
  if (c->error != 0) PushEvent(t, c->id, c->connecting ? kEventConnectFailed : kEventError, c->error, 0);
  PushEvent(t, c->id, kEventClosed, 0, 0);
  t->released_ids.push_back(c->id);  // reusable once JS has seen CLOSED (Flush)
  delete c;
  // Close callbacks run after this turn's check: make the next turn flush before it waits for I/O.
  WakeNextTurn(t);
}

}  // namespace

void WakeNextTurn(Transport* t) {
  if (!uv_is_active(reinterpret_cast<uv_handle_t*>(&t->idle))) uv_idle_start(&t->idle, OnIdle);
}

Conn* FindConn(Transport* t, int32_t id) {
  if (id < 0 || static_cast<size_t>(id) >= t->conns.size()) return nullptr;
  Conn* c = t->conns[id];
  return c != nullptr && !c->closing ? c : nullptr;
}

int32_t AddConn(Transport* t, int fd, bool connecting, int connect_error) {
  Conn* c = new Conn();
  c->transport = t;
  c->fd = fd;
  c->connecting = connecting;
  if (uv_poll_init_socket(t->loop, &c->poll, fd) != 0) {
    delete c;
    return -1;
  }
  int32_t id;
  if (!t->free_ids.empty()) {
    id = t->free_ids.back();
    t->free_ids.pop_back();
  } else {
    id = static_cast<int32_t>(t->conns.size());
    t->conns.push_back(nullptr);
  }
  c->id = id;
  t->conns[id] = c;
  t->conns_alive++;
  c->poll.data = c;
  uv_timer_init(t->loop, &c->timer);
  c->timer.data = c;
  uv_unref(reinterpret_cast<uv_handle_t*>(&c->timer));
  c->open_handles = 2;
  Touch(c);
  if (connect_error != 0) {
    Fail(c, connect_error);  // reported asynchronously, as a failure found later would be
    return id;
  }
  UpdatePoll(c);
  return id;
}

bool WriteConn(Conn* c, const uv_buf_t* bufs, size_t count) {
  if (c->closing || c->shut_pending) return true;  // after end: dropped, as net drops (with an error) writes after end
  size_t skip = 0;
  if (c->Queued() == 0 && !c->connecting) {
    iovec iov[kMaxIov];
    const size_t n_iov = std::min(count, static_cast<size_t>(kMaxIov));
    size_t total = 0;
    for (size_t i = 0; i < n_iov; i++) {
      iov[i].iov_base = bufs[i].base;
      iov[i].iov_len = bufs[i].len;
      total += bufs[i].len;
    }
    ssize_t n;
    do {
      n = n_iov == 1 ? send(c->fd, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL) : SendIov(c->fd, iov, n_iov);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        Fail(c, errno);
        return true;
      }
      n = 0;
    }
    if (n > 0) Touch(c);
    skip = static_cast<size_t>(n);
    if (skip == total && n_iov == count) return true;
  }
  for (size_t i = 0; i < count; i++) {
    const size_t len = bufs[i].len;
    if (skip >= len) {
      skip -= len;
      continue;
    }
    c->queue.insert(c->queue.end(), bufs[i].base + skip, bufs[i].base + len);
    skip = 0;
  }
  if (c->queue_off > 0 && c->queue_off >= c->queue.size() / 2) {
    c->queue.erase(c->queue.begin(), c->queue.begin() + static_cast<ptrdiff_t>(c->queue_off));
    c->queue_off = 0;
  }
  UpdatePoll(c);
  if (c->Queued() <= c->transport->high_water) return true;
  c->want_writable = true;
  return false;
}

void SetReading(Conn* c, bool reading) {
  c->reading = reading;
  UpdatePoll(c);
}

void GateTlsReads(Conn* c) {
  if (c->tls_read_gated || c->Queued() == 0) return;
  c->tls_read_gated = true;
  UpdatePoll(c);
}

void ShutdownConn(Conn* c) {
  c->shut_pending = true;
  MaybeFinish(c);
}

void CloseConn(Conn* c, bool reset) {
  if (c->closing) return;
  if (reset) {
    linger l = {1, 0};
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  }
  c->closing = true;
  uv_poll_stop(&c->poll);
  uv_timer_stop(&c->timer);
  uv_close(reinterpret_cast<uv_handle_t*>(&c->poll), OnConnHandleClosed);
  uv_close(reinterpret_cast<uv_handle_t*>(&c->timer), OnConnHandleClosed);
}

void SetIdleTimeout(Conn* c, uint64_t ms) {
  c->idle_timeout_ms = ms;
  Touch(c);
  ArmTimer(c);
}

void SetConnectTimeout(Conn* c, uint64_t ms) {
  c->connect_deadline = ms == 0 ? 0 : uv_now(c->transport->loop) + ms;
  ArmTimer(c);
}

void PushEvent(Transport* t, int32_t id, int32_t code, int32_t a, int32_t b) {
  if (t->dispatching) {
    // Never expected (events come from loop callbacks, not from calls JS makes), but kept rather than lost.
    t->deferred.insert(t->deferred.end(), {id, code, a, b});
    return;
  }
  if (t->event_count >= t->event_cap) Flush(t);
  int32_t* r = t->events + t->event_count * kRecordInts;
  r[0] = id;
  r[1] = code;
  r[2] = a;
  r[3] = b;
  t->event_count++;
}

void Flush(Transport* t) {
  if (t->dispatching || t->tearing_down || t->event_count == 0) return;
  const size_t count = t->event_count;
  t->dispatching = true;
  napi_env env = t->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) == napi_ok) {
    napi_value arg;
    if (napi_create_uint32(env, static_cast<uint32_t>(count), &arg) == napi_ok) CallFromLoop(env, t->context, t->callback, arg);
    napi_close_handle_scope(env, scope);
  }
  t->dispatching = false;
  t->event_count = 0;
  t->read_used = 0;
  t->free_ids.insert(t->free_ids.end(), t->released_ids.begin(), t->released_ids.end());
  t->released_ids.clear();
  if (!t->deferred.empty()) {
    std::vector<int32_t> later;
    later.swap(t->deferred);
    for (size_t i = 0; i + 3 < later.size(); i += kRecordInts) PushEvent(t, later[i], later[i + 1], later[i + 2], later[i + 3]);
  }
}

void StartTransportLoop(Transport* t) {
  uv_check_init(t->loop, &t->check);
  t->check.data = t;
  uv_check_start(&t->check, OnCheck);
  uv_unref(reinterpret_cast<uv_handle_t*>(&t->check));
  uv_idle_init(t->loop, &t->idle);
  t->idle.data = t;
  uv_unref(reinterpret_cast<uv_handle_t*>(&t->idle));
  t->open_handles = 2;
}

void TeardownTransport(Transport* t) {
  t->tearing_down = true;
  for (Conn* c : t->conns) {
    if (c != nullptr) CloseConn(c, false);
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&t->check), OnTransportHandleClosed);
  uv_close(reinterpret_cast<uv_handle_t*>(&t->idle), OnTransportHandleClosed);
}

}  // namespace isthmus
