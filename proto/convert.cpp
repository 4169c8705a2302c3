#include "proto/convert.h"

#include <google/protobuf/util/json_util.h>

#include <fmt/format.h>

namespace vigil::api {

std::string ToJson(const google::protobuf::Message& message, bool multiline) {
  google::protobuf::util::JsonPrintOptions o;
  o.add_whitespace = multiline;
  o.always_print_primitive_fields = true;
  o.preserve_proto_field_names = true;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(message, &out, o);
  return out;
}
namespace {

constexpr std::pair<StatusCode, pb::Error::Code> kCodes[] = {
    {StatusCode::kInvalidArgument, pb::Error::INVALID_ARGUMENT},
    {StatusCode::kNotFound, pb::Error::NOT_FOUND},
    {StatusCode::kAlreadyExists, pb::Error::ALREADY_EXISTS},
    {StatusCode::kFailedPrecondition, pb::Error::FAILED_PRECONDITION},
    {StatusCode::kUnavailable, pb::Error::UNAVAILABLE},
    {StatusCode::kDataLoss, pb::Error::DATA_LOSS},
    {StatusCode::kResourceExhausted, pb::Error::RESOURCE_EXHAUSTED},
    {StatusCode::kIOError, pb::Error::IO_ERROR},
    {StatusCode::kInternal, pb::Error::INTERNAL},
    {StatusCode::kUnauthenticated, pb::Error::UNAUTHENTICATED},
    {StatusCode::kPermissionDenied, pb::Error::PERMISSION_DENIED},
};

pb::Box ToBox(const index::Box& b) {
  pb::Box out;
  out.set_x(b.x);
  out.set_y(b.y);
  out.set_w(b.w);
  out.set_h(b.h);
  return out;
}

index::Box FromBox(const pb::Box& b) { return {b.x(), b.y(), b.w(), b.h()}; }

}  // namespace

pb::Error ToError(const Status& status) {
  pb::Error e;
  e.set_code(pb::Error::UNKNOWN);
  for (auto [from, to] : kCodes) {
    if (status.code() == from) e.set_code(to);
  }
  e.set_message(status.message());
  return e;
}

Status FromError(const pb::Error& error) {
  for (auto [to, from] : kCodes) {
    if (error.code() == from) return Status(to, error.message());
  }
  if (error.code() == pb::Error::MALFORMED || error.code() == pb::Error::UNKNOWN_REQUEST) {
    return Status::InvalidArgument(error.message());
  }
  return Status::Internal(error.message());
}

index::TimeRange FromPb(const pb::TimeRange& r) { return {r.from_ns(), r.to_ns()}; }

std::optional<index::Area> FromPb(const pb::Area& a, bool present) {
  if (!present) return std::nullopt;
  index::Area out;
  out.center = {a.center().lat(), a.center().lon()};
  out.radius_m = a.radius_m();
  for (const auto& p : a.polygon()) out.polygon.push_back({p.lat(), p.lon()});
  return out;
}

index::PageRequest FromPb(const pb::Page& p, bool present) {
  index::PageRequest out;
  if (present) {
    if (p.limit() != 0) out.limit = p.limit();
    out.token = p.page_token();
  }
  return out;
}

index::Camera FromPb(const pb::Camera& c) {
  index::Camera out;
  out.id = c.id();
  out.name = c.name();
  out.main_url = c.main_url();
  out.sub_url = c.sub_url();
  out.lat = c.lat();
  out.lon = c.lon();
  out.place = c.place();
  out.district = c.district();
  out.tags.assign(c.tags().begin(), c.tags().end());
  return out;
}

Result<std::vector<index::EventType>> EventTypesFromPb(
    const google::protobuf::RepeatedPtrField<std::string>& names) {
  std::vector<index::EventType> out;
  for (const auto& n : names) {
    auto t = index::ParseEventType(n);
    if (!t) {
      std::string known;
      for (auto k : index::AllEventTypes()) known += fmt::format("{}{}", known.empty() ? "" : ", ", index::EventTypeName(k));
      return Status::InvalidArgument(fmt::format(
          "unknown event type '{}' (known: {}; what the object is — person, vehicle, two_wheeler, "
          "other — is a class filter)", n, known));
    }
    out.push_back(*t);
  }
  return out;
}

Result<std::vector<index::ObjectClass>> ObjectClassesFromPb(
    const google::protobuf::RepeatedPtrField<std::string>& names) {
  std::vector<index::ObjectClass> out;
  for (const auto& n : names) {
    auto c = index::ParseObjectClass(n);
    if (!c) {
      return Status::InvalidArgument(
          fmt::format("unknown object class '{}' (person, vehicle, two_wheeler or other)", n));
    }
    out.push_back(*c);
  }
  return out;
}

void ToPb(const index::Camera& c, pb::Camera* out) {
  out->set_id(c.id);
  out->set_name(c.name);
  out->set_main_url(c.main_url);
  out->set_sub_url(c.sub_url);
  out->set_lat(c.lat);
  out->set_lon(c.lon);
  out->set_place(c.place);
  out->set_district(c.district);
  for (const auto& t : c.tags) out->add_tags(t);
}

void ToPb(const index::Event& e, pb::Event* out) {
  out->set_id(e.id);
  out->set_camera(e.camera);
  out->set_start_ns(e.start_ns);
  out->set_end_ns(e.end_ns);
  out->set_type(std::string(index::EventTypeName(e.type)));
  out->set_code(static_cast<int>(e.type));
  out->set_zone(e.zone);
  out->set_track(e.track);
  out->set_score(e.score);
  *out->mutable_box() = ToBox(e.box);
  out->set_snapshot(e.snapshot);
  out->set_attributes_json(e.attributes);
  out->set_object_class(std::string(index::ObjectClassName(e.object_class)));
  out->set_class_confidence(e.class_confidence);
}

index::Event FromPb(const pb::Event& e) {
  index::Event out;
  out.id = e.id();
  out.camera = e.camera();
  out.start_ns = e.start_ns();
  out.end_ns = e.end_ns();
  out.type = static_cast<index::EventType>(e.code());
  out.zone = e.zone();
  out.track = e.track();
  out.score = e.score();
  out.box = FromBox(e.box());
  out.snapshot = e.snapshot();
  out.attributes = e.attributes_json();
  out.object_class = index::ParseObjectClass(e.object_class()).value_or(index::ObjectClass::kUnknown);
  out.class_confidence = e.class_confidence();
  return out;
}

void ToPb(const index::PlateRead& r, pb::PlateRead* out) {
  out->set_id(r.id);
  out->set_camera(r.camera);
  out->set_time_ns(r.time_ns);
  out->set_plate(r.plate);
  out->set_color(std::string(index::PlateColorName(r.color)));
  out->set_confidence(r.confidence);
  *out->mutable_box() = ToBox(r.box);
  out->set_snapshot(r.snapshot);
  out->set_track(r.track);
}

index::PlateRead FromPb(const pb::PlateRead& r) {
  index::PlateRead out;
  out.id = r.id();
  out.camera = r.camera();
  out.time_ns = r.time_ns();
  out.plate = r.plate();
  out.color = index::ParsePlateColor(r.color()).value_or(index::PlateColor::kUnknown);
  out.confidence = r.confidence();
  out.box = FromBox(r.box());
  out.snapshot = r.snapshot();
  out.track = r.track();
  return out;
}

void ToPb(const index::Alert& a, pb::Alert* out) {
  out->set_id(a.id);
  out->set_camera(a.camera);
  out->set_time_ns(a.time_ns);
  out->set_kind(a.kind);
  out->set_message(a.message);
  out->set_event_id(a.event_id);
  out->set_plate_read_id(a.plate_read_id);
  out->set_watch_id(a.watch_id);
  out->set_state(std::string(index::AlertStateName(a.state)));
  out->set_state_by(a.state_by);
  out->set_state_ns(a.state_ns);
  out->set_note(a.note);
  out->set_zone(a.zone);
  for (const auto& u : a.units) out->add_units(u);
  out->set_raised_ns(a.raised_ns);
  out->set_acknowledged_ns(a.acknowledged_ns);
  out->set_acknowledged_by(a.acknowledged_by);
  out->set_closed_ns(a.closed_ns);
  out->set_closed_by(a.closed_by);
}

void ToPb(const index::ResponseZone& z, pb::Zone* out) {
  out->set_id(z.id);
  out->set_name(z.name);
  for (const auto& p : z.polygon) {
    auto* v = out->add_polygon();
    v->set_lat(p.lat);
    v->set_lon(p.lon);
  }
  for (const auto& u : z.units) out->add_units(u);
  out->set_updated_by(z.updated_by);
  out->set_updated_ns(z.updated_ns);
}

index::ResponseZone FromPb(const pb::Zone& z) {
  index::ResponseZone out;
  out.id = z.id();
  out.name = z.name();
  for (const auto& p : z.polygon()) out.polygon.push_back({p.lat(), p.lon()});
  out.units.assign(z.units().begin(), z.units().end());
  out.updated_by = z.updated_by();
  out.updated_ns = z.updated_ns();
  return out;
}

void ToPb(const index::AlertStats& s, pb::AlertStatsRow* out) {
  out->set_zone(s.zone);
  out->set_period_start_ns(s.period_start_ns);
  out->set_period_end_ns(s.period_end_ns);
  out->set_raised(s.raised);
  out->set_responded(s.responded);
  out->set_closed(s.closed);
  out->set_response_p50_ns(s.response_p50_ns);
  out->set_response_p90_ns(s.response_p90_ns);
  out->set_close_p50_ns(s.close_p50_ns);
  out->set_close_p90_ns(s.close_p90_ns);
  out->set_within(s.within);
  out->set_decided(s.decided);
  out->set_within_share(s.within_share);
}

index::AlertStats FromPb(const pb::AlertStatsRow& r) {
  index::AlertStats out;
  out.zone = r.zone();
  out.period_start_ns = r.period_start_ns();
  out.period_end_ns = r.period_end_ns();
  out.raised = r.raised();
  out.responded = r.responded();
  out.closed = r.closed();
  out.response_p50_ns = r.response_p50_ns();
  out.response_p90_ns = r.response_p90_ns();
  out.close_p50_ns = r.close_p50_ns();
  out.close_p90_ns = r.close_p90_ns();
  out.within = r.within();
  out.decided = r.decided();
  out.within_share = r.within_share();
  return out;
}

index::Alert FromPb(const pb::Alert& a) {
  index::Alert out;
  out.id = a.id();
  out.camera = a.camera();
  out.time_ns = a.time_ns();
  out.kind = a.kind();
  out.message = a.message();
  out.event_id = a.event_id();
  out.plate_read_id = a.plate_read_id();
  out.watch_id = a.watch_id();
  out.state = index::ParseAlertState(a.state()).value_or(index::AlertState::kNew);
  out.state_by = a.state_by();
  out.state_ns = a.state_ns();
  out.note = a.note();
  out.zone = a.zone();
  out.units.assign(a.units().begin(), a.units().end());
  out.raised_ns = a.raised_ns();
  out.acknowledged_ns = a.acknowledged_ns();
  out.acknowledged_by = a.acknowledged_by();
  out.closed_ns = a.closed_ns();
  out.closed_by = a.closed_by();
  return out;
}

void ToPb(const index::WatchEntry& w, pb::WatchEntry* out) {
  out->set_id(w.id);
  out->set_pattern(w.pattern);
  out->set_match(static_cast<pb::PlateMatch>(static_cast<int>(w.match)));
  out->set_max_substitutions(w.max_substitutions);
  out->set_reason(w.reason);
  out->set_added_by(w.added_by);
  out->set_added_ns(w.added_ns);
  out->set_priority(w.priority);
  out->set_expires_ns(w.expires_ns);
}

void ToPb(const index::FootageSpan& s, pb::Span* out) {
  out->set_camera(s.camera);
  out->set_start_ns(s.start_ns);
  out->set_end_ns(s.end_ns);
  out->set_segments(s.segments);
  out->set_bytes(s.bytes);
}

void ToPb(const index::Gap& g, pb::Gap* out) {
  out->set_camera(g.camera);
  out->set_start_ns(g.start_ns);
  out->set_end_ns(g.end_ns.value_or(0));
  out->set_reason(g.reason);
}

}  // namespace vigil::api
