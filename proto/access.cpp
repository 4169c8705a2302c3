#include "proto/access.h"

#include <optional>
#include <utility>

#include <fmt/format.h>

namespace vigil::api {

using K = v1::Request::KindCase;

const std::vector<AccessRule>& AccessRules() {
  // operator, investigator, dispatch, admin
  static const std::vector<AccessRule> rules = {
      {K::kStatus, "status", true, true, true, true, "version, camera health"},
      {K::kCameras, "cameras", true, true, true, true, "the camera list"},
      {K::kUpsertCamera, "upsert_camera", false, false, false, true, "adds or changes a camera (empty fields keep their value; URLs carry no password)"},
      {K::kEvents, "events", true, true, false, true, "events (personal data: audited)"},
      {K::kFootage, "footage", false, true, false, true, "recorded spans and gaps (audited)"},
      {K::kPlace, "place", true, true, true, true, "cameras in an area or nearest a point"},
      {K::kPlates, "plates", false, true, false, true, "plate reads (personal data: audited)"},
      {K::kExportClip, "export_clip", false, true, true, true,
       "evidence export (audited); dispatch: an alert's clip only"},
      {K::kWatchlistAdd, "watchlist_add", false, false, false, true, "adds a wanted plate"},
      {K::kWatchlistRemove, "watchlist_remove", false, false, false, true, "removes a wanted plate"},
      {K::kWatchlist, "watchlist", false, true, false, true, "the wanted list (audited)"},
      {K::kAlerts, "alerts", true, true, true, true, "alerts (audited)"},
      {K::kAlertUpdate, "alert_update", true, false, true, true, "acknowledges or closes an alert"},
      {K::kCounts, "counts", true, true, false, true, "event counts per camera and hour"},
      {K::kExportFetch, "export_fetch", false, true, true, true,
       "the bytes of one's own export (each download audited)"},
      {K::kSnapshot, "snapshot", true, false, false, true, "a camera's live picture (audited)"},
      {K::kZones, "zones", true, true, true, true, "response zones and their units"},
      {K::kZoneUpsert, "zone_upsert", false, false, false, true, "adds or changes a zone"},
      {K::kZoneRemove, "zone_remove", false, false, false, true, "removes a zone"},
      {K::kAlertStats, "alert_stats", true, true, true, true, "response times per zone"},
      {K::kAudit, "audit", false, false, false, true, "the audit trail, verified"},
  };
  return rules;
}

bool Allowed(Role role, v1::Request::KindCase kind) {
  for (const auto& r : AccessRules()) {
    if (r.kind != kind) continue;
    switch (role) {
      case Role::kOperator: return r.operator_;
      case Role::kInvestigator: return r.investigator;
      case Role::kDispatch: return r.dispatch;
      case Role::kAdmin: return r.admin;
    }
  }
  return false;
}

std::string_view KindName(v1::Request::KindCase kind) {
  for (const auto& r : AccessRules()) {
    if (r.kind == kind) return r.request;
  }
  return "unknown";
}

std::string WhatRoleMay(Role role) {
  std::string out;
  for (const auto& r : AccessRules()) {
    if (!Allowed(role, r.kind)) continue;
    out += (out.empty() ? "" : ", ") + std::string(r.request);
  }
  return fmt::format("{} may: {}", RoleName(role), out);
}

namespace {

constexpr size_t kMaxString = 1024;
constexpr size_t kMaxText = 4096;
constexpr int kMaxItems = 10'000;

bool IsText(const google::protobuf::FieldDescriptor& f) {
  return f.name() == "note" || f.name() == "reason" || f.name() == "message";
}

Status CheckString(const google::protobuf::FieldDescriptor& f, const std::string& path,
                   const std::string& value) {
  if (f.type() == google::protobuf::FieldDescriptor::TYPE_BYTES) {
    if (value.size() > kMaxText) {
      return Status::InvalidArgument(fmt::format("{} has {} bytes: at most {}", path, value.size(), kMaxText));
    }
    return Status::Ok();
  }
  size_t limit = IsText(f) ? kMaxText : kMaxString;
  if (value.size() > limit) {
    return Status::InvalidArgument(
        fmt::format("{} has {} bytes: at most {}", path, value.size(), limit));
  }
  for (unsigned char c : value) {
    bool allowed_space = IsText(f) && (c == '\n' || c == '\t');
    if ((c < 0x20 || c == 0x7f) && !allowed_space) {
      return Status::InvalidArgument(
          fmt::format("{} holds a control character ({:#04x})", path, static_cast<int>(c)));
    }
  }
  return Status::Ok();
}

Status CheckMessage(const google::protobuf::Message& m, const std::string& prefix, int depth) {
  if (depth > 16) return Status::InvalidArgument("request nests too deep");
  const auto* reflection = m.GetReflection();
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  reflection->ListFields(m, &fields);
  for (const auto* f : fields) {
    std::string path = prefix.empty() ? std::string(f->name()) : prefix + "." + std::string(f->name());
    bool is_string = f->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_STRING;
    bool is_message = f->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE;
    if (f->is_repeated()) {
      int n = reflection->FieldSize(m, f);
      if (n > kMaxItems) {
        return Status::InvalidArgument(fmt::format("{} has {} items: at most {}", path, n, kMaxItems));
      }
      for (int i = 0; i < n; ++i) {
        std::string item = fmt::format("{}[{}]", path, i);
        if (is_string) {
          VIGIL_RETURN_IF_ERROR(CheckString(*f, item, reflection->GetRepeatedString(m, f, i)));
        } else if (is_message) {
          VIGIL_RETURN_IF_ERROR(CheckMessage(reflection->GetRepeatedMessage(m, f, i), item, depth + 1));
        }
      }
    } else if (is_string) {
      VIGIL_RETURN_IF_ERROR(CheckString(*f, path, reflection->GetString(m, f)));
    } else if (is_message) {
      VIGIL_RETURN_IF_ERROR(CheckMessage(reflection->GetMessage(m, f), path, depth + 1));
    }
  }
  return Status::Ok();
}

}  // namespace

Status CheckFieldLimits(const google::protobuf::Message& message) {
  return CheckMessage(message, "", 0);
}

namespace {

// Where the password of the URL whose "://" is at `scheme_end` lies: [first, last) or nothing.
std::optional<std::pair<size_t, size_t>> PasswordAt(std::string_view text, size_t scheme_end) {
  const size_t start = scheme_end + 3;
  size_t at = std::string_view::npos;
  for (size_t i = start; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '/' || c == '?' || c == '#' || c == '"' || c == ' ' || c == '\'') break;
    if (c == '@') at = i;  // the last '@' before the path ends the user part
  }
  if (at == std::string_view::npos) return std::nullopt;
  const size_t colon = text.find(':', start);
  if (colon == std::string_view::npos || colon >= at) return std::nullopt;
  return std::make_pair(colon + 1, at);
}

}  // namespace

std::string RedactUrlPasswords(std::string_view text) {
  std::string out;
  size_t from = 0;
  for (size_t p = text.find("://"); p != std::string_view::npos; p = text.find("://", p + 3)) {
    if (auto pw = PasswordAt(text, p); pw && pw->first >= from) {
      out.append(text.substr(from, pw->first - from));
      out += "***";
      from = pw->second;
    }
  }
  out.append(text.substr(from));
  return out;
}

bool HasUrlPassword(std::string_view text) {
  for (size_t p = text.find("://"); p != std::string_view::npos; p = text.find("://", p + 3)) {
    if (PasswordAt(text, p)) return true;
  }
  return false;
}

std::string Printable(std::string_view text, size_t max) {
  std::string out;
  for (unsigned char c : text) {
    if (out.size() >= max) {
      out += "…";
      break;
    }
    if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", static_cast<int>(c));
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

bool TopicFamilyAllowed(Role role, std::string_view family) {
  switch (role) {
    case Role::kAdmin:
    case Role::kOperator:
      return true;
    case Role::kDispatch:
      return family == "alert." || family == "unit.";
    case Role::kInvestigator:
      return false;
  }
  return false;
}

bool SubscriptionAllowed(Role role, std::string_view prefix) {
  bool matches_any = false;
  for (std::string_view family : kTopicFamilies) {
    // Topics of `family` starting with `prefix` exist iff one is a prefix of the other.
    bool overlaps = family.starts_with(prefix) || prefix.starts_with(family);
    if (!overlaps) continue;
    matches_any = true;
    if (!TopicFamilyAllowed(role, family)) return false;
  }
  // A prefix matching no family matches nothing published today, but would match a family added
  // later: refused, so that a new kind of message is never seen by a role nobody granted it to.
  return matches_any;
}

std::vector<std::string> AllowedTopicFamilies(Role role) {
  std::vector<std::string> out;
  for (std::string_view family : kTopicFamilies) {
    if (TopicFamilyAllowed(role, family)) out.emplace_back(family);
  }
  return out;
}

}  // namespace vigil::api
