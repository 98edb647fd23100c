#include "x509_napi.h"

#include <openssl/err.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "napi_args.h"
#include "x509_csr.h"
#include "x509_issue.h"

namespace isthmus {
namespace {

const napi_type_tag kCsrTag = {0x6973746d75730003ULL, 0x78353039637372ULL};

struct CsrHolder {
  std::unique_ptr<ParsedCsr> csr;
};

void FinalizeCsr(napi_env, void* data, void*) { delete static_cast<CsrHolder*>(data); }

// takes a value; returns the request inside an x509ReadCsr external, or null (no exception) when it is not one.
const ParsedCsr* CsrFromValue(napi_env env, napi_value value) {
  bool tagged = false;
  void* data = nullptr;
  if (napi_check_object_type_tag(env, value, &kCsrTag, &tagged) != napi_ok || !tagged ||
      napi_get_value_external(env, value, &data) != napi_ok || data == nullptr) {
    return nullptr;
  }
  return static_cast<CsrHolder*>(data)->csr.get();
}

// A refusal of what a peer sent: an Error whose code is ERR_CSR_INVALID, so csr-reader.ts can tell it from a bug.
void ThrowCsrError(Napi::Env env, const std::string& message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, "ERR_CSR_INVALID"));
  error.ThrowAsJavaScriptException();
}

// x509ReadCsr(pem: string): the facts and the parsed request, or an ERR_CSR_INVALID Error.
Napi::Value ReadCsr(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    Napi::TypeError::New(env, "x509ReadCsr: the CSR must be a string").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  size_t length = 0;
  if (napi_get_value_string_utf8(env, info[0], nullptr, 0, &length) != napi_ok) return env.Undefined();
  std::string pem;
  if (length <= kMaxCsrPemBytes) {
    pem.resize(length + 1);
    napi_get_value_string_utf8(env, info[0], &pem[0], pem.size(), &length);
    pem.resize(length);
  }
  std::string error;
  // An oversize PEM is refused by length alone, never copied.
  std::unique_ptr<ParsedCsr> csr =
      length > kMaxCsrPemBytes ? ParseCsrPem(nullptr, length, &error) : ParseCsrPem(pem.data(), pem.size(), &error);
  if (!csr) {
    ThrowCsrError(env, error);
    return env.Undefined();
  }
  CsrFacts facts = ReadCsrFacts(*csr);
  Napi::Array uris = Napi::Array::New(env, facts.uri_sans.size());
  for (size_t i = 0; i < facts.uri_sans.size(); i++) uris.Set(static_cast<uint32_t>(i), Napi::String::New(env, facts.uri_sans[i]));
  napi_value handle = nullptr;
  CsrHolder* holder = new CsrHolder{std::move(csr)};
  if (napi_create_external(env, holder, FinalizeCsr, nullptr, &handle) != napi_ok) {
    delete holder;
    return env.Undefined();
  }
  napi_type_tag_object(env, handle, &kCsrTag);
  Napi::Object out = Napi::Object::New(env);
  out.Set("csr", Napi::Value(env, handle));
  out.Set("keyAlgorithm", facts.key_algorithm);
  out.Set("curve", facts.curve);
  out.Set("ecPointUncompressed", facts.ec_point_uncompressed);
  out.Set("keyLoaded", facts.key_loaded);
  out.Set("keyBits", facts.key_bits);
  out.Set("signatureAlgorithm", facts.signature_algorithm);
  out.Set("uriSans", uris);
  out.Set("otherSans", static_cast<double>(facts.other_sans));
  out.Set("extensionError", facts.extension_error);
  return out;
}

// x509VerifyCsr(csr): whether the request's self-signature verifies with its own key.
Napi::Value VerifyCsr(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const ParsedCsr* csr = info.Length() < 1 ? nullptr : CsrFromValue(env, info[0]);
  if (csr == nullptr) {
    Napi::TypeError::New(env, "x509VerifyCsr: expected a CSR from x509ReadCsr").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Boolean::New(env, VerifyCsrSignature(*csr));
}

// Reads a string or Buffer argument into *out; false with a TypeError pending otherwise.
bool TextArgument(const Napi::Value& value, const char* message, std::string* out) {
  if (value.IsString()) {
    *out = value.As<Napi::String>().Utf8Value();
    return true;
  }
  if (value.IsBuffer()) {
    Napi::Buffer<char> b = value.As<Napi::Buffer<char>>();
    out->assign(b.Data(), b.Length());
    return true;
  }
  Napi::TypeError::New(value.Env(), message).ThrowAsJavaScriptException();
  return false;
}

class X509Signer : public Napi::ObjectWrap<X509Signer> {
 public:
  // takes the env; returns the X509Signer class.
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "X509Signer", {InstanceMethod("issue", &X509Signer::Issue)});
  }

  // new X509Signer(certPem, keyPem): the CA's signing certificate and its private key (PEM strings or Buffers).
  explicit X509Signer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<X509Signer>(info) {
    Napi::Env env = info.Env();
    std::string cert_pem, key_pem, error;
    if (!TextArgument(info[0], "X509Signer: the CA certificate must be a PEM string", &cert_pem) ||
        !TextArgument(info[1], "X509Signer: the CA key must be a PEM string", &key_pem)) {
      return;
    }
    signer_ = CaSigner::Create(cert_pem, key_pem, &error);
    if (!signer_) Napi::Error::New(env, "X509Signer: " + error).ThrowAsJavaScriptException();
  }

 private:
  // issue(key: CSR external | SPKI DER Buffer, sans: string[], notBeforeMs, notAfterMs, serial: Buffer): PEM.
  Napi::Value Issue(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto fail = [&](const std::string& message) {
      Napi::Error::New(env, "X509Signer.issue: " + message).ThrowAsJavaScriptException();
      return env.Undefined();
    };
    if (info.Length() < 5 || !info[1].IsArray() || !info[2].IsNumber() || !info[3].IsNumber() || !info[4].IsBuffer()) {
      Napi::TypeError::New(env, "X509Signer.issue(key, sans, notBeforeMs, notAfterMs, serial): wrong arguments")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    const CsrSpki* key = nullptr;
    CsrSpkiPtr spki;
    if (const ParsedCsr* csr = CsrFromValue(env, info[0])) {
      key = csr->raw->info->spki;
    } else if (info[0].IsBuffer()) {
      Napi::Buffer<unsigned char> der = info[0].As<Napi::Buffer<unsigned char>>();
      spki = DecodeCsrSpki(der.Data(), static_cast<long>(der.Length()));
      key = spki.get();
    } else {
      return fail("the key must be a CSR from x509ReadCsr or an SPKI DER Buffer");
    }
    if (key == nullptr) {
      ERR_clear_error();
      return fail("the subject's public key cannot be read");
    }
    Napi::Array list = info[1].As<Napi::Array>();
    uint32_t count = list.Length();
    if (count > kMaxIssueSans) return fail("more than " + std::to_string(kMaxIssueSans) + " subject-alt-names");
    std::vector<IssueSan> sans(count);
    for (uint32_t i = 0; i < count; i++) {
      Napi::Value v = list.Get(i);
      if (!v.IsString() || !ParseIssueSan(v.As<Napi::String>().Utf8Value(), &sans[i])) {
        return fail("each subject-alt-name must be a string \"URI:...\", \"DNS:...\" or \"IP:...\"");
      }
    }
    double not_before = info[2].As<Napi::Number>().DoubleValue();
    double not_after = info[3].As<Napi::Number>().DoubleValue();
    // Years 1950 to 9999, the range RFC 5280 times can express.
    const double kMin = -631152000000.0, kMax = 253402300799000.0;
    if (!(not_before >= kMin && not_before <= kMax && not_after >= kMin && not_after <= kMax)) {
      return fail("notBefore and notAfter must be times between 1950 and 9999 (ms since 1970)");
    }
    Napi::Buffer<unsigned char> serial = info[4].As<Napi::Buffer<unsigned char>>();
    std::string pem, error;
    if (!signer_->Issue(key, sans, static_cast<int64_t>(std::floor(not_before / 1000)),
                        static_cast<int64_t>(std::floor(not_after / 1000)), serial.Data(), serial.Length(), &pem, &error)) {
      return fail(error);
    }
    return Napi::String::New(env, pem);
  }

  std::unique_ptr<CaSigner> signer_;
};

}  // namespace

void RegisterX509(Napi::Env env, Napi::Object exports) {
  exports.Set("x509ReadCsr", Napi::Function::New(env, ReadCsr, "x509ReadCsr"));
  exports.Set("x509VerifyCsr", Napi::Function::New(env, VerifyCsr, "x509VerifyCsr"));
  exports.Set("X509Signer", X509Signer::Define(env));
}

}  // namespace isthmus
