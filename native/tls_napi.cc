#include "tls_napi.h"

#include <memory>
#include <string>

#include "napi_args.h"
#include "tls_session.h"

namespace isthmus {
namespace {

// Tags so an external of one kind is never read as another.
const napi_type_tag kContextTag = {0x6973746d75730001ULL, 0x746c73637478ULL};
const napi_type_tag kSessionTag = {0x6973746d75730002ULL, 0x746c7373657373ULL};

struct ContextHolder {
  std::shared_ptr<TlsContext> context;
};

struct SessionHolder {
  std::unique_ptr<TlsSession> session;
};

template <typename T>
void FinalizeHolder(napi_env, void* data, void*) {
  delete static_cast<T*>(data);
}

template <typename T>
T* GetHolder(napi_env env, napi_value value, const napi_type_tag& tag, const char* message) {
  bool tagged = false;
  void* data = nullptr;
  if (napi_check_object_type_tag(env, value, &tag, &tagged) != napi_ok || !tagged ||
      napi_get_value_external(env, value, &data) != napi_ok || data == nullptr) {
    ThrowTypeError(env, message);
    return nullptr;
  }
  return static_cast<T*>(data);
}

TlsSession* GetSession(napi_env env, napi_value value) {
  SessionHolder* holder = GetHolder<SessionHolder>(env, value, kSessionTag, "expected a TLS session");
  if (holder == nullptr) return nullptr;
  if (!holder->session) {
    ThrowTypeError(env, "the TLS session was freed");
    return nullptr;
  }
  return holder->session.get();
}

template <typename T>
napi_value MakeExternal(napi_env env, T* holder, const napi_type_tag& tag) {
  napi_value external;
  if (napi_create_external(env, holder, FinalizeHolder<T>, nullptr, &external) != napi_ok) {
    delete holder;
    return nullptr;
  }
  napi_type_tag_object(env, external, &tag);
  return external;
}

// Reads a string field ("" when absent); false with a pending TypeError when present but not a string.
bool StringField(Napi::Object obj, const char* key, std::string* out) {
  Napi::Value v = obj.Get(key);
  if (v.IsUndefined() || v.IsNull()) return true;
  if (v.IsString()) {
    *out = v.As<Napi::String>().Utf8Value();
    return true;
  }
  if (v.IsBuffer()) {
    Napi::Buffer<char> b = v.As<Napi::Buffer<char>>();
    out->assign(b.Data(), b.Length());
    return true;
  }
  Napi::TypeError::New(obj.Env(), std::string("TLS config: ") + key + " must be a string or Buffer")
      .ThrowAsJavaScriptException();
  return false;
}

bool ReadSanMatcher(Napi::Env env, Napi::Value value, SanMatcher* out) {
  if (!value.IsObject()) {
    Napi::TypeError::New(env, "TLS config: a SAN matcher must be an object").ThrowAsJavaScriptException();
    return false;
  }
  Napi::Object m = value.As<Napi::Object>();
  std::string type, kind;
  if (!StringField(m, "type", &type) || !StringField(m, "kind", &kind) || !StringField(m, "value", &out->value)) {
    return false;
  }
  out->type = type == "DNS" ? SanMatcher::Type::kDns : SanMatcher::Type::kUri;
  if (type != "DNS" && type != "URI") {
    Napi::TypeError::New(env, "TLS config: SAN matcher type must be URI or DNS").ThrowAsJavaScriptException();
    return false;
  }
  if (kind == "exact") out->kind = SanMatcher::Kind::kExact;
  else if (kind == "prefix") out->kind = SanMatcher::Kind::kPrefix;
  else if (kind == "suffix") out->kind = SanMatcher::Kind::kSuffix;
  else if (kind == "contains") out->kind = SanMatcher::Kind::kContains;
  else {
    Napi::TypeError::New(env, "TLS config: SAN matcher kind must be exact, prefix, suffix or contains")
        .ThrowAsJavaScriptException();
    return false;
  }
  out->ignore_case = m.Get("ignoreCase").ToBoolean().Value();
  return true;
}

bool ReadConfig(Napi::Env env, Napi::Object obj, TlsContextConfig* config) {
  config->server = obj.Get("server").ToBoolean().Value();
  Napi::Value certs = obj.Get("certificates");
  if (certs.IsArray()) {
    Napi::Array list = certs.As<Napi::Array>();
    for (uint32_t i = 0; i < list.Length(); i++) {
      Napi::Value c = list.Get(i);
      if (!c.IsObject()) {
        Napi::TypeError::New(env, "TLS config: a certificate must be an object").ThrowAsJavaScriptException();
        return false;
      }
      TlsCertificateConfig cert;
      if (!StringField(c.As<Napi::Object>(), "chain", &cert.chain_pem) ||
          !StringField(c.As<Napi::Object>(), "key", &cert.key_pem)) {
        return false;
      }
      config->certificates.push_back(std::move(cert));
    }
  }
  if (!StringField(obj, "trustedCa", &config->trusted_ca_pem)) return false;
  if (!StringField(obj, "ticketKey", &config->ticket_key)) return false;
  Napi::Value matchers = obj.Get("sanMatchers");
  if (matchers.IsArray()) {
    Napi::Array list = matchers.As<Napi::Array>();
    for (uint32_t i = 0; i < list.Length(); i++) {
      SanMatcher m;
      if (!ReadSanMatcher(env, list.Get(i), &m)) return false;
      config->san_matchers.push_back(std::move(m));
    }
  }
  Napi::Value alpn = obj.Get("alpn");
  if (alpn.IsArray()) {
    Napi::Array list = alpn.As<Napi::Array>();
    for (uint32_t i = 0; i < list.Length(); i++) {
      Napi::Value p = list.Get(i);
      if (!p.IsString()) {
        Napi::TypeError::New(env, "TLS config: ALPN protocols must be strings").ThrowAsJavaScriptException();
        return false;
      }
      config->alpn.push_back(p.As<Napi::String>().Utf8Value());
    }
  }
  Napi::Value min = obj.Get("minVersion");
  Napi::Value max = obj.Get("maxVersion");
  if (min.IsNumber()) config->min_version = min.As<Napi::Number>().Int32Value();
  if (max.IsNumber()) config->max_version = max.As<Napi::Number>().Int32Value();
  config->require_client_certificate = obj.Get("requireClientCertificate").ToBoolean().Value();
  return true;
}

Napi::Array Strings(Napi::Env env, const std::vector<std::string>& list) {
  Napi::Array out = Napi::Array::New(env, list.size());
  for (size_t i = 0; i < list.size(); i++) out.Set(static_cast<uint32_t>(i), Napi::String::New(env, list[i]));
  return out;
}

Napi::Object CertificateObject(Napi::Env env, const CertificateInfo& info) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("subject", info.subject);
  o.Set("issuer", info.issuer);
  o.Set("serial", info.serial);
  o.Set("sha256", info.sha256);
  o.Set("notBefore", Napi::Number::New(env, static_cast<double>(info.not_before)));
  o.Set("notAfter", Napi::Number::New(env, static_cast<double>(info.not_after)));
  o.Set("uriSans", Strings(env, info.uri_sans));
  o.Set("dnsSans", Strings(env, info.dns_sans));
  return o;
}

// takes a config object (see src/native.ts TlsContextConfig); returns a context external, throws Error on bad config.
Napi::Value CreateContext(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) {
    Napi::TypeError::New(env, "tlsCreateContext: config must be an object").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  TlsContextConfig config;
  if (!ReadConfig(env, info[0].As<Napi::Object>(), &config)) return env.Undefined();
  std::string error;
  std::shared_ptr<TlsContext> context = TlsContext::Create(config, &error);
  if (!context) {
    Napi::Error::New(env, error).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  napi_value external = MakeExternal(env, new ContextHolder{std::move(context)}, kContextTag);
  return external != nullptr ? Napi::Value(env, external) : env.Undefined();
}

// takes a context; returns { certificates: CertificateInfo[], trustedCas: CertificateInfo[] }.
Napi::Value ContextCertificates(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ContextHolder* holder = GetHolder<ContextHolder>(env, info[0], kContextTag, "expected a TLS context");
  if (holder == nullptr) return env.Undefined();
  Napi::Object out = Napi::Object::New(env);
  Napi::Array certs = Napi::Array::New(env);
  for (const CertificateInfo& c : holder->context->certificates()) certs.Set(certs.Length(), CertificateObject(env, c));
  Napi::Array cas = Napi::Array::New(env);
  for (const CertificateInfo& c : holder->context->trusted_cas()) cas.Set(cas.Length(), CertificateObject(env, c));
  out.Set("certificates", certs);
  out.Set("trustedCas", cas);
  return out;
}

// takes a context, a client's SNI name ('' = none) and optionally an expected SAN matcher; returns a session.
Napi::Value CreateSession(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ContextHolder* holder = GetHolder<ContextHolder>(env, info[0], kContextTag, "expected a TLS context");
  if (holder == nullptr) return env.Undefined();
  std::string server_name = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : std::string();
  SanMatcher expected;
  bool has_expected = false;
  if (info.Length() > 2 && info[2].IsObject()) {
    if (!ReadSanMatcher(env, info[2], &expected)) return env.Undefined();
    has_expected = true;
  }
  std::string error;
  std::unique_ptr<TlsSession> session =
      TlsSession::Create(holder->context, server_name, has_expected ? &expected : nullptr, &error);
  if (!session) {
    Napi::Error::New(env, error).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  napi_value external = MakeExternal(env, new SessionHolder{std::move(session)}, kSessionTag);
  return external != nullptr ? Napi::Value(env, external) : env.Undefined();
}

// takes (session, cipher, start, end, plain, plainStart, state: Uint32Array(2)); feeds cipher[start, end),
// advances the handshake and decrypts into plain[plainStart, plain.length); returns the plaintext byte count.
// state[0] = status bits, state[1] = pending ciphertext bytes (take them with tlsSessionTakeCiphertext).
napi_value Feed(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  if (argc < 7) {
    ThrowTypeError(env, "tlsSessionFeed: expected 7 arguments");
    return nullptr;
  }
  TlsSession* session = GetSession(env, argv[0]);
  if (session == nullptr) return nullptr;
  uint8_t* cipher = nullptr;
  size_t cipher_len = 0;
  uint8_t* plain = nullptr;
  size_t plain_len = 0;
  uint32_t* state = nullptr;
  size_t state_len = 0;
  if (!GetTypedArray(env, argv[1], napi_uint8_array, "tlsSessionFeed: cipher must be a Buffer", &cipher, &cipher_len) ||
      !GetTypedArray(env, argv[4], napi_uint8_array, "tlsSessionFeed: plain must be a Buffer", &plain, &plain_len) ||
      !GetTypedArray(env, argv[6], napi_uint32_array, "tlsSessionFeed: state must be a Uint32Array", &state,
                     &state_len)) {
    return nullptr;
  }
  if (state_len < 2) {
    ThrowRangeError(env, "tlsSessionFeed: state needs 2 slots");
    return nullptr;
  }
  size_t start = 0, end = 0, plain_start = 0;
  if (!GetIndex(env, argv[2], static_cast<double>(cipher_len), "tlsSessionFeed: start must be a number",
                "tlsSessionFeed: start out of range", &start) ||
      !GetIndex(env, argv[3], static_cast<double>(cipher_len), "tlsSessionFeed: end must be a number",
                "tlsSessionFeed: end out of range", &end) ||
      !GetIndex(env, argv[5], static_cast<double>(plain_len), "tlsSessionFeed: plainStart must be a number",
                "tlsSessionFeed: plainStart out of range", &plain_start)) {
    return nullptr;
  }
  if (start > end) {
    ThrowRangeError(env, "tlsSessionFeed: start is past end");
    return nullptr;
  }
  size_t n = 0;
  if (session->Feed(cipher + start, end - start)) n = session->Read(plain + plain_start, plain_len - plain_start);
  state[0] = session->status();
  size_t pending = session->PendingCiphertext();
  state[1] = pending > 0xffffffffu ? 0xffffffffu : static_cast<uint32_t>(pending);
  return NumberValue(env, static_cast<double>(n));
}

// takes (session, buf, start, end); encrypts buf[start, end) (nothing when start == end) and returns all
// pending ciphertext as a new Buffer, or null when there is none. Plaintext is refused (a TypeError) before the
// handshake completes; after a failure it is dropped (the session's status says so).
Napi::Value Write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TlsSession* session = GetSession(env, info[0]);
  if (session == nullptr) return env.Undefined();
  if (info.Length() >= 4 && info[1].IsTypedArray()) {
    uint8_t* data = nullptr;
    size_t len = 0;
    if (!GetTypedArray(env, info[1], napi_uint8_array, "tlsSessionWrite: buf must be a Buffer", &data, &len)) {
      return env.Undefined();
    }
    size_t start = 0, end = 0;
    if (!GetIndex(env, info[2], static_cast<double>(len), "tlsSessionWrite: start must be a number",
                  "tlsSessionWrite: start out of range", &start) ||
        !GetIndex(env, info[3], static_cast<double>(len), "tlsSessionWrite: end must be a number",
                  "tlsSessionWrite: end out of range", &end)) {
      return env.Undefined();
    }
    if (start > end) {
      Napi::RangeError::New(env, "tlsSessionWrite: start is past end").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (end > start) {
      if (!(session->status() & TlsSession::kHandshakeDone)) {
        Napi::TypeError::New(env, "tlsSessionWrite: the handshake has not completed").ThrowAsJavaScriptException();
        return env.Undefined();
      }
      session->Write(data + start, end - start);
    }
  }
  size_t pending = session->PendingCiphertext();
  if (pending == 0) return env.Null();
  Napi::Buffer<uint8_t> out = Napi::Buffer<uint8_t>::New(env, pending);
  size_t n = session->TakeCiphertext(out.Data(), pending);
  return n == pending ? Napi::Value(out) : Napi::Value(Napi::Buffer<uint8_t>::Copy(env, out.Data(), n));
}

// takes a session; returns all pending ciphertext as a new Buffer, or null.
Napi::Value TakeCiphertext(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TlsSession* session = GetSession(env, info[0]);
  if (session == nullptr) return env.Undefined();
  size_t pending = session->PendingCiphertext();
  if (pending == 0) return env.Null();
  Napi::Buffer<uint8_t> out = Napi::Buffer<uint8_t>::New(env, pending);
  size_t n = session->TakeCiphertext(out.Data(), pending);
  return n == pending ? Napi::Value(out) : Napi::Value(Napi::Buffer<uint8_t>::Copy(env, out.Data(), n));
}

// takes a session; queues close_notify and returns the pending ciphertext (Buffer or null).
Napi::Value Shutdown(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TlsSession* session = GetSession(env, info[0]);
  if (session == nullptr) return env.Undefined();
  session->Shutdown();
  return TakeCiphertext(info);
}

Napi::Object PeerObject(Napi::Env env, const TlsPeerInfo& peer) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("alpn", peer.alpn);
  o.Set("serverName", peer.server_name);
  o.Set("version", peer.version);
  o.Set("cipher", peer.cipher);
  o.Set("resumed", Napi::Boolean::New(env, peer.resumed));
  o.Set("certificate", peer.has_certificate ? Napi::Value(CertificateObject(env, peer.certificate)) : env.Null());
  return o;
}

// takes a session; returns what the handshake told (alpn, serverName, version, cipher, resumed, certificate|null).
Napi::Value Peer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TlsSession* session = GetSession(env, info[0]);
  if (session == nullptr) return env.Undefined();
  return PeerObject(env, session->peer());
}

// takes a session; returns why it failed ('' when it has not).
Napi::Value Error(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TlsSession* session = GetSession(env, info[0]);
  if (session == nullptr) return env.Undefined();
  return Napi::String::New(env, session->error());
}

// takes a session; frees it now (its context reference with it). Later calls on it throw. Idempotent.
Napi::Value Free(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SessionHolder* holder = GetHolder<SessionHolder>(env, info[0], kSessionTag, "expected a TLS session");
  if (holder != nullptr) holder->session.reset();
  return env.Undefined();
}

}  // namespace

std::shared_ptr<TlsContext> TlsContextFromValue(napi_env env, napi_value value) {
  ContextHolder* holder = GetHolder<ContextHolder>(env, value, kContextTag, "expected a TLS context");
  return holder != nullptr ? holder->context : nullptr;
}

bool TlsSanMatcherFromValue(napi_env env, napi_value value, SanMatcher* out) {
  return ReadSanMatcher(Napi::Env(env), Napi::Value(env, value), out);
}

napi_value TlsPeerValue(napi_env env, const TlsPeerInfo& peer) { return PeerObject(Napi::Env(env), peer); }

void RegisterTls(Napi::Env env, Napi::Object exports) {
  exports.Set("tlsCreateContext", Napi::Function::New(env, CreateContext, "tlsCreateContext"));
  exports.Set("tlsContextCertificates", Napi::Function::New(env, ContextCertificates, "tlsContextCertificates"));
  exports.Set("tlsCreateSession", Napi::Function::New(env, CreateSession, "tlsCreateSession"));
  napi_value feed;
  napi_create_function(env, "tlsSessionFeed", NAPI_AUTO_LENGTH, Feed, nullptr, &feed);
  exports.Set("tlsSessionFeed", Napi::Value(env, feed));
  exports.Set("tlsSessionWrite", Napi::Function::New(env, Write, "tlsSessionWrite"));
  exports.Set("tlsSessionTakeCiphertext", Napi::Function::New(env, TakeCiphertext, "tlsSessionTakeCiphertext"));
  exports.Set("tlsSessionShutdown", Napi::Function::New(env, Shutdown, "tlsSessionShutdown"));
  exports.Set("tlsSessionPeer", Napi::Function::New(env, Peer, "tlsSessionPeer"));
  exports.Set("tlsSessionError", Napi::Function::New(env, Error, "tlsSessionError"));
  exports.Set("tlsSessionFree", Napi::Function::New(env, Free, "tlsSessionFree"));
}

}  // namespace isthmus
