#include "curl_handle.h"

#include <mutex>
#include <stdexcept>

namespace duban::worker {

bool CurlSlistAppend(CurlSlistPtr& list, const char* value) {
  curl_slist* grown = curl_slist_append(list.get(), value);
  if (grown == nullptr) return false;
  (void)list.release();
  list.reset(grown);
  return true;
}

void CurlGlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      throw std::runtime_error("curl_global_init failed");
    }
  });
}

}  // namespace duban::worker
