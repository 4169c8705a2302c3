#pragma once
// Which role may do what: the one table the server enforces, docs/api.md prints and the tests walk.
//
//   operator      the monitoring room: live pictures and events, status, alerts (acknowledge and
//                 close), zones and counts to read, patrol snapshots.
//   investigator  queries of the record: events, footage, plates, counts, alerts; clip export.
//   dispatch      alerts and units: alerts to read and act on, nearest cameras, the clip of an
//                 alert (one camera, within a minute of one of its alerts).
//   admin         everything, and alone changes cameras, zones, the watchlist, and reads the audit.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proto/keys.h"
#include "proto/vigil.pb.h"

namespace vigil::api {

// Who asks: the holder of the connection's key, as the authorised keys file names them.
struct Identity {
  std::string user;
  Role role = Role::kOperator;
};

struct AccessRule {
  v1::Request::KindCase kind;
  std::string_view request;  // the Request field's name
  bool operator_, investigator, dispatch, admin;
  std::string_view what;  // what it reads or changes, for the docs
};

// Every request kind, in vigil.proto's order.
const std::vector<AccessRule>& AccessRules();
bool Allowed(Role role, v1::Request::KindCase kind);
// The request field's name ("events"), or "unknown".
std::string_view KindName(v1::Request::KindCase kind);
// "operator may: status, cameras, ..." for refusals.
std::string WhatRoleMay(Role role);

// Refuses strings longer than their limit (1 KiB; notes, reasons and messages 4 KiB), strings with
// control characters (notes: all but newline and tab), and lists of more than 10,000 items, naming
// the field: nothing a client sends grows the index, the audit trail or the log without bound.
Status CheckFieldLimits(const google::protobuf::Message& message);
// `text` with the password of every "scheme://user:password@" replaced by "***" (a camera URL in
// a request is written to the audit trail). HasUrlPassword: whether there is one to replace.
std::string RedactUrlPasswords(std::string_view text);
bool HasUrlPassword(std::string_view text);
// `text` fit for one log line: control characters escaped, at most `max` bytes (then "…").
std::string Printable(std::string_view text, size_t max = 200);

// Live topics ("<family>.<camera or unit>"): event, plate, camera (operator, admin), alert and
// unit (operator, dispatch, admin). A subscription is a prefix: it is allowed only if every topic it
// could match is allowed ("" and "e" are refused to dispatch, "alert." is not).
inline constexpr std::string_view kTopicFamilies[] = {"event.", "plate.", "camera.", "alert.", "unit."};
bool TopicFamilyAllowed(Role role, std::string_view family);
bool SubscriptionAllowed(Role role, std::string_view prefix);
// The prefixes a client of `role` subscribes to for "everything it may see".
std::vector<std::string> AllowedTopicFamilies(Role role);

// Dispatch exports only an alert's clip: one camera, at most this long.
inline constexpr int64_t kDispatchClipMaxNs = 120'000'000'000;
// ... and within this of one of that camera's alerts.
inline constexpr int64_t kDispatchClipSlackNs = 60'000'000'000;

}  // namespace vigil::api
