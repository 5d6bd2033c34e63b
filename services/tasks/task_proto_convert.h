#pragma once
// Conversions between duban.tasks.v1 messages and the domain types. Conversions from proto
// check what the domain cannot see after conversion (timestamps that do not fit, a time of day
// out of range) and add violations under the given field path.
#include <string>

#include "duban/status.h"
#include "duban/tasks/v1/tasks.pb.h"
#include "task_directory.h"

namespace duban::tasks {

namespace pb = ::duban::tasks::v1;

Date FromProto(const pb::Date& in);
void ToProto(const Date& in, pb::Date* out);
Actor FromProto(const pb::Actor& in);
void ToProto(const Actor& in, pb::Actor* out);

DeadlineSpec DeadlineFromProto(const pb::Deadline& in, const std::string& field,
                               FieldViolations& v);
void ToProto(const DeadlineSpec& in, pb::Deadline* out);
// An optional timestamp field: nullopt when unset; a violation when it does not fit.
std::optional<int64_t> OptionalTime(bool has, const google::protobuf::Timestamp& ts,
                                    const std::string& field, FieldViolations& v);

Plan PlanFromProto(const pb::Plan& in);
void ToProto(const PlanView& in, pb::Plan* out);
void ToProto(const Plan& in, pb::Plan* out);

Task TaskFromProto(const pb::Task& in, const std::string& field, FieldViolations& v);
void ToProto(const Task& in, pb::Task* out);

void ToProto(const AssignmentView& in, pb::Assignment* out);
void ToProto(const ProgressReport& in, pb::ProgressReport* out);
void ToProto(const AuditEvent& in, pb::AuditEvent* out);
void ToProto(const ExtensionRequest& in, pb::ExtensionRequest* out);
void ToProto(const StateCounts& in, pb::StateCounts* out);

}  // namespace duban::tasks
