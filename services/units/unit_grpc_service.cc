#include "unit_grpc_service.h"

#include <absl/strings/str_cat.h>

#include "duban/status.h"
#include "duban/time_util.h"
#include "unit_proto_convert.h"

namespace duban::units {
namespace {

std::vector<std::string> MaskPaths(const google::protobuf::FieldMask& mask) {
  return {mask.paths().begin(), mask.paths().end()};
}

// Checks a timestamp field is representable.
void CheckTime(const google::protobuf::Timestamp& ts, const std::string& field,
               FieldViolations& v) {
  v.AddIfError(field, ValidateTimestamp(ts));
}

std::optional<int64_t> OptionalMicros(bool has, const google::protobuf::Timestamp& ts) {
  return has ? std::optional<int64_t>(ProtoToMicros(ts)) : std::nullopt;
}

// Timestamps of a contact message must be representable before conversion.
absl::Status CheckContactTimes(const pb::Contact& c, const std::string& prefix) {
  FieldViolations v;
  if (c.has_valid_from()) CheckTime(c.valid_from(), prefix + "valid_from", v);
  if (c.has_valid_to()) CheckTime(c.valid_to(), prefix + "valid_to", v);
  return v.ToStatus();
}

}  // namespace

grpc::Status UnitGrpcService::CreateUnit(grpc::ServerContext*, const pb::CreateUnitRequest* req,
                                         pb::Unit* resp) {
  auto unit = directory_.CreateUnit(FromProto(req->unit()), req->request_id());
  if (!unit.ok()) return ToGrpcStatus(unit.status());
  ToProto(*unit, resp);
  return grpc::Status::OK;
}

grpc::Status UnitGrpcService::GetUnit(grpc::ServerContext*, const pb::GetUnitRequest* req,
                                      pb::Unit* resp) {
  auto unit = directory_.GetUnit(req->id());
  if (!unit.ok()) return ToGrpcStatus(unit.status());
  ToProto(*unit, resp);
  return grpc::Status::OK;
}

grpc::Status UnitGrpcService::BatchGetUnits(grpc::ServerContext*,
                                            const pb::BatchGetUnitsRequest* req,
                                            pb::BatchGetUnitsResponse* resp) {
  auto result = directory_.BatchGetUnits({req->ids().begin(), req->ids().end()});
  if (!result.ok()) return ToGrpcStatus(result.status());
  for (const auto& u : result->units) ToProto(u, resp->add_units());
  for (const auto& id : result->missing_ids) resp->add_missing_ids(id);
  return grpc::Status::OK;
}

grpc::Status UnitGrpcService::UpdateUnit(grpc::ServerContext*, const pb::UpdateUnitRequest* req,
                                         pb::Unit* resp) {
  auto unit =
      directory_.UpdateUnit(FromProto(req->unit()), MaskPaths(req->update_mask()), req->etag());
  if (!unit.ok()) return ToGrpcStatus(unit.status());
  ToProto(*unit, resp);
  return grpc::Status::OK;
}

grpc::Status UnitGrpcService::MoveUnit(grpc::ServerContext*, const pb::MoveUnitRequest* req,
                                       pb::Unit* resp) {
  auto unit = directory_.MoveUnit(req->id(), req->new_parent_id(), req->etag());
  if (!unit.ok()) return ToGrpcStatus(unit.status());
  ToProto(*unit, resp);
  return grpc::Status::OK;
}

grpc::Status UnitGrpcService::ArchiveUnit(grpc::ServerContext*, const pb::ArchiveUnitRequest* req,
                                          pb::Unit* resp) {
  auto unit = directory_.ArchiveUnit(req->id(), req->cascade(), req->etag());
  if (!unit.ok()) return ToGrpcStatus(unit.status());
  ToProto(*unit, resp);
  return grpc::Status::OK;
}

grpc::Status UnitGrpcService::RestoreUnit(grpc::ServerContext*, const pb::RestoreUnitRequest* req,
                                          pb::Unit* resp) {
  auto unit = directory_.RestoreUnit(req->id(), req->etag());
  if (!unit.ok()) return ToGrpcStatus(unit.status());
  ToProto(*unit, resp);
  return grpc::Status::OK;
}

grpc::ServerUnaryReactor* UnitGrpcService::ListUnits(grpc::CallbackServerContext* context,
                                                     const pb::ListUnitsRequest* req,
                                                     pb::ListUnitsResponse* resp) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(DoListUnits(req, resp));
  return reactor;
}

grpc::Status UnitGrpcService::DoListUnits(const pb::ListUnitsRequest* req,
                                          pb::ListUnitsResponse* resp) {
  ListUnitsQuery q;
  q.page_size = req->page_size();
  q.page_token = req->page_token();
  q.filter.parent_id = req->parent_id();
  q.subtree_of = req->subtree_of();
  q.filter.roots_only = req->roots_only();
  for (int k : req->kinds()) q.filter.kinds.push_back(static_cast<UnitKind>(k));
  q.filter.tag = req->tag();
  q.filter.include_archived = req->include_archived();
  auto page = directory_.ListUnits(q);
  if (!page.ok()) return ToGrpcStatus(page.status());
  resp->mutable_units()->Reserve(static_cast<int>(page->units.size()));
  for (const auto& u : page->units) ToProto(*u, resp->add_units());
  resp->set_next_page_token(page->next_page_token);
  return grpc::Status::OK;
}

grpc::Status UnitGrpcService::CountUnits(grpc::ServerContext*, const pb::CountUnitsRequest* req,
                                         pb::CountUnitsResponse* resp) {
  auto counts = directory_.CountUnits(req->root_id(), req->include_archived(), req->tag());
  if (!counts.ok()) return ToGrpcStatus(counts.status());
  int64_t total = 0;
  for (const auto& kc : *counts) {
    auto* out = resp->add_counts();
    out->set_kind(static_cast<pb::UnitKind>(kc.kind));
    out->set_count(kc.count);
    total += kc.count;
  }
  resp->set_total(total);
  return grpc::Status::OK;
}

grpc::Status UnitGrpcService::ImportUnits(grpc::ServerContext*,
                                          grpc::ServerReader<pb::ImportUnitsRequest>* reader,
                                          pb::ImportUnitsResponse* resp) {
  std::vector<ImportRow> rows;
  pb::ImportUnitsRequest msg;
  pb::ImportUnitsRequest::Mode mode = pb::ImportUnitsRequest::MODE_UNSPECIFIED;
  int64_t message_index = 0;
  while (reader->Read(&msg)) {
    if (message_index == 0) {
      mode = msg.mode();
    } else if (msg.mode() != pb::ImportUnitsRequest::MODE_UNSPECIFIED) {
      return ToGrpcStatus(InvalidField("mode", "may be set on the first message only"));
    }
    ++message_index;
    if (rows.size() + msg.units_size() > kMaxImportRows) {
      return ToGrpcStatus(
          InvalidField("units", absl::StrCat("at most ", kMaxImportRows, " rows per import")));
    }
    for (const auto& u : msg.units()) {
      rows.push_back({static_cast<int64_t>(rows.size()) + 1, FromProto(u)});
    }
  }
  if (mode != pb::ImportUnitsRequest::MODE_UNSPECIFIED &&
      mode != pb::ImportUnitsRequest::ALL_OR_NOTHING &&
      mode != pb::ImportUnitsRequest::VALID_ROWS_ONLY) {
    return ToGrpcStatus(InvalidField("mode", "unknown import mode"));
  }
  auto result = directory_.ImportUnits(
      std::move(rows), mode == pb::ImportUnitsRequest::VALID_ROWS_ONLY ? ImportMode::kValidRowsOnly
                                                                       : ImportMode::kAllOrNothing);
  if (!result.ok()) return ToGrpcStatus(result.status());
  resp->set_rows_received(result->rows_received);
  resp->set_created(result->created);
  resp->set_updated(result->updated);
  resp->set_unchanged(result->unchanged);
  resp->set_rejected(result->rejected);
  resp->set_applied(result->applied);
  for (const auto& e : result->errors) {
    auto* out = resp->add_errors();
    out->set_row(e.row);
    out->set_unit_id(e.unit_id);
    out->set_field(e.field);
    out->set_description(e.description);
  }
  return grpc::Status::OK;
}

grpc::Status UnitGrpcService::AddContact(grpc::ServerContext*, const pb::AddContactRequest* req,
                                         pb::Contact* resp) {
  if (auto s = CheckContactTimes(req->contact(), "contact."); !s.ok()) return ToGrpcStatus(s);
  auto contact = directory_.AddContact(FromProto(req->contact()), req->request_id());
  if (!contact.ok()) return ToGrpcStatus(contact.status());
  ToProto(*contact, resp);
  return grpc::Status::OK;
}

grpc::Status UnitGrpcService::GetContact(grpc::ServerContext*, const pb::GetContactRequest* req,
                                         pb::Contact* resp) {
  auto contact = directory_.GetContact(req->id());
  if (!contact.ok()) return ToGrpcStatus(contact.status());
  ToProto(*contact, resp);
  return grpc::Status::OK;
}

grpc::Status UnitGrpcService::UpdateContact(grpc::ServerContext*,
                                            const pb::UpdateContactRequest* req,
                                            pb::Contact* resp) {
  if (auto s = CheckContactTimes(req->contact(), "contact."); !s.ok()) return ToGrpcStatus(s);
  auto contact = directory_.UpdateContact(FromProto(req->contact()), MaskPaths(req->update_mask()),
                                          req->etag());
  if (!contact.ok()) return ToGrpcStatus(contact.status());
  ToProto(*contact, resp);
  return grpc::Status::OK;
}

grpc::Status UnitGrpcService::ListContacts(grpc::ServerContext*, const pb::ListContactsRequest* req,
                                           pb::ListContactsResponse* resp) {
  FieldViolations v;
  if (req->has_at()) CheckTime(req->at(), "at", v);
  if (!v.empty()) return ToGrpcStatus(v.ToStatus());
  ListContactsQuery q;
  q.unit_id = req->unit_id();
  q.role = static_cast<ContactRole>(req->role());
  q.include_history = req->include_history();
  q.at_us = OptionalMicros(req->has_at(), req->at());
  q.page_size = req->page_size();
  q.page_token = req->page_token();
  auto page = directory_.ListContacts(q);
  if (!page.ok()) return ToGrpcStatus(page.status());
  for (const auto& c : page->contacts) ToProto(c, resp->add_contacts());
  resp->set_next_page_token(page->next_page_token);
  return grpc::Status::OK;
}

grpc::Status UnitGrpcService::EndContact(grpc::ServerContext*, const pb::EndContactRequest* req,
                                         pb::Contact* resp) {
  FieldViolations v;
  if (req->has_end_time()) CheckTime(req->end_time(), "end_time", v);
  if (!v.empty()) return ToGrpcStatus(v.ToStatus());
  auto contact = directory_.EndContact(
      req->id(), OptionalMicros(req->has_end_time(), req->end_time()), req->etag());
  if (!contact.ok()) return ToGrpcStatus(contact.status());
  ToProto(*contact, resp);
  return grpc::Status::OK;
}

grpc::Status UnitGrpcService::HandOverContact(grpc::ServerContext*,
                                              const pb::HandOverContactRequest* req,
                                              pb::HandOverContactResponse* resp) {
  FieldViolations v;
  if (req->has_effective_time()) CheckTime(req->effective_time(), "effective_time", v);
  if (!v.empty()) return ToGrpcStatus(v.ToStatus());
  if (auto s = CheckContactTimes(req->successor(), "successor."); !s.ok()) {
    return ToGrpcStatus(s);
  }
  auto result = directory_.HandOverContact(
      req->old_contact_id(), FromProto(req->successor()),
      OptionalMicros(req->has_effective_time(), req->effective_time()), req->request_id());
  if (!result.ok()) return ToGrpcStatus(result.status());
  ToProto(result->ended, resp->mutable_ended());
  ToProto(result->successor, resp->mutable_successor());
  return grpc::Status::OK;
}

grpc::Status UnitGrpcService::ResolveRecipients(grpc::ServerContext*,
                                                const pb::ResolveRecipientsRequest* req,
                                                pb::ResolveRecipientsResponse* resp) {
  FieldViolations v;
  if (req->has_at()) CheckTime(req->at(), "at", v);
  if (!v.empty()) return ToGrpcStatus(v.ToStatus());
  std::vector<RecipientQuery> queries;
  queries.reserve(req->queries_size());
  for (const auto& q : req->queries()) queries.push_back({q.unit_id(), q.level()});
  auto result = directory_.ResolveRecipients(queries, OptionalMicros(req->has_at(), req->at()));
  if (!result.ok()) return ToGrpcStatus(result.status());
  for (const auto& r : *result) {
    auto* out = resp->add_resolutions();
    out->set_unit_id(r.unit_id);
    out->set_level(r.level);
    out->set_resolved_unit_id(r.resolved_unit_id);
    out->set_resolved_role(static_cast<pb::ContactRole>(r.resolved_role));
    out->set_capped_at_root(r.capped_at_root);
    out->set_unit_not_found(r.unit_not_found);
    out->set_reason(r.reason);
    for (const auto& c : r.recipients) {
      auto* rec = out->add_recipients();
      rec->set_contact_id(c.id);
      rec->set_unit_id(c.unit_id);
      rec->set_person_name(c.person_name);
      rec->set_role(static_cast<pb::ContactRole>(c.role));
      rec->set_email(c.email);
      rec->set_mobile(c.mobile);
      rec->set_webhook_url(c.webhook_url);
      rec->set_locale(c.locale);
    }
  }
  return grpc::Status::OK;
}

}  // namespace duban::units

namespace duban::units {

grpc::Status UnitGrpcService::WatchUnits(grpc::ServerContext* ctx,
                                         const pb::WatchUnitsRequest* req,
                                         grpc::ServerWriter<pb::UnitChanges>* writer) {
  const int heartbeat_ms = req->heartbeat_ms() == 0 ? 500 : req->heartbeat_ms();
  if (heartbeat_ms < 100 || heartbeat_ms > 10000) {
    return ToGrpcStatus(InvalidField("heartbeat_ms", "must be 100-10000 (0 means 500)"));
  }
  std::shared_ptr<UnitWatchers::Watcher> w =
      watchers_.Subscribe(std::chrono::milliseconds(heartbeat_ms));
  struct Leave {
    UnitWatchers& all;
    std::shared_ptr<UnitWatchers::Watcher> w;
    ~Leave() { all.Unsubscribe(w); }
  } leave{watchers_, w};
  const std::string& id = UnitWatchers::IdOf(*w);
  pb::UnitChanges msg;
  msg.set_watch_id(id);
  // The subscription is in place before this first message leaves: every later change reaches
  // the watcher.
  if (!writer->Write(msg)) return grpc::Status(grpc::StatusCode::CANCELLED, "watch ended");
  while (!ctx->IsCancelled()) {
    auto next = watchers_.Next(*w);
    if (!next.ok()) return ToGrpcStatus(next.status());
    msg.Clear();
    msg.set_watch_id(id);
    if (*next) {
      msg.set_seq((*next)->seq);
      msg.set_all_units((*next)->all_units);
      for (auto& u : (*next)->unit_ids) msg.add_unit_ids(std::move(u));
    }
    if (!writer->Write(msg)) break;
  }
  return grpc::Status(grpc::StatusCode::CANCELLED, "watch ended");
}

grpc::ServerUnaryReactor* UnitGrpcService::AckUnitChanges(grpc::CallbackServerContext* context,
                                                          const pb::AckUnitChangesRequest* req,
                                                          pb::AckUnitChangesResponse*) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  FieldViolations v;
  if (req->watch_id().empty()) v.Add("watch_id", "is required");
  if (req->watch_id().size() > 64) v.Add("watch_id", "is not a watch this service issued");
  if (req->seq() < 1) v.Add("seq", "must be at least 1");
  // Never blocks: it only records the acknowledgement and wakes the waiting writes.
  reactor->Finish(ToGrpcStatus(v.empty() ? watchers_.Ack(req->watch_id(), req->seq())
                                         : v.ToStatus()));
  return reactor;
}

}  // namespace duban::units
