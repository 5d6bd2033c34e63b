#pragma once
// Conversions between duban.units.v1 messages and the domain types.
#include "duban/units/v1/units.pb.h"
#include "unit_model.h"

namespace duban::units {

void ToProto(const Unit& in, ::duban::units::v1::Unit* out);
Unit FromProto(const ::duban::units::v1::Unit& in);
void ToProto(const Contact& in, ::duban::units::v1::Contact* out);
// Timestamps are checked by the caller (ValidateContactTimes) before conversion.
Contact FromProto(const ::duban::units::v1::Contact& in);

}  // namespace duban::units
