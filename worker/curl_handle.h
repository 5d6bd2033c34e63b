#pragma once
// RAII for libcurl: the easy handle and header lists, plus one-time global initialisation
// (call CurlGlobalInit() from main before any thread starts).
#include <curl/curl.h>

#include <memory>

namespace duban::worker {

struct CurlEasyDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
using CurlEasyPtr = std::unique_ptr<CURL, CurlEasyDeleter>;

struct CurlSlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using CurlSlistPtr = std::unique_ptr<curl_slist, CurlSlistDeleter>;

// Appends to a list owned by `list` (keeps ownership right when curl_slist_append fails).
bool CurlSlistAppend(CurlSlistPtr& list, const char* value);

void CurlGlobalInit();

}  // namespace duban::worker
