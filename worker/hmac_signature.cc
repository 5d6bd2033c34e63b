#include "hmac_signature.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <memory>
#include <stdexcept>

#include <absl/strings/escaping.h>
#include <absl/strings/str_cat.h>

namespace duban::worker {
namespace {

struct MacDeleter {
  void operator()(EVP_MAC* m) const { EVP_MAC_free(m); }
};
struct MacCtxDeleter {
  void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};

}  // namespace

std::string HmacSha256Hex(absl::string_view key, absl::string_view data) {
  std::unique_ptr<EVP_MAC, MacDeleter> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  if (mac == nullptr) throw std::runtime_error("HMAC unavailable");
  std::unique_ptr<EVP_MAC_CTX, MacCtxDeleter> ctx(EVP_MAC_CTX_new(mac.get()));
  if (ctx == nullptr) throw std::runtime_error("HMAC context");
  char digest_name[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", digest_name, 0),
                         OSSL_PARAM_construct_end()};
  unsigned char out[EVP_MAX_MD_SIZE];
  size_t out_len = 0;
  if (EVP_MAC_init(ctx.get(), reinterpret_cast<const unsigned char*>(key.data()), key.size(),
                   params) != 1 ||
      EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(data.data()), data.size()) !=
          1 ||
      EVP_MAC_final(ctx.get(), out, &out_len, sizeof(out)) != 1) {
    throw std::runtime_error("HMAC failed");
  }
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(out), out_len));
}

std::string WebhookSignature(absl::string_view secret, int64_t timestamp_s,
                             absl::string_view body) {
  return HmacSha256Hex(secret, absl::StrCat(timestamp_s, ".", body));
}

}  // namespace duban::worker
