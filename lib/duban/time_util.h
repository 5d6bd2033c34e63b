#pragma once
// Conversions between google.protobuf.Timestamp, absl::Time and the int64 microseconds since
// the Unix epoch that the SQLite stores keep.
#include <cstdint>

#include <absl/status/status.h>
#include <absl/time/time.h>
#include <google/protobuf/timestamp.pb.h>

namespace duban {

inline int64_t ToMicros(absl::Time t) { return absl::ToUnixMicros(t); }
inline absl::Time FromMicros(int64_t us) { return absl::FromUnixMicros(us); }

google::protobuf::Timestamp ToProtoTimestamp(absl::Time t);
void SetTimestampMicros(int64_t us, google::protobuf::Timestamp* out);
absl::Time FromProtoTimestamp(const google::protobuf::Timestamp& ts);
int64_t ProtoToMicros(const google::protobuf::Timestamp& ts);

// A timestamp within 0001-01-01..9999-12-31 with nanos in [0, 1e9). Description only.
absl::Status ValidateTimestamp(const google::protobuf::Timestamp& ts);

}  // namespace duban
