#include "unit_proto_convert.h"

#include "duban/time_util.h"

namespace duban::units {

namespace pb = ::duban::units::v1;

void ToProto(const Unit& in, pb::Unit* out) {
  out->set_id(in.id);
  out->set_name(in.name);
  out->set_kind(static_cast<pb::UnitKind>(in.kind));
  out->set_parent_id(in.parent_id);
  for (const auto& t : in.tags) out->add_tags(t);
  out->set_timezone(in.timezone);
  out->set_archived(in.archived);
  out->set_etag(EtagOf(in.revision));
  SetTimestampMicros(in.create_us, out->mutable_create_time());
  SetTimestampMicros(in.update_us, out->mutable_update_time());
  out->set_depth(in.depth);
}

Unit FromProto(const pb::Unit& in) {
  Unit u;
  u.id = in.id();
  u.name = in.name();
  u.kind = static_cast<UnitKind>(in.kind());
  u.parent_id = in.parent_id();
  u.tags.assign(in.tags().begin(), in.tags().end());
  u.timezone = in.timezone();
  return u;
}

void ToProto(const Contact& in, pb::Contact* out) {
  out->set_id(in.id);
  out->set_unit_id(in.unit_id);
  out->set_person_name(in.person_name);
  out->set_role(static_cast<pb::ContactRole>(in.role));
  out->set_email(in.email);
  out->set_mobile(in.mobile);
  out->set_webhook_url(in.webhook_url);
  out->set_locale(in.locale);
  SetTimestampMicros(in.valid_from_us, out->mutable_valid_from());
  if (in.valid_to_us) SetTimestampMicros(*in.valid_to_us, out->mutable_valid_to());
  out->set_etag(EtagOf(in.revision));
  SetTimestampMicros(in.create_us, out->mutable_create_time());
  SetTimestampMicros(in.update_us, out->mutable_update_time());
}

Contact FromProto(const pb::Contact& in) {
  Contact c;
  c.id = in.id();
  c.unit_id = in.unit_id();
  c.person_name = in.person_name();
  c.role = static_cast<ContactRole>(in.role());
  c.email = in.email();
  c.mobile = in.mobile();
  c.webhook_url = in.webhook_url();
  c.locale = in.locale();
  if (in.has_valid_from()) c.valid_from_us = ProtoToMicros(in.valid_from());
  if (in.has_valid_to()) c.valid_to_us = ProtoToMicros(in.valid_to());
  return c;
}

}  // namespace duban::units
