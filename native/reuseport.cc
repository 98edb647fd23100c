#include "reuseport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <climits>
#include <cstring>
#include <string>

namespace isthmus {
namespace {

struct Endpoint {
  sockaddr_storage addr;
  socklen_t length;
  int family;
};

bool ParseHostLiteral(const std::string& host, int port, Endpoint* out) {
  std::memset(out, 0, sizeof(*out));
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out->addr);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    out->length = sizeof(sockaddr_in);
    out->family = AF_INET;
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out->addr);
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    out->length = sizeof(sockaddr_in6);
    out->family = AF_INET6;
    return true;
  }
  return false;
}

std::string HostPort(const std::string& host, int port) {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

// Throws an Error shaped like Node's system errors: code 'EADDRINUSE',
// syscall 'bind', message "bind EADDRINUSE: address already in use 127.0.0.1:80".
napi_value ThrowSystemError(Napi::Env env, int err, const char* syscall, const std::string& where,
                            const char* detail = nullptr) {
  const char* code = uv_err_name(-err);
  std::string message = std::string(syscall) + " " + code + ": " + (detail ? detail : uv_strerror(-err));
  if (!where.empty()) message += " " + where;
  Napi::Error error = Napi::Error::New(env, message);
  error.Value().Set("code", code);
  error.Value().Set("errno", -err);
  error.Value().Set("syscall", syscall);
  error.ThrowAsJavaScriptException();
  return nullptr;
}

int SetInt(int fd, int level, int name, int value) { return setsockopt(fd, level, name, &value, sizeof(value)); }

int OpenSocket(int family) {
#ifdef SOCK_NONBLOCK
  return socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
#else
  int fd = socket(family, SOCK_STREAM, 0);
  if (fd >= 0) {
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  return fd;
#endif
}

// Shared by listenReusePort (listen = true) and reservePort (bind only).
napi_value BindReusePort(const Napi::CallbackInfo& info, bool listen_too) {
  Napi::Env env = info.Env();
  const char* fn = listen_too ? "listenReusePort" : "reservePort";
  if (!info[0].IsString()) {
    Napi::TypeError::New(env, std::string(fn) + ": host must be a string").ThrowAsJavaScriptException();
    return nullptr;
  }
  const std::string host = info[0].As<Napi::String>().Utf8Value();
  const double port_number = info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : -1;
  if (!(port_number >= 0 && port_number <= 65535) || port_number != static_cast<int>(port_number)) {
    Napi::RangeError::New(env, std::string(fn) + ": port must be an integer in 0..65535")
        .ThrowAsJavaScriptException();
    return nullptr;
  }
  const int port = static_cast<int>(port_number);
  int backlog = 0;
  if (listen_too) {
    const double b = info[2].IsNumber() ? info[2].As<Napi::Number>().DoubleValue() : -1;
    if (!(b >= 0) || b != static_cast<double>(static_cast<int64_t>(b))) {
      Napi::RangeError::New(env, "listenReusePort: backlog must be an integer >= 0").ThrowAsJavaScriptException();
      return nullptr;
    }
    backlog = b > INT_MAX ? INT_MAX : static_cast<int>(b);
  }
  const std::string where = HostPort(host, port);
  Endpoint endpoint;
  if (!ParseHostLiteral(host, port, &endpoint)) {
    return ThrowSystemError(env, EINVAL, "bind", where, "host is not an IPv4 or IPv6 literal");
  }

  const int fd = OpenSocket(endpoint.family);
  if (fd < 0) return ThrowSystemError(env, errno, "socket", where);
  const char* failed = nullptr;
  if (SetInt(fd, SOL_SOCKET, SO_REUSEADDR, 1) != 0 || SetInt(fd, SOL_SOCKET, SO_REUSEPORT, 1) != 0) {
    failed = "setsockopt";
  } else if (endpoint.family == AF_INET6 && SetInt(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1) != 0) {
    failed = "setsockopt";
  } else if (bind(fd, reinterpret_cast<sockaddr*>(&endpoint.addr), endpoint.length) != 0) {
    failed = "bind";
  } else if (listen_too && listen(fd, backlog) != 0) {
    failed = "listen";
  }
  sockaddr_storage bound;
  socklen_t bound_length = sizeof(bound);
  if (!failed && getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_length) != 0) failed = "getsockname";
  if (failed) {
    const int err = errno;
    close(fd);
    return ThrowSystemError(env, err, failed, where);
  }
  const int bound_port = ntohs(endpoint.family == AF_INET ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port
                                                          : reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  Napi::Object result = Napi::Object::New(env);
  result.Set("fd", fd);
  result.Set("port", bound_port);
  return result;
}

napi_value ListenReusePort(const Napi::CallbackInfo& info) { return BindReusePort(info, true); }

napi_value ReservePort(const Napi::CallbackInfo& info) { return BindReusePort(info, false); }

napi_value CloseFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const double d = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
  if (!(d >= 0 && d <= INT_MAX) || d != static_cast<int>(d)) {
    Napi::TypeError::New(env, "closeFd: fd must be an integer >= 0").ThrowAsJavaScriptException();
    return nullptr;
  }
  const int fd = static_cast<int>(d);
  // On Linux the fd is released even when close() reports EINTR, so never retry.
  if (close(fd) != 0 && errno != EINTR) return ThrowSystemError(env, errno, "close", "fd " + std::to_string(fd));
  return nullptr;
}

}  // namespace

void RegisterReusePort(Napi::Env env, Napi::Object exports) {
  exports.Set("listenReusePort", Napi::Function::New(env, ListenReusePort, "listenReusePort"));
  exports.Set("reservePort", Napi::Function::New(env, ReservePort, "reservePort"));
  exports.Set("closeFd", Napi::Function::New(env, CloseFd, "closeFd"));
}

}  // namespace isthmus
