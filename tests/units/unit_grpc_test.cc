// UnitService through a real gRPC server on 127.0.0.1:0 with a real SQLite file: every method,
// its bad input (code + named field + nothing changed), paging, health and reflection.
#include <google/protobuf/util/message_differencer.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <gtest/gtest.h>

#include <absl/strings/str_join.h>

#include <future>
#include <mutex>
#include <thread>

#include "duban/grpc_server.h"
#include "duban/units/v1/units.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "sqlite_unit_store.h"
#include "support/grpc_test_util.h"
#include "support/temp_dir.h"
#include "unit_grpc_service.h"

namespace duban::units {
namespace {

using duban::testing::ViolatedFields;
namespace pb = ::duban::units::v1;

class UnitGrpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sqlite::Options o;
    o.path = dir_.File("units.db");
    store_ = *SqliteUnitStore::Open(o);
    directory_ = std::make_unique<UnitDirectory>(*store_);
    service_ = std::make_unique<UnitGrpcService>(*directory_);
    ServerOptions so;
    so.listen = "127.0.0.1:0";
    so.handler_threads = 4;
    so.shutdown_grace = std::chrono::milliseconds(500);
    so.health_services = {"duban.units.v1.UnitService"};
    server_ = *GrpcServer::Start(so, {service_.get()});
    channel_ = MakeChannel(server_->address());
    stub_ = pb::UnitService::NewStub(channel_);
  }

  void TearDown() override { server_->Shutdown(); }

  grpc::Status CreateUnit(const std::string& id, const std::string& parent, pb::Unit* out = nullptr,
                          pb::UnitKind kind = pb::UNIT_KIND_OTHER) {
    grpc::ClientContext ctx;
    pb::CreateUnitRequest req;
    req.mutable_unit()->set_id(id);
    req.mutable_unit()->set_name("单位 " + id);
    req.mutable_unit()->set_kind(kind);
    req.mutable_unit()->set_parent_id(parent);
    pb::Unit resp;
    auto s = stub_->CreateUnit(&ctx, req, &resp);
    if (out) *out = resp;
    return s;
  }

  pb::Contact AddContact(const std::string& unit, pb::ContactRole role, const std::string& name) {
    grpc::ClientContext ctx;
    pb::AddContactRequest req;
    req.mutable_contact()->set_unit_id(unit);
    req.mutable_contact()->set_role(role);
    req.mutable_contact()->set_person_name(name);
    req.mutable_contact()->set_email("liaison@example.gov.cn");
    pb::Contact resp;
    EXPECT_TRUE(stub_->AddContact(&ctx, req, &resp).ok());
    return resp;
  }

  // Everything stored, to prove a failed call changed nothing.
  std::string Snapshot() {
    std::string out;
    pb::ListUnitsRequest req;
    req.set_include_archived(true);
    req.set_page_size(1000);
    grpc::ClientContext ctx;
    pb::ListUnitsResponse resp;
    EXPECT_TRUE(stub_->ListUnits(&ctx, req, &resp).ok());
    for (const auto& u : resp.units()) {
      out += u.SerializeAsString();
      grpc::ClientContext cctx;
      pb::ListContactsRequest creq;
      creq.set_unit_id(u.id());
      creq.set_include_history(true);
      pb::ListContactsResponse cresp;
      EXPECT_TRUE(stub_->ListContacts(&cctx, creq, &cresp).ok());
      out += cresp.SerializeAsString();
    }
    return out;
  }

  testing::TempDir dir_;
  std::unique_ptr<SqliteUnitStore> store_;
  std::unique_ptr<UnitDirectory> directory_;
  std::unique_ptr<UnitGrpcService> service_;
  std::unique_ptr<GrpcServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<pb::UnitService::Stub> stub_;
};

TEST_F(UnitGrpcTest, HealthReportsTheServiceAndReflectionListsIt) {
  EXPECT_TRUE(duban::testing::WaitForServing(channel_, "duban.units.v1.UnitService"));
  EXPECT_TRUE(duban::testing::WaitForServing(channel_, ""));
  auto health = grpc::health::v1::Health::NewStub(channel_);
  grpc::ClientContext ctx;
  grpc::health::v1::HealthCheckRequest req;
  req.set_service("no.such.Service");
  grpc::health::v1::HealthCheckResponse resp;
  EXPECT_EQ(health->Check(&ctx, req, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(UnitGrpcTest, CreateGetBatchGetUpdateMoveArchiveRestore) {
  pb::Unit gd, zq;
  ASSERT_TRUE(CreateUnit("gd", "", &gd, pb::UNIT_KIND_PROVINCE).ok());
  ASSERT_TRUE(CreateUnit("gd.zq", "gd", &zq, pb::UNIT_KIND_CITY).ok());
  EXPECT_EQ(zq.depth(), 1);
  EXPECT_EQ(zq.timezone(), "Asia/Shanghai");
  EXPECT_EQ(zq.etag(), "1");
  EXPECT_GT(zq.create_time().seconds(), 1700000000);

  {
    grpc::ClientContext ctx;
    pb::BatchGetUnitsRequest req;
    req.add_ids("gd.zq");
    req.add_ids("missing");
    req.add_ids("gd");
    pb::BatchGetUnitsResponse resp;
    ASSERT_TRUE(stub_->BatchGetUnits(&ctx, req, &resp).ok());
    ASSERT_EQ(resp.units_size(), 2);
    EXPECT_EQ(resp.units(0).id(), "gd.zq");
    EXPECT_EQ(resp.missing_ids(0), "missing");
  }
  {
    grpc::ClientContext ctx;
    pb::UpdateUnitRequest req;
    req.mutable_unit()->set_id("gd.zq");
    req.mutable_unit()->set_name("肇庆市");
    req.mutable_unit()->add_tags("五区");
    req.mutable_update_mask()->add_paths("name");
    req.mutable_update_mask()->add_paths("tags");
    req.set_etag(zq.etag());
    pb::Unit resp;
    ASSERT_TRUE(stub_->UpdateUnit(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.name(), "肇庆市");
    EXPECT_EQ(resp.etag(), "2");
  }
  ASSERT_TRUE(CreateUnit("gd.fs", "gd").ok());
  {
    grpc::ClientContext ctx;
    pb::MoveUnitRequest req;
    req.set_id("gd.fs");
    req.set_new_parent_id("gd.zq");
    pb::Unit resp;
    ASSERT_TRUE(stub_->MoveUnit(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.parent_id(), "gd.zq");
    EXPECT_EQ(resp.depth(), 2);
  }
  {
    grpc::ClientContext ctx;
    pb::ArchiveUnitRequest req;
    req.set_id("gd.zq");
    req.set_cascade(true);
    pb::Unit resp;
    ASSERT_TRUE(stub_->ArchiveUnit(&ctx, req, &resp).ok());
    EXPECT_TRUE(resp.archived());
  }
  {
    grpc::ClientContext ctx;
    pb::RestoreUnitRequest req;
    req.set_id("gd.zq");
    pb::Unit resp;
    ASSERT_TRUE(stub_->RestoreUnit(&ctx, req, &resp).ok());
    EXPECT_FALSE(resp.archived());
  }
  {
    grpc::ClientContext ctx;
    pb::CountUnitsRequest req;
    req.set_root_id("gd");
    req.set_include_archived(true);
    pb::CountUnitsResponse resp;
    ASSERT_TRUE(stub_->CountUnits(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.total(), 3);
  }
}

TEST_F(UnitGrpcTest, ListPagesUntilAnEmptyToken) {
  ASSERT_TRUE(CreateUnit("r", "").ok());
  for (int i = 0; i < 25; ++i) ASSERT_TRUE(CreateUnit("r.c" + std::to_string(100 + i), "r").ok());
  pb::ListUnitsRequest req;
  req.set_subtree_of("r");
  req.set_page_size(10);
  std::vector<std::string> ids;
  for (int pages = 0; pages < 10; ++pages) {
    grpc::ClientContext ctx;
    pb::ListUnitsResponse resp;
    ASSERT_TRUE(stub_->ListUnits(&ctx, req, &resp).ok());
    for (const auto& u : resp.units()) ids.push_back(u.id());
    if (resp.next_page_token().empty()) break;
    req.set_page_token(resp.next_page_token());
  }
  ASSERT_EQ(ids.size(), 26u);
  EXPECT_TRUE(std::is_sorted(ids.begin() + 1, ids.end()));
}

TEST_F(UnitGrpcTest, ImportStreamsRowsWithPerRowErrors) {
  grpc::ClientContext ctx;
  pb::ImportUnitsResponse resp;
  auto writer = stub_->ImportUnits(&ctx, &resp);
  pb::ImportUnitsRequest first;
  first.set_mode(pb::ImportUnitsRequest::VALID_ROWS_ONLY);
  auto add = [](pb::ImportUnitsRequest& m, std::string id, std::string parent, std::string name) {
    auto* u = m.add_units();
    u->set_id(id);
    u->set_parent_id(parent);
    u->set_name(name);
    u->set_kind(pb::UNIT_KIND_TOWN);
  };
  add(first, "zq.t1", "zq", "睦岗街道");  // parent arrives in the next message
  add(first, "zq.t2", "zq", "");          // empty name
  ASSERT_TRUE(writer->Write(first));
  pb::ImportUnitsRequest second;
  add(second, "zq", "", "肇庆市");
  ASSERT_TRUE(writer->Write(second));
  writer->WritesDone();
  ASSERT_TRUE(writer->Finish().ok());
  EXPECT_EQ(resp.rows_received(), 3);
  EXPECT_EQ(resp.created(), 2);
  EXPECT_EQ(resp.rejected(), 1);
  ASSERT_EQ(resp.errors_size(), 1);
  EXPECT_EQ(resp.errors(0).row(), 2);
  EXPECT_EQ(resp.errors(0).field(), "name");
}

TEST_F(UnitGrpcTest, ImportAllOrNothingFailsWithRowFields) {
  std::string before = Snapshot();
  grpc::ClientContext ctx;
  pb::ImportUnitsResponse resp;
  auto writer = stub_->ImportUnits(&ctx, &resp);
  pb::ImportUnitsRequest m;
  auto* ok = m.add_units();
  ok->set_id("a");
  ok->set_name("A");
  ok->set_kind(pb::UNIT_KIND_CITY);
  auto* bad = m.add_units();
  bad->set_id("b");
  bad->set_name("B");
  bad->set_kind(pb::UNIT_KIND_CITY);
  bad->set_timezone("Nowhere/Land");
  ASSERT_TRUE(writer->Write(m));
  writer->WritesDone();
  grpc::Status s = writer->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ViolatedFields(s), std::vector<std::string>{"rows[2].timezone"});
  EXPECT_EQ(Snapshot(), before);
}

TEST_F(UnitGrpcTest, ResolveRecipientsBatch) {
  ASSERT_TRUE(CreateUnit("gd", "").ok());
  ASSERT_TRUE(CreateUnit("gd.zq", "gd").ok());
  AddContact("gd.zq", pb::CONTACT_ROLE_LIAISON, "联络员甲");
  AddContact("gd", pb::CONTACT_ROLE_SUPERVISOR, "督导乙");
  grpc::ClientContext ctx;
  pb::ResolveRecipientsRequest req;
  for (int i = 0; i < 60; ++i) {
    auto* q = req.add_queries();
    q->set_unit_id("gd.zq");
    q->set_level(i % 3 == 2 ? 2 : 0);
  }
  pb::ResolveRecipientsResponse resp;
  ASSERT_TRUE(stub_->ResolveRecipients(&ctx, req, &resp).ok());
  ASSERT_EQ(resp.resolutions_size(), 60);
  EXPECT_EQ(resp.resolutions(0).recipients(0).person_name(), "联络员甲");
  EXPECT_EQ(resp.resolutions(2).recipients(0).person_name(), "督导乙");
  EXPECT_EQ(resp.resolutions(2).resolved_unit_id(), "gd");
}

TEST_F(UnitGrpcTest, ContactLifecycleOverRpc) {
  ASSERT_TRUE(CreateUnit("u", "").ok());
  pb::Contact c = AddContact("u", pb::CONTACT_ROLE_LIAISON, "王芳");
  {
    grpc::ClientContext ctx;
    pb::UpdateContactRequest req;
    req.mutable_contact()->set_id(c.id());
    req.mutable_contact()->set_mobile("+8613800000000");
    req.mutable_contact()->set_locale("en");
    req.mutable_update_mask()->add_paths("mobile");
    req.mutable_update_mask()->add_paths("locale");
    req.set_etag(c.etag());
    pb::Contact resp;
    ASSERT_TRUE(stub_->UpdateContact(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.mobile(), "+8613800000000");
    EXPECT_EQ(resp.locale(), "en");
  }
  {
    grpc::ClientContext ctx;
    pb::HandOverContactRequest req;
    req.set_old_contact_id(c.id());
    req.mutable_successor()->set_person_name("李伟");
    req.mutable_successor()->set_webhook_url("https://im.example.gov.cn/hook/1");
    pb::HandOverContactResponse resp;
    ASSERT_TRUE(stub_->HandOverContact(&ctx, req, &resp).ok());
    EXPECT_TRUE(resp.ended().has_valid_to());
    EXPECT_EQ(resp.successor().role(), pb::CONTACT_ROLE_LIAISON);
  }
  {
    grpc::ClientContext ctx;
    pb::GetContactRequest req;
    req.set_id(c.id());
    pb::Contact resp;
    ASSERT_TRUE(stub_->GetContact(&ctx, req, &resp).ok());
    EXPECT_TRUE(resp.has_valid_to());
  }
}

// One bad request per method and field family: the right code, the named field, no change.
struct BadCase {
  std::string name;
  std::function<grpc::Status(pb::UnitService::Stub&)> call;
  grpc::StatusCode code;
  std::string field;
};

TEST_F(UnitGrpcTest, BadInputNamesTheFieldAndChangesNothing) {
  pb::Unit root;
  ASSERT_TRUE(CreateUnit("gd", "", &root).ok());
  ASSERT_TRUE(CreateUnit("gd.zq", "gd").ok());
  ASSERT_TRUE(CreateUnit("gd.zq.dz", "gd.zq").ok());
  pb::Contact contact = AddContact("gd.zq", pb::CONTACT_ROLE_LIAISON, "王芳");
  std::string before = Snapshot();

  auto create = [](std::function<void(pb::CreateUnitRequest&)> edit) {
    return [edit](pb::UnitService::Stub& s) {
      pb::CreateUnitRequest req;
      req.mutable_unit()->set_id("gd.new");
      req.mutable_unit()->set_name("新单位");
      req.mutable_unit()->set_kind(pb::UNIT_KIND_TOWN);
      req.mutable_unit()->set_parent_id("gd");
      edit(req);
      grpc::ClientContext ctx;
      pb::Unit resp;
      return s.CreateUnit(&ctx, req, &resp);
    };
  };
  auto add_contact = [](std::function<void(pb::AddContactRequest&)> edit) {
    return [edit](pb::UnitService::Stub& s) {
      pb::AddContactRequest req;
      req.mutable_contact()->set_unit_id("gd.zq");
      req.mutable_contact()->set_role(pb::CONTACT_ROLE_HEAD);
      req.mutable_contact()->set_person_name("张三");
      req.mutable_contact()->set_email("z@example.gov.cn");
      edit(req);
      grpc::ClientContext ctx;
      pb::Contact resp;
      return s.AddContact(&ctx, req, &resp);
    };
  };
  const std::string long_name(101, 'x');
  std::vector<BadCase> cases = {
      {"create: empty id", create([](auto& r) { r.mutable_unit()->clear_id(); }),
       grpc::StatusCode::INVALID_ARGUMENT, "unit.id"},
      {"create: malformed id", create([](auto& r) { r.mutable_unit()->set_id("GD/x"); }),
       grpc::StatusCode::INVALID_ARGUMENT, "unit.id"},
      {"create: empty name", create([](auto& r) { r.mutable_unit()->clear_name(); }),
       grpc::StatusCode::INVALID_ARGUMENT, "unit.name"},
      {"create: oversized name", create([&](auto& r) { r.mutable_unit()->set_name(long_name); }),
       grpc::StatusCode::INVALID_ARGUMENT, "unit.name"},
      // Invalid UTF-8 cannot cross the wire in a proto3 string (the protobuf runtime refuses
      // to serialize it); ValidateText's UTF-8 check is covered in common_test.
      {"create: control characters",
       create([](auto& r) { r.mutable_unit()->set_name("bad\x07name"); }),
       grpc::StatusCode::INVALID_ARGUMENT, "unit.name"},
      {"create: no kind", create([](auto& r) { r.mutable_unit()->clear_kind(); }),
       grpc::StatusCode::INVALID_ARGUMENT, "unit.kind"},
      {"create: unknown parent",
       create([](auto& r) { r.mutable_unit()->set_parent_id("gd.none"); }),
       grpc::StatusCode::NOT_FOUND, "unit.parent_id"},
      {"create: bad timezone",
       create([](auto& r) { r.mutable_unit()->set_timezone("Asia/Atlantis"); }),
       grpc::StatusCode::INVALID_ARGUMENT, "unit.timezone"},
      {"create: bad tag", create([](auto& r) { r.mutable_unit()->add_tags(""); }),
       grpc::StatusCode::INVALID_ARGUMENT, "unit.tags[0]"},
      {"create: bad request_id", create([](auto& r) { r.set_request_id("a b"); }),
       grpc::StatusCode::INVALID_ARGUMENT, "request_id"},
      {"create: exists", create([](auto& r) { r.mutable_unit()->set_id("gd.zq"); }),
       grpc::StatusCode::ALREADY_EXISTS, "unit.id"},
      {"get: malformed id",
       [](auto& s) {
         grpc::ClientContext ctx;
         pb::GetUnitRequest req;
         req.set_id("");
         pb::Unit resp;
         return s.GetUnit(&ctx, req, &resp);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "id"},
      {"get: missing",
       [](auto& s) {
         grpc::ClientContext ctx;
         pb::GetUnitRequest req;
         req.set_id("gd.none");
         pb::Unit resp;
         return s.GetUnit(&ctx, req, &resp);
       },
       grpc::StatusCode::NOT_FOUND, "id"},
      {"batch get: empty",
       [](auto& s) {
         grpc::ClientContext ctx;
         pb::BatchGetUnitsRequest req;
         pb::BatchGetUnitsResponse resp;
         return s.BatchGetUnits(&ctx, req, &resp);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "ids"},
      {"batch get: bad id",
       [](auto& s) {
         grpc::ClientContext ctx;
         pb::BatchGetUnitsRequest req;
         req.add_ids("gd");
         req.add_ids("Bad");
         pb::BatchGetUnitsResponse resp;
         return s.BatchGetUnits(&ctx, req, &resp);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "ids[1]"},
      {"update: etag mismatch",
       [](auto& s) {
         grpc::ClientContext ctx;
         pb::UpdateUnitRequest req;
         req.mutable_unit()->set_id("gd");
         req.mutable_unit()->set_name("改");
         req.mutable_update_mask()->add_paths("name");
         req.set_etag("999");
         pb::Unit resp;
         return s.UpdateUnit(&ctx, req, &resp);
       },
       grpc::StatusCode::ABORTED, "etag"},
      {"update: no mask",
       [](auto& s) {
         grpc::ClientContext ctx;
         pb::UpdateUnitRequest req;
         req.mutable_unit()->set_id("gd");
         pb::Unit resp;
         return s.UpdateUnit(&ctx, req, &resp);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "update_mask"},
      {"update: oversized name",
       [&](auto& s) {
         grpc::ClientContext ctx;
         pb::UpdateUnitRequest req;
         req.mutable_unit()->set_id("gd");
         req.mutable_unit()->set_name(long_name);
         req.mutable_update_mask()->add_paths("name");
         pb::Unit resp;
         return s.UpdateUnit(&ctx, req, &resp);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "unit.name"},
      {"move: cycle",
       [](auto& s) {
         grpc::ClientContext ctx;
         pb::MoveUnitRequest req;
         req.set_id("gd");
         req.set_new_parent_id("gd.zq.dz");
         pb::Unit resp;
         return s.MoveUnit(&ctx, req, &resp);
       },
       grpc::StatusCode::FAILED_PRECONDITION, "new_parent_id"},
      {"move: unknown parent",
       [](auto& s) {
         grpc::ClientContext ctx;
         pb::MoveUnitRequest req;
         req.set_id("gd.zq.dz");
         req.set_new_parent_id("zz");
         pb::Unit resp;
         return s.MoveUnit(&ctx, req, &resp);
       },
       grpc::StatusCode::NOT_FOUND, "new_parent_id"},
      {"archive: children active",
       [](auto& s) {
         grpc::ClientContext ctx;
         pb::ArchiveUnitRequest req;
         req.set_id("gd");
         pb::Unit resp;
         return s.ArchiveUnit(&ctx, req, &resp);
       },
       grpc::StatusCode::FAILED_PRECONDITION, "cascade"},
      {"archive: etag",
       [](auto& s) {
         grpc::ClientContext ctx;
         pb::ArchiveUnitRequest req;
         req.set_id("gd.zq.dz");
         req.set_etag("7");
         pb::Unit resp;
         return s.ArchiveUnit(&ctx, req, &resp);
       },
       grpc::StatusCode::ABORTED, "etag"},
      {"restore: bad id",
       [](auto& s) {
         grpc::ClientContext ctx;
         pb::RestoreUnitRequest req;
         req.set_id("#");
         pb::Unit resp;
         return s.RestoreUnit(&ctx, req, &resp);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "id"},
      {"list: negative page size",
       [](auto& s) {
         grpc::ClientContext ctx;
         pb::ListUnitsRequest req;
         req.set_page_size(-5);
         pb::ListUnitsResponse resp;
         return s.ListUnits(&ctx, req, &resp);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "page_size"},
      {"list: bad token",
       [](auto& s) {
         grpc::ClientContext ctx;
         pb::ListUnitsRequest req;
         req.set_page_token("forged");
         pb::ListUnitsResponse resp;
         return s.ListUnits(&ctx, req, &resp);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "page_token"},
      {"list: bad kind",
       [](auto& s) {
         grpc::ClientContext ctx;
         pb::ListUnitsRequest req;
         req.add_kinds(static_cast<pb::UnitKind>(77));
         pb::ListUnitsResponse resp;
         return s.ListUnits(&ctx, req, &resp);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "kinds[0]"},
      {"count: no root",
       [](auto& s) {
         grpc::ClientContext ctx;
         pb::CountUnitsRequest req;
         pb::CountUnitsResponse resp;
         return s.CountUnits(&ctx, req, &resp);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "root_id"},
      {"add contact: no channel", add_contact([](auto& r) { r.mutable_contact()->clear_email(); }),
       grpc::StatusCode::INVALID_ARGUMENT, "contact.email"},
      {"add contact: bad email",
       add_contact([](auto& r) { r.mutable_contact()->set_email("x@y"); }),
       grpc::StatusCode::INVALID_ARGUMENT, "contact.email"},
      {"add contact: bad url",
       add_contact([](auto& r) { r.mutable_contact()->set_webhook_url("http://a b"); }),
       grpc::StatusCode::INVALID_ARGUMENT, "contact.webhook_url"},
      {"add contact: bad mobile",
       add_contact([](auto& r) { r.mutable_contact()->set_mobile("call me"); }),
       grpc::StatusCode::INVALID_ARGUMENT, "contact.mobile"},
      {"add contact: no role", add_contact([](auto& r) { r.mutable_contact()->clear_role(); }),
       grpc::StatusCode::INVALID_ARGUMENT, "contact.role"},
      {"add contact: bad locale",
       add_contact([](auto& r) { r.mutable_contact()->set_locale("fr"); }),
       grpc::StatusCode::INVALID_ARGUMENT, "contact.locale"},
      {"add contact: unknown unit",
       add_contact([](auto& r) { r.mutable_contact()->set_unit_id("zz"); }),
       grpc::StatusCode::NOT_FOUND, "contact.unit_id"},
      {"add contact: valid_to before valid_from", add_contact([](auto& r) {
         r.mutable_contact()->mutable_valid_from()->set_seconds(2000000000);
         r.mutable_contact()->mutable_valid_to()->set_seconds(1900000000);
       }),
       grpc::StatusCode::INVALID_ARGUMENT, "contact.valid_to"},
      {"add contact: bad timestamp",
       add_contact([](auto& r) { r.mutable_contact()->mutable_valid_from()->set_nanos(-1); }),
       grpc::StatusCode::INVALID_ARGUMENT, "contact.valid_from"},
      {"update contact: immutable role",
       [&](auto& s) {
         grpc::ClientContext ctx;
         pb::UpdateContactRequest req;
         req.mutable_contact()->set_id(contact.id());
         req.mutable_update_mask()->add_paths("role");
         pb::Contact resp;
         return s.UpdateContact(&ctx, req, &resp);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "update_mask"},
      {"update contact: clearing the only channel",
       [&](auto& s) {
         grpc::ClientContext ctx;
         pb::UpdateContactRequest req;
         req.mutable_contact()->set_id(contact.id());
         req.mutable_update_mask()->add_paths("email");
         pb::Contact resp;
         return s.UpdateContact(&ctx, req, &resp);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "contact.email"},
      {"get contact: malformed id",
       [](auto& s) {
         grpc::ClientContext ctx;
         pb::GetContactRequest req;
         req.set_id("C!");
         pb::Contact resp;
         return s.GetContact(&ctx, req, &resp);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "id"},
      {"get contact: missing",
       [](auto& s) {
         grpc::ClientContext ctx;
         pb::GetContactRequest req;
         req.set_id("c-none");
         pb::Contact resp;
         return s.GetContact(&ctx, req, &resp);
       },
       grpc::StatusCode::NOT_FOUND, "id"},
      {"list contacts: bad token",
       [](auto& s) {
         grpc::ClientContext ctx;
         pb::ListContactsRequest req;
         req.set_unit_id("gd.zq");
         req.set_page_token("bm90IGEgdG9rZW4");
         pb::ListContactsResponse resp;
         return s.ListContacts(&ctx, req, &resp);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "page_token"},
      {"import: mode on a later message",
       [](auto& s) {
         grpc::ClientContext ctx;
         pb::ImportUnitsResponse resp;
         auto w = s.ImportUnits(&ctx, &resp);
         pb::ImportUnitsRequest m;
         w->Write(m);
         m.set_mode(pb::ImportUnitsRequest::VALID_ROWS_ONLY);
         w->Write(m);
         w->WritesDone();
         return w->Finish();
       },
       grpc::StatusCode::INVALID_ARGUMENT, "mode"},
      {"list contacts: unknown unit",
       [](auto& s) {
         grpc::ClientContext ctx;
         pb::ListContactsRequest req;
         req.set_unit_id("zz");
         pb::ListContactsResponse resp;
         return s.ListContacts(&ctx, req, &resp);
       },
       grpc::StatusCode::NOT_FOUND, "unit_id"},
      {"end contact: before start",
       [&](auto& s) {
         grpc::ClientContext ctx;
         pb::EndContactRequest req;
         req.set_id(contact.id());
         req.mutable_end_time()->set_seconds(1);
         pb::Contact resp;
         return s.EndContact(&ctx, req, &resp);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "end_time"},
      {"hand over: different role",
       [&](auto& s) {
         grpc::ClientContext ctx;
         pb::HandOverContactRequest req;
         req.set_old_contact_id(contact.id());
         req.mutable_successor()->set_person_name("李四");
         req.mutable_successor()->set_email("l@example.gov.cn");
         req.mutable_successor()->set_role(pb::CONTACT_ROLE_HEAD);
         pb::HandOverContactResponse resp;
         return s.HandOverContact(&ctx, req, &resp);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "successor.role"},
      {"resolve: empty",
       [](auto& s) {
         grpc::ClientContext ctx;
         pb::ResolveRecipientsRequest req;
         pb::ResolveRecipientsResponse resp;
         return s.ResolveRecipients(&ctx, req, &resp);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "queries"},
      {"resolve: bad level",
       [](auto& s) {
         grpc::ClientContext ctx;
         pb::ResolveRecipientsRequest req;
         auto* q = req.add_queries();
         q->set_unit_id("gd");
         q->set_level(33);
         pb::ResolveRecipientsResponse resp;
         return s.ResolveRecipients(&ctx, req, &resp);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "queries[0].level"},
  };
  for (const auto& c : cases) {
    grpc::Status s = c.call(*stub_);
    EXPECT_EQ(s.error_code(), c.code) << c.name << ": " << s.error_message();
    auto fields = ViolatedFields(s);
    EXPECT_NE(std::find(fields.begin(), fields.end(), c.field), fields.end())
        << c.name << ": expected field " << c.field;
    EXPECT_FALSE(s.error_message().empty()) << c.name;
  }
  EXPECT_EQ(Snapshot(), before);
}

// A WatchUnits stream read on its own thread. It records every change message and, when
// `ack` is set, acknowledges each one as duban-tasks does.
class Watch {
 public:
  Watch(pb::UnitService::Stub& stub, int heartbeat_ms, bool ack) : stub_(stub), ack_(ack) {
    pb::WatchUnitsRequest req;
    req.set_heartbeat_ms(heartbeat_ms);
    reader_ = stub_.WatchUnits(&ctx_, req);
    pb::UnitChanges first;
    confirmed_ = reader_->Read(&first) && first.seq() == 0 && !first.watch_id().empty();
    watch_id_ = first.watch_id();
    thread_ = std::thread([this] { Run(); });
  }
  ~Watch() { Finish(); }

  // Cancels the stream (if still open) and returns how it ended.
  grpc::Status Finish() {
    if (thread_.joinable()) {
      ctx_.TryCancel();
      thread_.join();
    }
    return status_;
  }
  // Waits for the stream to end on its own (the server ended it).
  grpc::Status WaitForEnd() {
    if (thread_.joinable()) thread_.join();
    return status_;
  }
  bool confirmed() const { return confirmed_; }
  const std::string& watch_id() const { return watch_id_; }
  std::vector<pb::UnitChanges> changes() {
    std::lock_guard<std::mutex> lock(mu_);
    return changes_;
  }
  int heartbeats() {
    std::lock_guard<std::mutex> lock(mu_);
    return heartbeats_;
  }

 private:
  void Run() {
    pb::UnitChanges m;
    while (reader_->Read(&m)) {
      if (m.seq() == 0) {
        std::lock_guard<std::mutex> lock(mu_);
        ++heartbeats_;
        continue;
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        changes_.push_back(m);
      }
      if (!ack_) continue;
      grpc::ClientContext ctx;
      pb::AckUnitChangesRequest req;
      req.set_watch_id(m.watch_id());
      req.set_seq(m.seq());
      pb::AckUnitChangesResponse resp;
      EXPECT_TRUE(stub_.AckUnitChanges(&ctx, req, &resp).ok());
    }
    status_ = reader_->Finish();
  }

  pb::UnitService::Stub& stub_;
  const bool ack_;
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReader<pb::UnitChanges>> reader_;
  bool confirmed_ = false;
  std::string watch_id_;
  std::mutex mu_;
  std::vector<pb::UnitChanges> changes_;
  int heartbeats_ = 0;
  grpc::Status status_;
  std::thread thread_;
};

grpc::Status Archive(pb::UnitService::Stub& stub, const std::string& id, bool cascade = false) {
  grpc::ClientContext ctx;
  pb::ArchiveUnitRequest req;
  req.set_id(id);
  req.set_cascade(cascade);
  pb::Unit resp;
  return stub.ArchiveUnit(&ctx, req, &resp);
}

TEST_F(UnitGrpcTest, WatchNamesEachChangedUnitAndNothingElse) {
  ASSERT_TRUE(CreateUnit("zq", "").ok());
  ASSERT_TRUE(CreateUnit("zq.a", "zq").ok());
  ASSERT_TRUE(CreateUnit("zq.b", "zq").ok());
  ASSERT_TRUE(CreateUnit("gz", "").ok());
  Watch w(*stub_, 100, /*ack=*/true);
  ASSERT_TRUE(w.confirmed());

  // New units and contacts are nobody's cached data: no message.
  ASSERT_TRUE(CreateUnit("zq.c", "zq").ok());
  AddContact("zq.a", pb::CONTACT_ROLE_LIAISON, "王芳");
  {
    grpc::ClientContext ctx;
    pb::UpdateUnitRequest req;
    req.mutable_unit()->set_id("zq.a");
    req.mutable_unit()->add_tags("五区");
    req.mutable_update_mask()->add_paths("tags");
    pb::Unit resp;
    ASSERT_TRUE(stub_->UpdateUnit(&ctx, req, &resp).ok());
  }
  ASSERT_TRUE(Archive(*stub_, "zq.b").ok());
  {
    grpc::ClientContext ctx;
    pb::RestoreUnitRequest req;
    req.set_id("zq.b");
    pb::Unit resp;
    ASSERT_TRUE(stub_->RestoreUnit(&ctx, req, &resp).ok());
  }
  {
    grpc::ClientContext ctx;
    pb::MoveUnitRequest req;
    req.set_id("zq.c");
    req.set_new_parent_id("gz");
    pb::Unit resp;
    ASSERT_TRUE(stub_->MoveUnit(&ctx, req, &resp).ok());
  }
  ASSERT_TRUE(Archive(*stub_, "gz", /*cascade=*/true).ok());

  // Each write returned only after its change was acknowledged: all are recorded already.
  auto changes = w.changes();
  ASSERT_EQ(changes.size(), 5u);
  std::vector<std::string> named;
  int64_t last_seq = 0;
  for (const auto& c : changes) {
    EXPECT_EQ(c.watch_id(), w.watch_id());
    EXPECT_GT(c.seq(), last_seq);
    last_seq = c.seq();
    named.push_back(c.all_units() ? "*" : absl::StrJoin(c.unit_ids(), ","));
  }
  EXPECT_EQ(named, (std::vector<std::string>{"zq.a", "zq.b", "zq.b", "*", "*"}));

  std::this_thread::sleep_for(std::chrono::milliseconds(350));
  EXPECT_GE(w.heartbeats(), 2) << "a heartbeat every 100 ms while nothing changes";
  EXPECT_EQ(w.Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(UnitGrpcTest, AWriteReturnsOnlyAfterTheWatcherAcknowledged) {
  ASSERT_TRUE(CreateUnit("zq", "").ok());
  ASSERT_TRUE(CreateUnit("zq.a", "zq").ok());
  Watch w(*stub_, 100, /*ack=*/false);
  ASSERT_TRUE(w.confirmed());
  auto archive = std::async(std::launch::async, [&] { return Archive(*stub_, "zq.a"); });
  for (int i = 0; i < 200 && w.changes().empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(w.changes().size(), 1u);
  EXPECT_EQ(archive.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout)
      << "ArchiveUnit returned before its change was acknowledged";

  grpc::ClientContext ctx;
  pb::AckUnitChangesRequest req;
  req.set_watch_id(w.watch_id());
  req.set_seq(w.changes()[0].seq());
  pb::AckUnitChangesResponse resp;
  ASSERT_TRUE(stub_->AckUnitChanges(&ctx, req, &resp).ok());
  ASSERT_EQ(archive.wait_for(std::chrono::seconds(2)), std::future_status::ready);
  EXPECT_TRUE(archive.get().ok());
  EXPECT_EQ(service_->watchers(), 1u);
}

TEST_F(UnitGrpcTest, ASilentWatcherIsDroppedAfterItsLeaseAndTheWriteGoesOn) {
  ASSERT_TRUE(CreateUnit("zq", "").ok());
  ASSERT_TRUE(CreateUnit("zq.a", "zq").ok());
  Watch w(*stub_, 100, /*ack=*/false);
  ASSERT_TRUE(w.confirmed());
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(Archive(*stub_, "zq.a").ok());
  const auto waited = std::chrono::steady_clock::now() - start;
  // 3 heartbeats + 1 s of grace.
  EXPECT_GE(waited, std::chrono::milliseconds(1250));
  EXPECT_LT(waited, std::chrono::seconds(10));
  EXPECT_EQ(w.WaitForEnd().error_code(), grpc::StatusCode::UNAVAILABLE);
  for (int i = 0; i < 200 && service_->watchers() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(service_->watchers(), 0u);
  // With nobody watching, writes do not wait.
  const auto again = std::chrono::steady_clock::now();
  grpc::ClientContext ctx;
  pb::RestoreUnitRequest req;
  req.set_id("zq.a");
  pb::Unit resp;
  EXPECT_TRUE(stub_->RestoreUnit(&ctx, req, &resp).ok());
  EXPECT_LT(std::chrono::steady_clock::now() - again, std::chrono::milliseconds(1000));
}

TEST_F(UnitGrpcTest, WatchAndAckRejectBadInput) {
  for (int hb : {-1, 99, 10001}) {
    grpc::ClientContext ctx;
    pb::WatchUnitsRequest req;
    req.set_heartbeat_ms(hb);
    auto reader = stub_->WatchUnits(&ctx, req);
    pb::UnitChanges m;
    EXPECT_FALSE(reader->Read(&m));
    grpc::Status s = reader->Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << hb;
    EXPECT_EQ(ViolatedFields(s), std::vector<std::string>{"heartbeat_ms"}) << hb;
  }
  Watch w(*stub_, 100, /*ack=*/false);
  ASSERT_TRUE(w.confirmed());
  struct Case {
    std::string watch_id;
    int64_t seq;
    grpc::StatusCode code;
    std::string field;
  };
  const std::vector<Case> cases = {
      {"", 1, grpc::StatusCode::INVALID_ARGUMENT, "watch_id"},
      {std::string(65, 'w'), 1, grpc::StatusCode::INVALID_ARGUMENT, "watch_id"},
      {w.watch_id(), 0, grpc::StatusCode::INVALID_ARGUMENT, "seq"},
      {w.watch_id(), 1, grpc::StatusCode::INVALID_ARGUMENT, "seq"},  // nothing sent yet
      {"w999999", 1, grpc::StatusCode::NOT_FOUND, "watch_id"},
  };
  for (const auto& c : cases) {
    grpc::ClientContext ctx;
    pb::AckUnitChangesRequest req;
    req.set_watch_id(c.watch_id);
    req.set_seq(c.seq);
    pb::AckUnitChangesResponse resp;
    grpc::Status s = stub_->AckUnitChanges(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), c.code) << c.watch_id << " " << c.seq;
    EXPECT_EQ(ViolatedFields(s), std::vector<std::string>{c.field}) << c.watch_id << " " << c.seq;
  }
  EXPECT_EQ(service_->watchers(), 1u);
}

}  // namespace
}  // namespace duban::units
