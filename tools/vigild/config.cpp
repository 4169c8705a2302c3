#include "tools/vigild/config.h"

#include <cstdlib>
#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <toml++/toml.h>

#include "base/fs.h"
#include "base/toml_reader.h"
#include "base/plate_text.h"
#include "index/geo.h"

namespace vigil::vigild {
namespace {

// "tcp://HOST:PORT" (HOST an address, a name or *; PORT 1-65535) or "ipc://PATH": what the API
// can bind. Anything else would leave vigild running without an API.
Status CheckApiEndpoint(const std::string& endpoint) {
  for (unsigned char c : endpoint) {
    if (c < 0x21 || c == 0x7f) return Status::InvalidArgument("the endpoint holds a space or control character");
  }
  if (endpoint.starts_with("ipc://") && endpoint.size() > 6) return Status::Ok();
  if (!endpoint.starts_with("tcp://")) {
    return Status::InvalidArgument(fmt::format(
        "'{}' is not an endpoint: write tcp://HOST:PORT (or ipc://PATH)", endpoint.substr(0, 100)));
  }
  std::string rest = endpoint.substr(6);
  size_t colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return Status::InvalidArgument(fmt::format("'{}' names no host and port (tcp://HOST:PORT)", endpoint));
  }
  std::string port = rest.substr(colon + 1);
  if (port == "*") return Status::Ok();  // any free port (the log names it)
  char* end = nullptr;
  long n = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end != '\0' || n < 1 || n > 65535) {
    return Status::InvalidArgument(fmt::format("'{}': the port must be 1 to 65535", endpoint));
  }
  return Status::Ok();
}

bool ValidCameraId(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
  }
  return id != "." && id != "..";
}

Status ParseCamera(const std::string& path, const toml::table& t, int index,
                   ingest::CameraConfig& cam, Config& cfg) {
  TomlReader r(path, t, fmt::format("[[cameras]] #{}", index));
  VIGIL_RETURN_IF_ERROR(r.CheckKeys({"id", "name", "main", "sub", "lat", "lon", "place", "district",
                                     "tags", "record", "retain_days", "retain_bytes", "analytics",
                                     "plates", "allow_basic_auth"}));
  VIGIL_RETURN_IF_ERROR(r.String("id", cam.id, true));
  if (!ValidCameraId(cam.id)) {
    return Status::InvalidArgument(fmt::format(
        "{}: camera id '{}' must be 1-64 letters, digits, '-', '_' or '.' (it names directories)",
        r.Line("id"), cam.id));
  }
  cam.name = cam.id;
  VIGIL_RETURN_IF_ERROR(r.String("name", cam.name));
  VIGIL_RETURN_IF_ERROR(r.String("main", cam.main_url, true));
  if (Status st = ValidateRtspUrl(cam.main_url); !st.ok()) {
    return Status::InvalidArgument(
        fmt::format("{}: camera {}: main: {}", r.Line("main"), cam.id, st.message()));
  }
  VIGIL_RETURN_IF_ERROR(r.String("sub", cam.sub_url));
  if (!cam.sub_url.empty()) {
    if (Status st = ValidateRtspUrl(cam.sub_url); !st.ok()) {
      return Status::InvalidArgument(
          fmt::format("{}: camera {}: sub: {}", r.Line("sub"), cam.id, st.message()));
    }
  }
  VIGIL_RETURN_IF_ERROR(r.Double("lat", cam.lat, -90, 90, true));
  VIGIL_RETURN_IF_ERROR(r.Double("lon", cam.lon, -180, 180, true));
  VIGIL_RETURN_IF_ERROR(r.String("place", cam.place));
  VIGIL_RETURN_IF_ERROR(r.String("district", cam.district));
  VIGIL_RETURN_IF_ERROR(r.Strings("tags", cam.tags));
  VIGIL_RETURN_IF_ERROR(r.Bool("record", cam.record));
  VIGIL_RETURN_IF_ERROR(r.Bool("allow_basic_auth", cam.allow_basic_auth));
  VIGIL_RETURN_IF_ERROR(r.Int("retain_days", cam.retain_days, 0, 100 * 365));
  VIGIL_RETURN_IF_ERROR(r.Bytes("retain_bytes", cam.retain_bytes));
  if (const toml::node* a = t.get("analytics")) {
    const toml::table* at = a->as_table();
    if (!at) {
      return Status::InvalidArgument(
          fmt::format("{}: analytics of camera {} must be a table", Where(path, *a), cam.id));
    }
    analytics::AnalyticsConfig ac;
    VIGIL_RETURN_IF_ERROR(analytics::ParseAnalytics(path, *at, cam.id, ac));
    if (ac.enabled) {
      cam.analysis_fps = ac.fps;
      cam.analysis_width = ac.width;
      cam.analysis_height = ac.height;
      cfg.analytics[cam.id] = std::move(ac);
    }
  }
  if (const toml::node* p = t.get("plates")) {
    const toml::table* pt = p->as_table();
    if (!pt) {
      return Status::InvalidArgument(
          fmt::format("{}: plates of camera {} must be a table", Where(path, *p), cam.id));
    }
    analytics::PlatesConfig pc;
    VIGIL_RETURN_IF_ERROR(analytics::ParsePlates(path, *pt, cam.id, pc));
    if (pc.enabled) {
      cam.plates_fps = pc.fps;
      cfg.plates[cam.id] = pc;
    }
  }
  return Status::Ok();
}

// [[zones]]: id, name, units = ["P-07", ...], polygon = [[lat, lon], [lat, lon], ...].
Status ParseZone(const std::string& path, const toml::table& t, int index, index::ResponseZone& z) {
  TomlReader r(path, t, fmt::format("[[zones]] #{}", index));
  VIGIL_RETURN_IF_ERROR(r.CheckKeys({"id", "name", "units", "polygon"}));
  VIGIL_RETURN_IF_ERROR(r.String("id", z.id, true));
  z.name = z.id;
  VIGIL_RETURN_IF_ERROR(r.String("name", z.name));
  VIGIL_RETURN_IF_ERROR(r.Strings("units", z.units));
  const toml::node* poly = t.get("polygon");
  if (!poly) return Status::InvalidArgument(fmt::format("{}: zone {} needs a polygon", r.Line("id"), z.id));
  const toml::array* arr = poly->as_array();
  auto bad_vertex = [&](const toml::node& n) {
    return Status::InvalidArgument(fmt::format(
        "{}: zone {}: polygon must be [[lat, lon], ...] in degrees", Where(path, n), z.id));
  };
  if (!arr) return bad_vertex(*poly);
  for (const toml::node& v : *arr) {
    const toml::array* pair = v.as_array();
    if (!pair || pair->size() != 2) return bad_vertex(v);
    auto lat = (*pair)[0].value<double>();
    auto lon = (*pair)[1].value<double>();
    if (!lat || !lon) return bad_vertex(v);
    z.polygon.push_back({*lat, *lon});
  }
  z.updated_by = "config " + path;
  if (Status st = index::ValidateZone(z); !st.ok()) {
    return Status::InvalidArgument(fmt::format("{}: {}", r.Line("id"), st.message()));
  }
  return Status::Ok();
}

}  // namespace

Status ValidateRtspUrl(const std::string& url) {
  for (unsigned char c : url) {
    // A CR or LF would end the RTSP request line and start a header of the URL's choosing.
    if (c < 0x20 || c == 0x7f || c == ' ') {
      return Status::InvalidArgument(fmt::format(
          "the URL holds a space or control character ({:#04x}): percent-encode it", static_cast<int>(c)));
    }
  }
  std::string rest;
  if (url.rfind("rtsp://", 0) == 0) {
    rest = url.substr(7);
  } else if (url.rfind("rtsps://", 0) == 0) {
    rest = url.substr(8);
  } else {
    return Status::InvalidArgument(fmt::format("'{}' is not an rtsp:// or rtsps:// URL", url));
  }
  std::string authority = rest.substr(0, rest.find('/'));
  auto at = authority.rfind('@');
  std::string hostport = at == std::string::npos ? authority : authority.substr(at + 1);
  std::string host = hostport, port;
  if (!hostport.empty() && hostport[0] == '[') {  // [IPv6]:port
    auto close = hostport.find(']');
    if (close == std::string::npos) return Status::InvalidArgument(fmt::format("'{}': unclosed '[' in host", url));
    host = hostport.substr(1, close - 1);
    if (close + 1 < hostport.size()) {
      if (hostport[close + 1] != ':') return Status::InvalidArgument(fmt::format("'{}': junk after host", url));
      port = hostport.substr(close + 2);
    }
  } else if (auto colon = hostport.rfind(':'); colon != std::string::npos) {
    host = hostport.substr(0, colon);
    port = hostport.substr(colon + 1);
  }
  if (host.empty()) return Status::InvalidArgument(fmt::format("'{}' has no host", url));
  for (char c : host) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      return Status::InvalidArgument(fmt::format("'{}': host contains a space", url));
    }
  }
  if (!port.empty() || (hostport.size() && hostport.back() == ':')) {
    bool digits = !port.empty() && port.size() <= 5 &&
                  std::all_of(port.begin(), port.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
    int p = digits ? std::stoi(port) : 0;
    if (!digits || p < 1 || p > 65535) {
      return Status::InvalidArgument(fmt::format("'{}': port '{}' is not 1-65535", url, port));
    }
  }
  return Status::Ok();
}

bool ValidLogLevel(const std::string& level) {
  for (const char* l : {"trace", "debug", "info", "warn", "error", "critical"}) {
    if (level == l) return true;
  }
  return false;
}

Result<Config> ParseConfig(std::string_view text, const std::string& path) {
  toml::table root;
  try {
    root = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    return Status::InvalidArgument(
        fmt::format("{}:{}: {}", path, e.source().begin.line, e.description()));
  }
  Config cfg;
  cfg.path = path;
  TomlReader top(path, root, "the top level");
  VIGIL_RETURN_IF_ERROR(
      top.CheckKeys({"data_dir", "log_level", "api", "recording", "analytics", "plates", "cameras",
                     "zones"}));
  VIGIL_RETURN_IF_ERROR(top.String("data_dir", cfg.recording.data_dir, true));
  VIGIL_RETURN_IF_ERROR(top.String("log_level", cfg.log_level));
  if (!ValidLogLevel(cfg.log_level)) {
    return Status::InvalidArgument(fmt::format(
        "{}: log_level '{}' is not one of trace, debug, info, warn, error, critical",
        top.Line("log_level"), cfg.log_level));
  }
  if (cfg.recording.data_dir.empty()) {
    return Status::InvalidArgument(fmt::format("{}: data_dir is empty", top.Line("data_dir")));
  }
  if (cfg.recording.data_dir[0] != '/') {
    std::string base = path.find('/') == std::string::npos ? "." : DirName(path);
    cfg.recording.data_dir = JoinPath(base, cfg.recording.data_dir);
  }

  if (const toml::node* api = root.get("api")) {
    const toml::table* t = api->as_table();
    if (!t) return Status::InvalidArgument(fmt::format("{}: [api] must be a table", Where(path, *api)));
    TomlReader r(path, *t, "[api]");
    VIGIL_RETURN_IF_ERROR(
        r.CheckKeys({"requests", "events", "workers", "max_clip_minutes", "export_concurrency", "keys",
                     "exports_per_user", "export_quota", "export_user_quota", "export_days", "connections_per_peer",
                     "max_connections"}));
    VIGIL_RETURN_IF_ERROR(r.Int("connections_per_peer", cfg.api.connections_per_peer, 1, 100'000));
    VIGIL_RETURN_IF_ERROR(r.Int("max_connections", cfg.api.max_connections, 1, 1'000'000));
    VIGIL_RETURN_IF_ERROR(r.Int("exports_per_user", cfg.api.exports_per_user, 1, 1000));
    VIGIL_RETURN_IF_ERROR(r.Bytes("export_quota", cfg.api.export_quota_bytes, 1 << 20));
    VIGIL_RETURN_IF_ERROR(r.Bytes("export_user_quota", cfg.api.export_user_quota_bytes, 1 << 20));
    VIGIL_RETURN_IF_ERROR(r.Int("export_days", cfg.api.export_days, 0, 3650));
    VIGIL_RETURN_IF_ERROR(r.String("requests", cfg.api.requests));
    VIGIL_RETURN_IF_ERROR(r.String("events", cfg.api.events));
    for (auto [key, value] : {std::pair{"requests", &cfg.api.requests}, {"events", &cfg.api.events}}) {
      if (Status st = CheckApiEndpoint(*value); !st.ok()) {
        const toml::node* n = t->get(key);
        return Status::InvalidArgument(
            fmt::format("{}: [api] {}: {}", Where(path, n ? *n : *api), key, st.message()));
      }
    }
    if (cfg.api.requests == cfg.api.events && !cfg.api.requests.ends_with(":*")) {  // "*": two free ports
      return Status::InvalidArgument(fmt::format(
          "{}: [api] requests and events are both {}: they need two endpoints",
          Where(path, *api), cfg.api.events));
    }
    VIGIL_RETURN_IF_ERROR(r.String("keys", cfg.api.keys_dir));
    if (!cfg.api.keys_dir.empty() && cfg.api.keys_dir[0] != '/') {
      std::string base = path.find('/') == std::string::npos ? "." : DirName(path);
      cfg.api.keys_dir = JoinPath(base, cfg.api.keys_dir);
    }
    VIGIL_RETURN_IF_ERROR(r.Int("workers", cfg.api.workers, 1, 64));
    int64_t minutes = cfg.api.max_clip_ns / (60 * kNsPerSec);
    VIGIL_RETURN_IF_ERROR(r.Int("max_clip_minutes", minutes, 1, 24 * 60));
    cfg.api.max_clip_ns = minutes * 60 * kNsPerSec;
    VIGIL_RETURN_IF_ERROR(r.Int("export_concurrency", cfg.api.export_concurrency, 1, 16));
  }

  if (const toml::node* node = root.get("analytics")) {
    const toml::table* t = node->as_table();
    if (!t) return Status::InvalidArgument(fmt::format("{}: [analytics] must be a table", Where(path, *node)));
    TomlReader r(path, *t, "[analytics]");
    VIGIL_RETURN_IF_ERROR(r.CheckKeys({"workers", "snapshots"}));
    VIGIL_RETURN_IF_ERROR(r.Int("workers", cfg.analytics_node.workers, 1, 256));
    VIGIL_RETURN_IF_ERROR(r.Bool("snapshots", cfg.analytics_node.snapshots));
  }

  cfg.plates_node.model = analytics::DefaultPlateModel();
  if (const toml::node* node = root.get("plates")) {
    const toml::table* t = node->as_table();
    if (!t) return Status::InvalidArgument(fmt::format("{}: [plates] must be a table", Where(path, *node)));
    TomlReader r(path, *t, "[plates]");
    VIGIL_RETURN_IF_ERROR(r.CheckKeys({"workers", "model", "nearest", "clip_before_seconds",
                                       "clip_after_seconds", "duplicate_seconds", "local_provinces",
                                       "local_province_weight"}));
    auto& p = cfg.plates_node;
    VIGIL_RETURN_IF_ERROR(r.Int("workers", p.workers, 1, 256));
    VIGIL_RETURN_IF_ERROR(r.String("model", p.model));
    if (!p.model.empty() && p.model[0] != '/') {
      p.model = (std::filesystem::path(path).parent_path() / p.model).lexically_normal().string();
    }
    VIGIL_RETURN_IF_ERROR(r.Int("nearest", p.nearest, 0, 100));
    VIGIL_RETURN_IF_ERROR(r.Seconds("clip_before_seconds", p.clip_before_ns, 0, 3600));
    VIGIL_RETURN_IF_ERROR(r.Seconds("clip_after_seconds", p.clip_after_ns, 0, 3600));
    VIGIL_RETURN_IF_ERROR(r.Seconds("duplicate_seconds", p.duplicate_ns, 0, 86400));
    VIGIL_RETURN_IF_ERROR(r.String("local_provinces", p.local_provinces));
    VIGIL_RETURN_IF_ERROR(r.Double("local_province_weight", p.local_province_weight, 1, 100));
    for (char32_t ch : plate::Decode(p.local_provinces)) {
      if (plate::kProvinces.find(ch) == std::u32string_view::npos) {
        return Status::InvalidArgument(fmt::format("{}: local_provinces: '{}' is not a province character",
                                                   r.Line("local_provinces"), plate::Encode(std::u32string(1, ch))));
      }
    }
  }

  ingest::RecordingOptions& rec = cfg.recording;
  if (const toml::node* node = root.get("recording")) {
    const toml::table* t = node->as_table();
    if (!t) return Status::InvalidArgument(fmt::format("{}: [recording] must be a table", Where(path, *node)));
    TomlReader r(path, *t, "[recording]");
    VIGIL_RETURN_IF_ERROR(r.CheckKeys({"segment_seconds", "fragment_ms", "stall_seconds",
                                       "connect_timeout_seconds", "retry_initial_ms", "retry_max_ms",
                                       "latency_ms", "transport", "rtsp_client", "queue_bytes", "max_bytes",
                                       "min_free_bytes", "reserve_bytes", "retention_interval_seconds",
                                       "audit_interval_seconds"}));
    VIGIL_RETURN_IF_ERROR(r.Seconds("segment_seconds", rec.segment_ns, 1, 3600));
    VIGIL_RETURN_IF_ERROR(r.Millis("fragment_ms", rec.fragment_ns, 40, 1000));
    VIGIL_RETURN_IF_ERROR(r.Seconds("stall_seconds", rec.stall_ns, 1, 600));
    VIGIL_RETURN_IF_ERROR(r.Seconds("connect_timeout_seconds", rec.connect_timeout_ns, 1, 600));
    VIGIL_RETURN_IF_ERROR(r.Millis("retry_initial_ms", rec.retry_initial_ns, 10, 600'000));
    VIGIL_RETURN_IF_ERROR(r.Millis("retry_max_ms", rec.retry_max_ns, 10, 3'600'000));
    int64_t latency = rec.latency_ms;
    VIGIL_RETURN_IF_ERROR(r.Int("latency_ms", latency, 0, 5000));
    rec.latency_ms = static_cast<int>(latency);
    std::string transport = rec.tcp ? "tcp" : "udp";
    VIGIL_RETURN_IF_ERROR(r.String("transport", transport));
    if (transport != "tcp" && transport != "udp") {
      return Status::InvalidArgument(fmt::format("{}: transport must be \"tcp\" or \"udp\", not \"{}\"",
                                                 r.Line("transport"), transport));
    }
    rec.tcp = transport == "tcp";
    std::string client = rec.gstreamer_rtsp ? "gstreamer" : "vigil";
    VIGIL_RETURN_IF_ERROR(r.String("rtsp_client", client));
    if (client != "vigil" && client != "gstreamer") {
      return Status::InvalidArgument(fmt::format("{}: rtsp_client must be \"vigil\" or \"gstreamer\", not \"{}\"",
                                                 r.Line("rtsp_client"), client));
    }
    rec.gstreamer_rtsp = client == "gstreamer";
    VIGIL_RETURN_IF_ERROR(r.Bytes("queue_bytes", rec.queue_max_bytes, 1 << 20));
    VIGIL_RETURN_IF_ERROR(r.Bytes("max_bytes", rec.max_bytes));
    VIGIL_RETURN_IF_ERROR(r.Bytes("min_free_bytes", rec.min_free_bytes));
    VIGIL_RETURN_IF_ERROR(r.Bytes("reserve_bytes", rec.reserve_bytes));
    VIGIL_RETURN_IF_ERROR(r.Seconds("retention_interval_seconds", rec.retention_interval_ns, 1, 86400));
    VIGIL_RETURN_IF_ERROR(r.Seconds("audit_interval_seconds", rec.audit_interval_ns, 1, 86400));
    if (rec.retry_max_ns < rec.retry_initial_ns) {
      return Status::InvalidArgument(fmt::format("{}: retry_max_ms is below retry_initial_ms",
                                                 r.Line("retry_max_ms")));
    }
  }

  const toml::node* cams = root.get("cameras");
  if (!cams) return Status::InvalidArgument(fmt::format("{}: no [[cameras]]", path));
  const toml::array* arr = cams->as_array();
  if (!arr) return Status::InvalidArgument(fmt::format("{}: cameras must be [[cameras]] tables", Where(path, *cams)));
  std::map<std::string, std::string> seen;  // id -> where
  int index = 0;
  for (const toml::node& n : *arr) {
    ++index;
    const toml::table* t = n.as_table();
    if (!t) return Status::InvalidArgument(fmt::format("{}: cameras must be [[cameras]] tables", Where(path, n)));
    ingest::CameraConfig cam;
    VIGIL_RETURN_IF_ERROR(ParseCamera(path, *t, index, cam, cfg));
    std::string where = TomlReader(path, *t, "").Line("id");
    auto [it, fresh] = seen.emplace(cam.id, where);
    if (!fresh) {
      return Status::InvalidArgument(
          fmt::format("{}: duplicate camera id '{}' (first defined at {})", where, cam.id, it->second));
    }
    cfg.cameras.push_back(std::move(cam));
  }

  if (const toml::node* zones = root.get("zones")) {
    const toml::array* zarr = zones->as_array();
    if (!zarr) {
      return Status::InvalidArgument(fmt::format("{}: zones must be [[zones]] tables", Where(path, *zones)));
    }
    std::map<std::string, std::string> zone_seen;
    int zi = 0;
    for (const toml::node& n : *zarr) {
      ++zi;
      const toml::table* t = n.as_table();
      if (!t) return Status::InvalidArgument(fmt::format("{}: zones must be [[zones]] tables", Where(path, n)));
      index::ResponseZone z;
      VIGIL_RETURN_IF_ERROR(ParseZone(path, *t, zi, z));
      std::string where = TomlReader(path, *t, "").Line("id");
      auto [it, fresh] = zone_seen.emplace(z.id, where);
      if (!fresh) {
        return Status::InvalidArgument(
            fmt::format("{}: duplicate zone id '{}' (first defined at {})", where, z.id, it->second));
      }
      cfg.zones.push_back(std::move(z));
    }
  }
  return cfg;
}

Result<Config> LoadConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound(fmt::format("cannot read config {}", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseConfig(ss.str(), path);
}

}  // namespace vigil::vigild
