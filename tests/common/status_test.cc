#include "duban/status.h"

#include <google/rpc/error_details.pb.h>
#include <google/rpc/status.pb.h>
#include <gtest/gtest.h>

namespace duban {
namespace {

TEST(StatusMapping, FieldViolationsTravelAsBadRequestDetails) {
  FieldViolations v;
  v.Add("unit.name", "must not be empty");
  v.Add("unit.kind", "must be a known unit kind");
  grpc::Status g = ToGrpcStatus(v.ToStatus());
  EXPECT_EQ(g.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  google::rpc::Status rpc;
  ASSERT_TRUE(rpc.ParseFromString(g.error_details()));
  ASSERT_EQ(rpc.details_size(), 1);
  google::rpc::BadRequest br;
  ASSERT_TRUE(rpc.details(0).UnpackTo(&br));
  ASSERT_EQ(br.field_violations_size(), 2);
  EXPECT_EQ(br.field_violations(0).field(), "unit.name");
  EXPECT_EQ(br.field_violations(1).field(), "unit.kind");
  // And back, as a duban client sees it.
  auto back = ViolationsOf(FromGrpcStatus(g));
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[1].description, "must be a known unit kind");
}

TEST(StatusMapping, InternalCausesAreNotReturned) {
  grpc::Status g = ToGrpcStatus(absl::InternalError("sqlite step: disk I/O error at /var/x"));
  EXPECT_EQ(g.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(g.error_message(), "internal error");
}

TEST(StatusMapping, FieldErrorKeepsItsCode) {
  grpc::Status g = ToGrpcStatus(
      FieldError(absl::StatusCode::kNotFound, "unit.parent_id", "parent unit \"x\" not found"));
  EXPECT_EQ(g.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ViolationsOf(FromGrpcStatus(g)).at(0).field, "unit.parent_id");
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
}

}  // namespace
}  // namespace duban
