#pragma once
// Conversions between the index's records and the API's messages (proto/vigil.proto), and between
// Status and the API's Error. Requests are validated by the store; conversion only maps names
// (event types, colours, states) and reports the ones it does not know.

#include "base/status.h"
#include "index/store.h"
#include "proto/vigil.pb.h"

namespace vigil::api {

namespace pb = ::vigil::api::v1;

pb::Error ToError(const Status& status);

// A message as JSON with the .proto's field names and every field present (64-bit integers as
// strings, per protobuf's JSON mapping): one line, or indented for files people read.
std::string ToJson(const google::protobuf::Message& message, bool multiline = false);
Status FromError(const pb::Error& error);

index::TimeRange FromPb(const pb::TimeRange& r);
std::optional<index::Area> FromPb(const pb::Area& a, bool present);
index::PageRequest FromPb(const pb::Page& p, bool present);
index::Camera FromPb(const pb::Camera& c);
Result<std::vector<index::EventType>> EventTypesFromPb(
    const google::protobuf::RepeatedPtrField<std::string>& names);
Result<std::vector<index::ObjectClass>> ObjectClassesFromPb(
    const google::protobuf::RepeatedPtrField<std::string>& names);

void ToPb(const index::Camera& c, pb::Camera* out);
void ToPb(const index::Event& e, pb::Event* out);
void ToPb(const index::PlateRead& r, pb::PlateRead* out);
void ToPb(const index::Alert& a, pb::Alert* out);
void ToPb(const index::WatchEntry& w, pb::WatchEntry* out);
void ToPb(const index::FootageSpan& s, pb::Span* out);
void ToPb(const index::Gap& g, pb::Gap* out);
void ToPb(const index::ResponseZone& z, pb::Zone* out);
void ToPb(const index::AlertStats& s, pb::AlertStatsRow* out);

index::Event FromPb(const pb::Event& e);
index::PlateRead FromPb(const pb::PlateRead& r);
index::Alert FromPb(const pb::Alert& a);
index::ResponseZone FromPb(const pb::Zone& z);
index::AlertStats FromPb(const pb::AlertStatsRow& r);

}  // namespace vigil::api
