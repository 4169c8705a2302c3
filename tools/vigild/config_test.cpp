#include "tools/vigild/config.h"

#include <doctest/doctest.h>

namespace vigil::vigild {
namespace {

const char* kGood = R"(data_dir = "/var/lib/vigil"
log_level = "debug"

[api]
requests = "tcp://127.0.0.1:7700"

[recording]
segment_seconds = 30
fragment_ms = 250
max_bytes = "2TB"
transport = "udp"
rtsp_client = "gstreamer"

[[cameras]]
id = "cam-431"
name = "Dongfeng Square north"
main = "rtsp://admin:secret@10.1.4.31:554/Streaming/Channels/101"
sub = "rtsp://10.1.4.31/Streaming/Channels/102"
lat = 24.8801
lon = 102.8329
place = "Dongfeng Square"
district = "Panlong"
tags = ["plaza", "ptz"]
retain_days = 30
retain_bytes = "500GiB"

[[cameras]]
id = "cam-432"
main = "rtsp://[fe80::1]:8554/main"
lat = 24.88
lon = 102.83
record = false
)";

TEST_CASE("a complete config is read with every field") {
  auto cfg = ParseConfig(kGood, "/etc/vigil/vigild.toml");
  REQUIRE_MESSAGE(cfg.ok(), cfg.status().ToString());
  CHECK(cfg->recording.data_dir == "/var/lib/vigil");
  CHECK(cfg->log_level == "debug");
  CHECK(cfg->recording.segment_ns == 30'000'000'000);
  CHECK(cfg->recording.fragment_ns == 250'000'000);
  CHECK(cfg->recording.max_bytes == 2'000'000'000'000);
  CHECK_FALSE(cfg->recording.tcp);
  CHECK(cfg->recording.gstreamer_rtsp);
  REQUIRE(cfg->cameras.size() == 2);
  const auto& c = cfg->cameras[0];
  CHECK(c.id == "cam-431");
  CHECK(c.name == "Dongfeng Square north");
  CHECK(c.sub_url == "rtsp://10.1.4.31/Streaming/Channels/102");
  CHECK(c.lat == doctest::Approx(24.8801));
  CHECK(c.tags == std::vector<std::string>{"plaza", "ptz"});
  CHECK(c.retain_days == 30);
  CHECK(c.retain_bytes == 500LL * 1024 * 1024 * 1024);
  CHECK(cfg->cameras[1].name == "cam-432");  // defaults to the id
  CHECK_FALSE(cfg->cameras[1].record);
}

TEST_CASE("plate cameras and the node's plate settings are read") {
  // [plates] goes before [[cameras]] (after it, TOML would put it inside the last camera).
  std::string text = kGood;
  text.replace(text.find("[api]"), 5,
               "[plates]\nworkers = 2\nmodel = \"models/p.onnx\"\nnearest = 3\nduplicate_seconds = 60\n[api]");
  text += "[cameras.plates]\nfps = 6\nmin_sightings = 3\n";
  auto cfg = ParseConfig(text, "/etc/vigil/c.toml");
  REQUIRE_MESSAGE(cfg.ok(), cfg.error().message());
  REQUIRE(cfg->plates.count("cam-432"));
  CHECK(cfg->plates.at("cam-432").fps == 6);
  CHECK(cfg->plates.at("cam-432").min_sightings == 3);
  CHECK_FALSE(cfg->plates.count("cam-431"));
  CHECK(cfg->cameras[1].plates_fps == 6);
  CHECK(cfg->cameras[0].plates_fps == 0);
  CHECK(cfg->plates_node.workers == 2);
  CHECK(cfg->plates_node.model == "/etc/vigil/models/p.onnx");
  CHECK(cfg->plates_node.nearest == 3);
  CHECK(cfg->plates_node.duplicate_ns == 60 * kNsPerSec);
}

TEST_CASE("response zones are read with their units and polygon") {
  auto cfg = ParseConfig(std::string(kGood) + R"(
[[zones]]
id = "z-017"
name = "Dongfeng Square station"
units = ["P-07", "P-08"]
polygon = [[24.878, 102.830], [24.878, 102.836], [24.882, 102.836], [24.882, 102.830]]

[[zones]]
id = "z-018"
polygon = [[24.8, 102.8], [24.8, 102.9], [24.9, 102.9]]
)", "/etc/vigil/c.toml");
  REQUIRE(cfg.ok());
  REQUIRE(cfg->zones.size() == 2);
  CHECK(cfg->zones[0].id == "z-017");
  CHECK(cfg->zones[0].name == "Dongfeng Square station");
  CHECK(cfg->zones[0].units == std::vector<std::string>{"P-07", "P-08"});
  REQUIRE(cfg->zones[0].polygon.size() == 4);
  CHECK(cfg->zones[0].polygon[2].lat == doctest::Approx(24.882));
  CHECK(cfg->zones[0].polygon[2].lon == doctest::Approx(102.836));
  CHECK(cfg->zones[1].name == "z-018");  // the id when unnamed
  CHECK(cfg->zones[1].units.empty());
}

TEST_CASE("a relative data_dir is anchored at the config file's directory") {
  auto cfg = ParseConfig("data_dir = \"data\"\n[[cameras]]\nid = \"a\"\nmain = \"rtsp://h/x\"\n"
                         "lat = 1.0\nlon = 1.0\n",
                         "samples/demo.toml");
  REQUIRE(cfg.ok());
  CHECK(cfg->recording.data_dir == "samples/data");
}

struct Bad {
  const char* name;
  std::string toml;
  const char* message;
};

TEST_CASE("each config mistake is refused with the file, the line and the reason") {
  const std::string head = "data_dir = \"d\"\n";
  const std::string cam = "[[cameras]]\nid = \"cam1\"\nmain = \"rtsp://h:554/x\"\nlat = 1.0\nlon = 2.0\n";
  std::vector<Bad> cases = {
      {"typo at top level", "data_dri = \"d\"\n", "c.toml:1: unknown key 'data_dri' in the top level"},
      {"typo in a camera", head + cam + "retian_days = 3\n", "c.toml:7: unknown key 'retian_days' in [[cameras]] #1"},
      {"typo in recording", head + "[recording]\nsegment_secs = 5\n" + cam, "c.toml:3: unknown key 'segment_secs' in [recording]"},
      {"no data_dir", cam, "c.toml:1: the top level needs 'data_dir'"},
      {"no cameras", head, "c.toml: no [[cameras]]"},
      {"zone outside the frame", head + cam + "[cameras.analytics]\n[[cameras.analytics.zones]]\nname = \"z\"\n"
                                 "polygon = [[0.1, 0.1], [1.5, 0.1], [0.5, 0.9]]\n",
       "c.toml:10: camera cam1: analytics: zone 'z': vertex [1.5, 0.1] is outside the frame"},
      {"line of zero length", head + cam + "[cameras.analytics]\n[[cameras.analytics.lines]]\nname = \"l\"\n"
                              "from = [0.5, 0.5]\nto = [0.5, 0.5]\n",
       "c.toml:8: camera cam1: analytics: line 'l' has zero length"},
      {"typo in analytics", head + cam + "[cameras.analytics]\nsensitivty = 0.2\n",
       "c.toml:8: unknown key 'sensitivty' in the analytics of camera cam1"},
      {"http url", head + "[[cameras]]\nid = \"c\"\nmain = \"http://h/x\"\nlat = 1.0\nlon = 1.0\n", "c.toml:4: camera c: main: 'http://h/x' is not an rtsp:// or rtsps:// URL"},
      {"no host", head + "[[cameras]]\nid = \"c\"\nmain = \"rtsp:///x\"\nlat = 1.0\nlon = 1.0\n", "has no host"},
      {"bad port", head + "[[cameras]]\nid = \"c\"\nmain = \"rtsp://h:99999/x\"\nlat = 1.0\nlon = 1.0\n", "port '99999' is not 1-65535"},
      {"duplicate id", head + cam + cam, "c.toml:8: duplicate camera id 'cam1' (first defined at c.toml:3)"},
      {"id with a slash", head + "[[cameras]]\nid = \"../etc\"\nmain = \"rtsp://h/x\"\nlat = 1.0\nlon = 1.0\n", "camera id '../etc' must be"},
      {"latitude out of range", head + "[[cameras]]\nid = \"c\"\nmain = \"rtsp://h/x\"\nlat = 91.0\nlon = 1.0\n", "c.toml:5: lat = 91 in [[cameras]] #1 is out of range"},
      {"missing latitude", head + "[[cameras]]\nid = \"c\"\nmain = \"rtsp://h/x\"\nlon = 1.0\n", "needs 'lat'"},
      {"wrong type", head + "[recording]\nsegment_seconds = \"long\"\n" + cam, "c.toml:3: segment_seconds in [recording] must be a number"},
      {"bad size", head + "[recording]\nmax_bytes = \"12 parsecs\"\n" + cam, "unknown unit 'PARSECS'"},
      {"bad transport", head + "[recording]\ntransport = \"sctp\"\n" + cam, "transport must be \"tcp\" or \"udp\""},
      {"bad RTSP client", head + "[recording]\nrtsp_client = \"live555\"\n" + cam,
       "rtsp_client must be \"vigil\" or \"gstreamer\", not \"live555\""},
      {"fragment too long", head + "[recording]\nfragment_ms = 5000\n" + cam, "fragment_ms = 5000 in [recording] is out of range"},
      {"not toml", "data_dir = \n", "c.toml:1:"},
      {"typo in plates", head + cam + "[cameras.plates]\nfsp = 8\n",
       "c.toml:8: unknown key 'fsp' in camera cam1's [cameras.plates]"},
      {"plate rate out of range", head + cam + "[cameras.plates]\nfps = 60\n", "c.toml:8: fps = 60"},
      {"plate mask outside the frame", head + cam + "[cameras.plates]\nmasks = [[[0.1, 0.1], [1.5, 0.1], [0.5, 0.9]]]\n",
       "c.toml:8: camera cam1: analytics: mask #1: vertex [1.5, 0.1] is outside the frame"},
      {"local province not a province", head + "[plates]\nlocal_provinces = \"云X\"\n" + cam,
       "c.toml:3: local_provinces: 'X' is not a province character"},
      {"typo in [plates]", head + "[plates]\nnearst = 3\n" + cam, "c.toml:3: unknown key 'nearst' in [plates]"},
      {"typo in a zone", head + cam + "[[zones]]\nid = \"z1\"\nunit = [\"P-1\"]\n",
       "c.toml:9: unknown key 'unit' in [[zones]] #1"},
      {"zone without polygon", head + cam + "[[zones]]\nid = \"z1\"\n", "c.toml:8: zone z1 needs a polygon"},
      {"zone vertex not a pair", head + cam + "[[zones]]\nid = \"z1\"\npolygon = [[25.0, 102.0], [25.1]]\n",
       "c.toml:9: zone z1: polygon must be [[lat, lon], ...]"},
      {"zone of two vertices", head + cam + "[[zones]]\nid = \"z1\"\npolygon = [[25.0, 102.0], [25.1, 102.1]]\n",
       "c.toml:8: zone z1: a polygon needs at least 3 vertices, got 2"},
      {"zone unit with a dot", head + cam + "[[zones]]\nid = \"z1\"\nunits = [\"P.1\"]\n"
                               "polygon = [[25.0, 102.0], [25.1, 102.0], [25.1, 102.1]]\n",
       "c.toml:8: zone z1: unit 'P.1' has a space, '.', ','"},
      {"duplicate zone", head + cam + "[[zones]]\nid = \"z1\"\npolygon = [[25.0, 102.0], [25.1, 102.0], [25.1, 102.1]]\n"
                         "[[zones]]\nid = \"z1\"\npolygon = [[25.0, 102.0], [25.1, 102.0], [25.1, 102.1]]\n",
       "c.toml:11: duplicate zone id 'z1' (first defined at c.toml:8)"},
      // What an attacker or a slip of the hand used to get past --check-config.
      {"queue of zero bytes", head + "[recording]\nqueue_bytes = 0\n" + cam,
       "c.toml:3: queue_bytes must be at least 1048576 bytes, not 0"},
      {"unknown log level", "data_dir = \"d\"\nlog_level = \"bogus\"\n" + cam,
       "c.toml:2: log_level 'bogus' is not one of trace, debug, info, warn, error, critical"},
      {"size nan", head + "[recording]\nmax_bytes = \"nan\"\n" + cam, "c.toml:3: max_bytes: 'nan' is not a size"},
      {"size inf", head + "[recording]\nmin_free_bytes = \"inf\"\n" + cam, "c.toml:3: min_free_bytes: 'inf' is not a size"},
      {"size 1e30", head + "[recording]\nmax_bytes = \"1e30\"\n" + cam, "c.toml:3: max_bytes: '1e30' is too large"},
      {"garbage endpoint", head + "[api]\nrequests = \"garbage\"\n" + cam,
       "c.toml:3: [api] requests: 'garbage' is not an endpoint"},
      {"endpoint without port", head + "[api]\nevents = \"tcp://127.0.0.1\"\n" + cam,
       "[api] events: 'tcp://127.0.0.1' names no host and port"},
      {"same endpoint twice", head + "[api]\nrequests = \"tcp://127.0.0.1:7700\"\nevents = \"tcp://127.0.0.1:7700\"\n" + cam,
       "[api] requests and events are both tcp://127.0.0.1:7700"},
      {"CR LF in an RTSP URL", head + "[[cameras]]\nid = \"c\"\nmain = \"rtsp://h/x\\r\\nX-Evil: 1\"\nlat = 1.0\nlon = 1.0\n",
       "c.toml:4: camera c: main: the URL holds a space or control character (0x0d)"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    auto cfg = ParseConfig(c.toml, "c.toml");
    REQUIRE_FALSE(cfg.ok());
    CHECK(cfg.error().code() == StatusCode::kInvalidArgument);
    CAPTURE(cfg.error().message());
    CHECK(cfg.error().message().find(c.message) != std::string::npos);
  }
}

TEST_CASE("a missing config file is NotFound naming it") {
  auto cfg = LoadConfig("/nonexistent/vigild.toml");
  REQUIRE_FALSE(cfg.ok());
  CHECK(cfg.error().code() == StatusCode::kNotFound);
  CHECK(cfg.error().message().find("/nonexistent/vigild.toml") != std::string::npos);
}

TEST_CASE("byte sizes take SI and binary units") {
  CHECK(ParseByteSize("1500").value() == 1500);
  CHECK(ParseByteSize("3MB").value() == 3'000'000);
  CHECK(ParseByteSize("1.5 GiB").value() == 1610612736);
  CHECK(ParseByteSize("2tb").value() == 2'000'000'000'000);
  CHECK_FALSE(ParseByteSize("lots").ok());
  CHECK_FALSE(ParseByteSize("-5GB").ok());
}

TEST_CASE("both API endpoints may ask for any free port") {
  auto cfg = ParseConfig("data_dir = \"d\"\n[api]\nrequests = \"tcp://127.0.0.1:*\"\n"
                         "events = \"tcp://127.0.0.1:*\"\n[[cameras]]\nid = \"a\"\nmain = \"rtsp://h/x\"\n"
                         "lat = 1.0\nlon = 2.0\n", "c.toml");
  REQUIRE_MESSAGE(cfg.ok(), cfg.status().ToString());
  CHECK(cfg->api.requests == "tcp://127.0.0.1:*");
}

}  // namespace
}  // namespace vigil::vigild
