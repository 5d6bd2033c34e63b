#pragma once
// The thin gRPC adapter of duban-units: proto <-> domain conversion and one status conversion.
#include "duban/grpc_arena.h"
#include "duban/units/v1/units.grpc.pb.h"
#include "unit_directory.h"
#include "unit_watchers.h"

namespace duban::units {

namespace pb = ::duban::units::v1;

// ListUnits uses the callback API so that its request and response live on an arena (see
// duban/grpc_arena.h): its pages are served from memory, and building, sending and freeing
// 100 units' messages was most of its remaining cost. It never blocks for long (memory, or a
// bounded SQLite page for the parent_id and roots_only filters), as callback handlers must not.
// Every other method is synchronous on the server's bounded handler pool; a WatchUnits stream
// holds one handler thread while it lasts (one per watching service instance).
//
// AckUnitChanges is on the callback API too, and must stay there: unit writes hold their handler
// threads while they wait for acknowledgements, so an acknowledgement that needed one of those
// threads could wait for them all (seen in tests with 4 threads: "Server Threadpool Exhausted").
class UnitGrpcService final
    : public pb::UnitService::WithCallbackMethod_ListUnits<
          pb::UnitService::WithCallbackMethod_AckUnitChanges<pb::UnitService::Service>> {
 public:
  // Publishes the directory's unit changes to WatchUnits streams.
  explicit UnitGrpcService(UnitDirectory& directory) : directory_(directory) {
    SetMessageAllocatorFor_ListUnits(&list_units_allocator_);
    directory_.SetChangeListener([this](const std::vector<std::string>& ids, bool all) {
      watchers_.Publish(ids, all);
    });
  }
  ~UnitGrpcService() override {
    directory_.SetChangeListener(nullptr);
    watchers_.Close();
  }
  // Ends every WatchUnits stream; call before shutting the server down, whose grace period
  // would otherwise wait for them.
  void EndWatches() { watchers_.Close(); }

  grpc::Status CreateUnit(grpc::ServerContext*, const pb::CreateUnitRequest*, pb::Unit*) override;
  grpc::Status GetUnit(grpc::ServerContext*, const pb::GetUnitRequest*, pb::Unit*) override;
  grpc::Status BatchGetUnits(grpc::ServerContext*, const pb::BatchGetUnitsRequest*,
                             pb::BatchGetUnitsResponse*) override;
  grpc::Status UpdateUnit(grpc::ServerContext*, const pb::UpdateUnitRequest*, pb::Unit*) override;
  grpc::Status MoveUnit(grpc::ServerContext*, const pb::MoveUnitRequest*, pb::Unit*) override;
  grpc::Status ArchiveUnit(grpc::ServerContext*, const pb::ArchiveUnitRequest*, pb::Unit*) override;
  grpc::Status RestoreUnit(grpc::ServerContext*, const pb::RestoreUnitRequest*, pb::Unit*) override;
  grpc::ServerUnaryReactor* ListUnits(grpc::CallbackServerContext*, const pb::ListUnitsRequest*,
                                      pb::ListUnitsResponse*) override;
  grpc::Status CountUnits(grpc::ServerContext*, const pb::CountUnitsRequest*,
                          pb::CountUnitsResponse*) override;
  grpc::Status ImportUnits(grpc::ServerContext*, grpc::ServerReader<pb::ImportUnitsRequest>*,
                           pb::ImportUnitsResponse*) override;
  grpc::Status AddContact(grpc::ServerContext*, const pb::AddContactRequest*,
                          pb::Contact*) override;
  grpc::Status GetContact(grpc::ServerContext*, const pb::GetContactRequest*,
                          pb::Contact*) override;
  grpc::Status UpdateContact(grpc::ServerContext*, const pb::UpdateContactRequest*,
                             pb::Contact*) override;
  grpc::Status ListContacts(grpc::ServerContext*, const pb::ListContactsRequest*,
                            pb::ListContactsResponse*) override;
  grpc::Status EndContact(grpc::ServerContext*, const pb::EndContactRequest*,
                          pb::Contact*) override;
  grpc::Status HandOverContact(grpc::ServerContext*, const pb::HandOverContactRequest*,
                               pb::HandOverContactResponse*) override;
  grpc::Status ResolveRecipients(grpc::ServerContext*, const pb::ResolveRecipientsRequest*,
                                 pb::ResolveRecipientsResponse*) override;
  grpc::Status WatchUnits(grpc::ServerContext*, const pb::WatchUnitsRequest*,
                          grpc::ServerWriter<pb::UnitChanges>*) override;
  grpc::ServerUnaryReactor* AckUnitChanges(grpc::CallbackServerContext*,
                                           const pb::AckUnitChangesRequest*,
                                           pb::AckUnitChangesResponse*) override;

  size_t watchers() const { return watchers_.size(); }

 private:
  grpc::Status DoListUnits(const pb::ListUnitsRequest* req, pb::ListUnitsResponse* resp);

  UnitDirectory& directory_;
  UnitWatchers watchers_;
  ArenaMessageAllocator<pb::ListUnitsRequest, pb::ListUnitsResponse> list_units_allocator_;
};

}  // namespace duban::units
