#pragma once
// OutcomeSink: where delivery outcomes are reported: sends before their job is settled in Redis,
// the rest (retries, dead letters, suppressions) after.
// GrpcOutcomeSink sends ReminderService.RecordDeliveries (one RPC per batch); LogOutcomeSink
// (direct mode) only counts and logs ids at debug level.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <absl/status/status.h>
#include <absl/types/span.h>

#include "message.h"

namespace duban::worker {

struct DeliveryRecord {
  enum class Kind { kSent, kRetry, kDead, kSuppressed, kMissed };
  Kind kind = Kind::kSent;
  std::string job_id;
  int64_t version = 0;
  std::string delivery_id;
  int attempt = 1;
  std::string error;
  std::string channel;
  int64_t time_ms = 0;                     // when the outcome happened
  std::optional<int64_t> next_attempt_ms;  // kRetry
  int suppression_reason = 0;              // kSuppressed (proto SuppressionReason)
  std::vector<Recipient> recipients;       // kSent (ids only are reported)
};

const char* DeliveryRecordKindName(DeliveryRecord::Kind kind);

class OutcomeSink {
 public:
  virtual ~OutcomeSink() = default;
  // Called by consumer threads concurrently; must be thread-safe. An error means some records
  // may not have been recorded; the worker then retries, and does not settle sends in Redis
  // before they are recorded (a settled job is gone, and with it the proof it was sent).
  // Recording the same records again must be harmless (the ledger keeps repeats as duplicates).
  virtual absl::Status Record(absl::Span<const DeliveryRecord> records) = 0;
};

class LogOutcomeSink : public OutcomeSink {
 public:
  absl::Status Record(absl::Span<const DeliveryRecord> records) override;
};

}  // namespace duban::worker
