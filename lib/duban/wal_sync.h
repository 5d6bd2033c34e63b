#pragma once
// Group commit for SQLite's write-ahead log: commit without syncing under the write lock, then
// sync the log outside it, once for every commit that finished before the sync began.
//
// Why: with synchronous=FULL SQLite calls fdatasync inside COMMIT, so the one writer sits idle
// for the device's flush (~0.4 ms here) while every other write waits for the lock. Committing
// with synchronous=NORMAL and syncing afterwards lets the next transaction write while the
// previous one's frames are flushed, and one fdatasync covers every commit made before it
// started. A caller is still answered only after its commit is on disk, so what duban
// acknowledges survives a power loss exactly as with FULL. The difference: other connections
// may read a commit up to one sync before it is durable (a power loss in that window loses a
// commit nobody was told had succeeded). kill -9 loses nothing either way: the frames are in
// the kernel's page cache once COMMIT returns.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include <absl/status/status.h>
#include <absl/status/statusor.h>

namespace duban::sqlite {

// An open file descriptor, closed on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd();
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_ = -1;
};

// Orders commits and syncs. Commit() is called under the write lock right after a COMMIT
// returned; WaitDurable() after the lock is released. Thread-safe; `sync` may run on two
// threads at once.
class WalSyncer {
 public:
  // `sync` makes every commit counted so far durable (fdatasync of the log in production).
  explicit WalSyncer(std::function<absl::Status()> sync) : sync_(std::move(sync)) {}

  // Counts a commit whose frames are written; returns its sequence number.
  uint64_t Commit() { return committed_.fetch_add(1, std::memory_order_acq_rel) + 1; }

  // Returns once commit `seq` is durable: joins a sync that began after the commit, or runs
  // one. A failed sync fails this call and every later one: after a failed fdatasync the
  // kernel may have dropped the dirty pages, so nothing written since can be trusted to be on
  // disk (the process must restart and let SQLite recover from the file).
  absl::Status WaitDurable(uint64_t seq);

  // The error of a failed sync, once one failed (writes should stop); OK before.
  absl::Status failure();

  uint64_t syncs() const { return syncs_.load(std::memory_order_relaxed); }

 private:
  std::function<absl::Status()> sync_;
  std::atomic<uint64_t> committed_{0};
  std::atomic<uint64_t> syncs_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  // Two syncs may overlap: a commit then waits for one sync, not for the one in flight (which
  // began before it) and then its own.
  static constexpr int kMaxSyncsInFlight = 2;
  uint64_t durable_ = 0;  // every commit up to this one is on disk
  uint64_t started_ = 0;  // the highest commit a sync started so far covers
  int in_flight_ = 0;
  absl::Status failed_;
};

// Opens a database's write-ahead log (its "-wal" file, which exists once something committed)
// for syncing.
absl::StatusOr<UniqueFd> OpenWalForSync(const std::string& wal_path);
// fdatasync of `fd`, with the error spelled out.
absl::Status SyncFd(int fd, const std::string& what);

}  // namespace duban::sqlite
