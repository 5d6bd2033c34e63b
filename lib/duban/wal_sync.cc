#include "duban/wal_sync.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <absl/strings/str_cat.h>

namespace duban::sqlite {

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

absl::Status WalSyncer::WaitDurable(uint64_t seq) {
  std::unique_lock<std::mutex> lock(mu_);
  while (durable_ < seq && failed_.ok()) {
    if (started_ >= seq || in_flight_ >= kMaxSyncsInFlight) {
      // A sync that covers this commit is running, or the most that may run are: wait.
      cv_.wait(lock);
      continue;
    }
    // Everything counted now has its frames written, so this sync covers it. It starts
    // without waiting for one that began before this commit (and so may not cover it).
    const uint64_t target = committed_.load(std::memory_order_acquire);
    started_ = std::max(started_, target);
    ++in_flight_;
    lock.unlock();
    absl::Status status = sync_();
    syncs_.fetch_add(1, std::memory_order_relaxed);
    lock.lock();
    --in_flight_;
    if (status.ok()) {
      // A finished sync vouches for every commit counted before it began, whatever the order
      // in which parallel syncs finish.
      durable_ = std::max(durable_, target);
    } else {
      failed_ = std::move(status);
    }
    cv_.notify_all();
  }
  return durable_ >= seq ? absl::OkStatus() : failed_;
}

absl::Status WalSyncer::failure() {
  std::lock_guard<std::mutex> lock(mu_);
  return failed_;
}

absl::StatusOr<UniqueFd> OpenWalForSync(const std::string& wal_path) {
  // Read-only is enough: fdatasync flushes the file, whichever descriptor names it.
  UniqueFd fd(::open(wal_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    return absl::InternalError(
        absl::StrCat("open ", wal_path, " to sync it: ", std::strerror(errno)));
  }
  return fd;
}

absl::Status SyncFd(int fd, const std::string& what) {
  while (::fdatasync(fd) != 0) {
    if (errno == EINTR) continue;
    return absl::InternalError(absl::StrCat("fdatasync ", what, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace duban::sqlite
