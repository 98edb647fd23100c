#include "connection_acceptor.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <climits>

#include "napi_args.h"

namespace isthmus {
namespace {

// Connections accepted per wake-up before the loop serves other sockets again
// (the poll is level-triggered, so the rest wake it at once).
constexpr int kAcceptBatch = 64;

// Lifetime: freed once both the poll handle is closed (OnClosed) and the JS
// external that owns it is finalized, whichever comes last.
struct Acceptor {
  uv_poll_t poll;
  napi_env env;
  napi_ref callback = nullptr;
  napi_async_context context = nullptr;
  napi_async_cleanup_hook_handle hook = nullptr;
  int fd = -1;
  bool polling = false;
  bool closing = false;
  bool handle_closed = false;
  bool finalized = false;
};

void OnClosed(uv_handle_t* handle) {
  Acceptor* a = static_cast<Acceptor*>(handle->data);
  close(a->fd);
  a->handle_closed = true;
  if (a->hook != nullptr) {
    napi_remove_async_cleanup_hook(a->hook);
    a->hook = nullptr;
  }
  if (a->finalized) delete a;
}

void BeginClose(Acceptor* a) {
  if (a->closing) return;
  a->closing = true;
  if (a->polling) uv_poll_stop(&a->poll);
  a->polling = false;
  uv_close(reinterpret_cast<uv_handle_t*>(&a->poll), OnClosed);
}

// Env teardown (worker exit or terminate): Node waits until OnClosed removes the hook.
void OnEnvTeardown(napi_async_cleanup_hook_handle, void* data) { BeginClose(static_cast<Acceptor*>(data)); }

void ReleaseJs(Acceptor* a) {
  if (a->callback != nullptr) napi_delete_reference(a->env, a->callback);
  if (a->context != nullptr) napi_async_destroy(a->env, a->context);
  a->callback = nullptr;
  a->context = nullptr;
}

void Finalize(napi_env, void* data, void*) {
  Acceptor* a = static_cast<Acceptor*>(data);
  a->finalized = true;
  ReleaseJs(a);
  BeginClose(a);
  if (a->handle_closed) delete a;
}

// Calls onAccept(value); an exception it throws goes to 'uncaughtException', as from any I/O callback.
void Deliver(Acceptor* a, int value) {
  if (a->callback == nullptr) {
    if (value >= 0) close(value);
    return;
  }
  napi_env env = a->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) {
    if (value >= 0) close(value);
    return;
  }
  napi_value arg;
  if (napi_create_int32(env, value, &arg) != napi_ok || !CallFromLoop(env, a->context, a->callback, arg)) {
    if (value >= 0) close(value);
  }
  napi_close_handle_scope(env, scope);
}

int AcceptOne(int listen_fd) {
#ifdef SOCK_NONBLOCK
  return accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
#else
  const int fd = accept(listen_fd, nullptr, nullptr);
  if (fd >= 0) {
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  return fd;
#endif
}

void OnReadable(uv_poll_t* handle, int status, int) {
  Acceptor* a = static_cast<Acceptor*>(handle->data);
  for (int i = 0; i < kAcceptBatch && !a->closing; i++) {
    const int fd = AcceptOne(a->fd);
    if (fd >= 0) {
      Deliver(a, fd);
      continue;
    }
    const int err = errno;
    if (err == EINTR || err == ECONNABORTED || err == EPROTO) continue;
    if (err == EAGAIN || err == EWOULDBLOCK) return;
    // EMFILE, ENFILE, ENOBUFS, ENOMEM: the connection stays in the backlog; stop waking for it
    // (the poll is level-triggered) until resumeAccepting, after a connection closed.
    uv_poll_stop(&a->poll);
    a->polling = false;
    Deliver(a, -err);
    return;
  }
}

Acceptor* GetAcceptor(napi_env env, napi_value value, const char* fn) {
  void* data = nullptr;
  napi_valuetype type;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_external ||
      napi_get_value_external(env, value, &data) != napi_ok || data == nullptr) {
    ThrowTypeError(env, fn);
    return nullptr;
  }
  return static_cast<Acceptor*>(data);
}

// (fd, onAccept) → external
napi_value StartAccepting(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  size_t fd = 0;
  if (!GetIndex(env, argv[0], INT_MAX, "startAccepting: fd must be a number", "startAccepting: fd must be an integer >= 0", &fd)) {
    return nullptr;
  }
  napi_valuetype type;
  if (napi_typeof(env, argv[1], &type) != napi_ok || type != napi_function) {
    ThrowTypeError(env, "startAccepting: onAccept must be a function");
    return nullptr;
  }
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
    ThrowRangeError(env, "startAccepting: no event loop on this thread");
    return nullptr;
  }
  Acceptor* a = new Acceptor();
  a->env = env;
  a->fd = static_cast<int>(fd);
  const int r = uv_poll_init_socket(loop, &a->poll, a->fd);
  if (r != 0) {
    delete a;
    ThrowRangeError(env, "startAccepting: cannot watch this fd");
    return nullptr;
  }
  a->poll.data = a;
  napi_value name, external;
  napi_create_string_utf8(env, "isthmus:accept", NAPI_AUTO_LENGTH, &name);
  if (napi_create_reference(env, argv[1], 1, &a->callback) != napi_ok ||
      napi_async_init(env, nullptr, name, &a->context) != napi_ok ||
      napi_add_async_cleanup_hook(env, OnEnvTeardown, a, &a->hook) != napi_ok ||
      napi_create_external(env, a, Finalize, nullptr, &external) != napi_ok) {
    ReleaseJs(a);
    a->finalized = true;  // no external owns it: OnClosed frees it
    BeginClose(a);
    ThrowRangeError(env, "startAccepting: out of resources");
    return nullptr;
  }
  uv_poll_start(&a->poll, UV_READABLE, OnReadable);
  a->polling = true;
  return external;
}

// (acceptor) → undefined
napi_value ResumeAccepting(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  Acceptor* a = GetAcceptor(env, argv[0], "resumeAccepting: expected what startAccepting returned");
  if (a == nullptr) return nullptr;
  if (!a->closing && !a->polling) {
    uv_poll_start(&a->poll, UV_READABLE, OnReadable);
    a->polling = true;
  }
  return Undefined(env);
}

// (acceptor) → undefined
napi_value StopAccepting(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  Acceptor* a = GetAcceptor(env, argv[0], "stopAccepting: expected what startAccepting returned");
  if (a == nullptr) return nullptr;
  ReleaseJs(a);
  BeginClose(a);
  return Undefined(env);
}

}  // namespace

void RegisterConnectionAcceptor(Napi::Env env, Napi::Object exports) {
  napi_value fn;
  napi_create_function(env, "startAccepting", NAPI_AUTO_LENGTH, StartAccepting, nullptr, &fn);
  exports.Set("startAccepting", fn);
  napi_create_function(env, "resumeAccepting", NAPI_AUTO_LENGTH, ResumeAccepting, nullptr, &fn);
  exports.Set("resumeAccepting", fn);
  napi_create_function(env, "stopAccepting", NAPI_AUTO_LENGTH, StopAccepting, nullptr, &fn);
  exports.Set("stopAccepting", fn);
}

}  // namespace isthmus
