#pragma once
// The thin gRPC adapter of duban-units: proto <-> domain conversion and one status conversion.
#include "duban/units/v1/units.grpc.pb.h"
#include "unit_directory.h"

namespace duban::units {

namespace pb = ::duban::units::v1;

class UnitGrpcService final : public pb::UnitService::Service {
 public:
  explicit UnitGrpcService(UnitDirectory& directory) : directory_(directory) {}

  grpc::Status CreateUnit(grpc::ServerContext*, const pb::CreateUnitRequest*, pb::Unit*) override;
  grpc::Status GetUnit(grpc::ServerContext*, const pb::GetUnitRequest*, pb::Unit*) override;
  grpc::Status BatchGetUnits(grpc::ServerContext*, const pb::BatchGetUnitsRequest*,
                             pb::BatchGetUnitsResponse*) override;
  grpc::Status UpdateUnit(grpc::ServerContext*, const pb::UpdateUnitRequest*, pb::Unit*) override;
  grpc::Status MoveUnit(grpc::ServerContext*, const pb::MoveUnitRequest*, pb::Unit*) override;
  grpc::Status ArchiveUnit(grpc::ServerContext*, const pb::ArchiveUnitRequest*, pb::Unit*) override;
  grpc::Status RestoreUnit(grpc::ServerContext*, const pb::RestoreUnitRequest*, pb::Unit*) override;
  grpc::Status ListUnits(grpc::ServerContext*, const pb::ListUnitsRequest*,
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

 private:
  UnitDirectory& directory_;
};

}  // namespace duban::units
