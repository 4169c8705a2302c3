// vigil-bench-api: the API under load, on this machine, over real ZeroMQ sockets on loopback.
//
//   vigil-bench-api [--clients 1,10,50] [--seconds 5] [--export-minutes 10] [--kbps 4000]
//                   [--repeat 3] [--dir DIR]
//
// 1. Small queries: an in-process vigild API (2 workers, read-only SQLite readers) over a generated
//    city (200 cameras, 200,000 events); N client threads, each with its own DEALER socket, ask
//    "events of one camera in a 10-minute window, 20 rows" back to back for --seconds. Prints
//    requests/s and p50/p99 latency per client count.
// 2. Clip export: --export-minutes of 1080p H.264 at --kbps in one-minute segments (a real x264
//    loop written like the recorder writes), exported through the API and downloaded by the client
//    (DownloadClip: fetches in flight while the server writes, SHA-256 checked at both ends), timed
//    to the first byte and to the end; against `ffmpeg -f concat -c copy` of the same segment
//    files in the same run. Median of --repeat runs each, page cache warm for both.
// 3. The cost of CURVE (--curve-seconds): the same ZeroMQ ROUTER/DEALER pair on loopback, plain
//    against CURVE (the API's transport: Curve25519 handshake, XSalsa20-Poly1305 per message), with
//    the server doing nothing but echo: a 120-byte request and a 2 KiB answer back to back (the
//    small query's shape), p50/p99 round trip; and 1 MiB chunks with 4 in flight (an export
//    download's shape), MB/s. The baseline is the plain pair in the same run.

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <random>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <zmq.hpp>

#include "base/clock.h"
#include "base/fs.h"
#include "base/log.h"
#include "index/store.h"
#include "index/testing/city.h"
#include "ingest/segment_writer.h"
#include "proto/client.h"
#include "proto/server.h"
#include "tests/support/encoded_clip.h"

namespace {

using namespace vigil;
using Clock_ = std::chrono::steady_clock;

double Ms(Clock_::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  return v[i];
}

double Median(std::vector<double> v) { return Percentile(std::move(v), 0.5); }

// The benchmark's own key (admin), made by Serve: every request is authenticated and encrypted, as
// in production.
api::UserKey g_key;

std::unique_ptr<api::Server> Serve(index::Store& store, const std::string& dir) {
  api::ServerOptions so;
  std::string keys = JoinPath(dir, "keys");
  (void)std::system(fmt::format("rm -rf '{}'", keys).c_str());
  so.server_key = api::LoadOrCreateServerKey(JoinPath(keys, "server.key")).value();
  so.keyring = std::make_shared<api::Keyring>(JoinPath(keys, "authorized.toml"));
  g_key = api::Keyring::Add(so.keyring->path(), "bench", api::Role::kAdmin, so.server_key,
                            SystemClock().WallNs())
              .value();
  so.requests = "tcp://127.0.0.1:*";
  so.events = "tcp://127.0.0.1:*";
  so.workers = 2;
  so.exports.data_dir = dir;
  so.exports.server_name = "bench";
  const std::string path = JoinPath(dir, "index.db");
  auto s = api::Server::Start(so, store, [path]() {
    index::SqliteOptions ro;
    ro.read_only = true;
    return index::OpenSqliteStore(path, ro);
  }, SystemClock());
  if (!s.ok()) {
    fmt::print(stderr, "server: {}\n", s.error().message());
    std::exit(1);
  }
  return std::move(*s);
}

void SmallQueries(const std::string& dir, const std::vector<int>& client_counts, double seconds) {
  std::string qdir = JoinPath(dir, "queries");
  (void)MakeDirs(qdir);
  (void)RemoveFile(JoinPath(qdir, "index.db"));
  index::testing::CityOptions o;
  o.seed = 7;
  o.cameras = 200;
  o.days = 1;
  o.events = 200'000;
  o.plate_reads = 10'000;
  index::testing::City city(o);
  auto store = std::move(index::OpenSqliteStore(JoinPath(qdir, "index.db")).value());
  for (const auto& c : city.cameras()) (void)store->UpsertCamera(c);
  city.Events([&](const index::Event& e) {
    while (store->AddEvent(e).status().code() == StatusCode::kResourceExhausted) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  (void)store->Flush();
  auto server = Serve(*store, qdir);
  std::vector<std::string> cams;
  for (const auto& c : city.cameras()) cams.push_back(c.id);

  fmt::print("\n== small query: events of one camera, 10-minute window, limit 20 ({} s per run) ==\n",
             seconds);
  fmt::print("{:>8} {:>12} {:>10} {:>10} {:>10}\n", "clients", "requests/s", "p50 ms", "p99 ms",
             "errors");
  for (int n : client_counts) {
    std::atomic<bool> go{false}, stop{false};
    std::vector<std::vector<double>> lat(static_cast<size_t>(n));
    std::atomic<int64_t> errors{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < n; ++i) {
      threads.emplace_back([&, i] {
        auto client = std::move(api::Client::Connect(server->requests_endpoint(), g_key).value());
        std::mt19937_64 rng(static_cast<uint64_t>(i) + 1);
        while (!go.load()) std::this_thread::yield();
        while (!stop.load()) {
          api::v1::Request q;
          auto* e = q.mutable_events();
          e->add_cameras(cams[rng() % cams.size()]);
          int64_t from = o.start_ns + static_cast<int64_t>(rng() % 86'000) * kNsPerSec;
          e->mutable_range()->set_from_ns(from);
          e->mutable_range()->set_to_ns(from + 600 * kNsPerSec);
          e->mutable_page()->set_limit(20);
          auto t0 = Clock_::now();
          auto r = client->Call(q);
          lat[static_cast<size_t>(i)].push_back(Ms(Clock_::now() - t0));
          if (!r.ok()) errors.fetch_add(1);
        }
      });
    }
    go = true;
    auto t0 = Clock_::now();
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    stop = true;
    for (auto& t : threads) t.join();
    double elapsed = std::chrono::duration<double>(Clock_::now() - t0).count();
    std::vector<double> all;
    for (auto& l : lat) all.insert(all.end(), l.begin(), l.end());
    fmt::print("{:>8} {:>12.0f} {:>10.3f} {:>10.3f} {:>10}\n", n,
               static_cast<double>(all.size()) / elapsed, Percentile(all, 0.5),
               Percentile(all, 0.99), errors.load());
  }
}

struct Recorded {
  std::vector<std::string> files;
  int64_t start_ns = 0;
  int64_t end_ns = 0;
  int64_t bytes = 0;
};

// `minutes` one-minute segments of cam1, written with the recorder's segment writer from a 20 s
// x264 loop (continuing timestamps), indexed as closed.
Recorded WriteFootage(index::Store& store, const std::string& dir, int minutes, int kbps) {
  fmt::print("encoding a 20 s 1080p loop at {} kb/s ...\n", kbps);
  auto loop = vigil::testing::EncodeClip(ingest::VideoCodec::kH264, 500, 50, 1920, 1080, "snow", kbps);
  if (!loop.ok()) {
    fmt::print(stderr, "encode: {}\n", loop.error().message());
    std::exit(1);
  }
  index::Camera cam;
  cam.id = "cam1";
  cam.name = "bench";
  cam.main_url = "rtsp://127.0.0.1/cam1";
  (void)store.UpsertCamera(cam);
  Recorded rec;
  rec.start_ns = SystemClock().WallNs() / kNsPerSec * kNsPerSec - 86'400 * kNsPerSec;
  const int64_t frame_ns = 40 * kNsPerMs;
  const int per_segment = 1500;
  int64_t frame = 0;
  for (int m = 0; m < minutes; ++m) {
    int64_t start = rec.start_ns + frame * frame_ns;
    std::string rel = fmt::format("recordings/cam1/{:03}.mp4", m);
    std::string path = JoinPath(dir, rel);
    (void)MakeDirs(DirName(path));
    (void)RemoveFile(path);
    auto w = std::move(ingest::SegmentWriter::Create(path, loop->format, kNsPerSec / 2).value());
    for (int i = 0; i < per_segment; ++i, ++frame) {
      const auto& au = loop->units[static_cast<size_t>(frame % 500)];
      int64_t t = frame * frame_ns;
      (void)w->Write(au.data.data(), au.data.size(), t, t, frame_ns, au.key);
    }
    auto closed = w->Close().value();
    index::Segment s;
    s.camera = "cam1";
    s.start_ns = start;
    s.end_ns = start;
    s.path = rel;
    s.codec = "h264";
    s.width = 1920;
    s.height = 1080;
    s.id = store.BeginSegment(s).value();
    s.state = index::SegmentState::kClosed;
    s.end_ns = start + per_segment * frame_ns;
    s.bytes = closed.bytes;
    s.frames = closed.frames;
    s.media_duration_90k = closed.media_duration_90k;
    s.sha256 = closed.sha256;
    (void)store.FinishSegment(s);
    rec.files.push_back(path);
    rec.bytes += closed.bytes;
    rec.end_ns = s.end_ns;
  }
  (void)store.Flush();
  return rec;
}

void Export(const std::string& dir, int minutes, int kbps, int repeat) {
  std::string edir = JoinPath(dir, "export");
  (void)std::system(fmt::format("rm -rf '{}'", edir).c_str());
  (void)MakeDirs(edir);
  auto store = std::move(index::OpenSqliteStore(JoinPath(edir, "index.db")).value());
  Recorded rec = WriteFootage(*store, edir, minutes, kbps);
  auto server = Serve(*store, edir);
  auto client = std::move(api::Client::Connect(server->requests_endpoint(), g_key).value());

  // ffmpeg's concat list of the same files.
  std::string list = JoinPath(edir, "concat.txt");
  {
    std::ofstream out(list);
    for (const auto& f : rec.files) out << "file '" << f << "'\n";
  }
  std::string ff_out = JoinPath(edir, "ffmpeg.mp4");
  std::string ff_cmd = fmt::format(
      "ffmpeg -hide_banner -loglevel error -y -f concat -safe 0 -i '{}' -c copy '{}'", list, ff_out);

  fmt::print("\n== export: {} min of 1080p H.264, {:.0f} MB in {} segments (median of {}) ==\n",
             minutes, static_cast<double>(rec.bytes) / 1e6, rec.files.size(), repeat);
  // Warm the page cache for both.
  (void)std::system(fmt::format("cat {}/recordings/cam1/*.mp4 > /dev/null", edir).c_str());
  std::vector<double> ff_ms, first_ms, total_ms, server_ms;
  int64_t clip_bytes = 0;
  for (int r = 0; r < repeat; ++r) {
    // Each timed step starts with no dirty pages from the one before (their writeback would be
    // charged to whoever runs next).
    ::sync();
    auto t0 = Clock_::now();
    int rc = std::system(ff_cmd.c_str());
    ff_ms.push_back(Ms(Clock_::now() - t0));
    if (rc != 0) fmt::print(stderr, "ffmpeg failed ({})\n", rc);

    // Downloaded by the client while the server writes it.
    ::sync();
    api::v1::Request q;
    auto* e = q.mutable_export_clip();
    e->add_cameras("cam1");
    e->mutable_range()->set_from_ns(rec.start_ns);
    e->mutable_range()->set_to_ns(rec.end_ns);
    t0 = Clock_::now();
    auto plan = client->Call(q);
    if (!plan.ok()) {
      fmt::print(stderr, "export: {}\n", plan.error().message());
      std::exit(1);
    }
    double first = -1;
    std::string local = JoinPath(edir, fmt::format("download-{}.mp4", r));
    auto m = api::DownloadClip(*client, plan->export_clip().export_id(), 0, local,
                               [&](int64_t bytes, int64_t, int64_t) {
                                 if (first < 0 && bytes > 0) first = Ms(Clock_::now() - t0);
                               });
    total_ms.push_back(Ms(Clock_::now() - t0));
    first_ms.push_back(first);
    if (!m.ok()) {
      fmt::print(stderr, "download: {}\n", m.error().message());
      std::exit(1);
    }
    clip_bytes = m->bytes();
    (void)RemoveFile(local);

    // Written on the server only.
    ::sync();
    t0 = Clock_::now();
    plan = client->Call(q);
    auto w = api::WaitForClip(*client, plan->export_clip().export_id(), 0);
    server_ms.push_back(Ms(Clock_::now() - t0));
    if (!w.ok()) fmt::print(stderr, "export: {}\n", w.error().message());
  }
  double ff = Median(ff_ms);
  fmt::print("{:<44} {:>10.0f} ms\n", "ffmpeg -f concat -c copy (baseline)", ff);
  fmt::print("{:<44} {:>10.0f} ms  ({:.2f}x ffmpeg)\n", "vigil export, kept on the server",
             Median(server_ms), Median(server_ms) / ff);
  fmt::print("{:<44} {:>10.0f} ms  ({:.2f}x ffmpeg)\n", "vigil export, downloaded by the client",
             Median(total_ms), Median(total_ms) / ff);
  fmt::print("{:<44} {:>10.1f} ms\n", "  time to first byte at the client", Median(first_ms));
  fmt::print("{:<44} {:>10.1f} MB ({:.0f} MB/s downloaded)\n", "  clip size",
             static_cast<double>(clip_bytes) / 1e6,
             static_cast<double>(clip_bytes) / 1e6 / (Median(total_ms) / 1000));
}

// One echo server thread (ROUTER) and one client (DEALER), with or without CURVE.
struct EchoPair {
  zmq::context_t ctx{1};
  zmq::socket_t server{ctx, zmq::socket_type::router};
  zmq::socket_t client{ctx, zmq::socket_type::dealer};
  std::thread thread;
  std::atomic<bool> stop{false};
  size_t answer_bytes = 0;

  EchoPair(bool curve, size_t answer) : answer_bytes(answer) {
    if (curve) {
      api::KeyPair s = api::NewKeyPair(), c = api::NewKeyPair();
      server.set(zmq::sockopt::curve_server, true);
      server.set(zmq::sockopt::curve_secretkey, s.secret_key);
      client.set(zmq::sockopt::curve_serverkey, s.public_key);
      client.set(zmq::sockopt::curve_publickey, c.public_key);
      client.set(zmq::sockopt::curve_secretkey, c.secret_key);
    }
    server.set(zmq::sockopt::linger, 0);
    client.set(zmq::sockopt::linger, 0);
    server.bind("tcp://127.0.0.1:*");
    client.connect(server.get(zmq::sockopt::last_endpoint));
    thread = std::thread([this] {
      std::string answer(answer_bytes, 'a');
      while (!stop.load()) {
        zmq::pollitem_t item{server.handle(), 0, ZMQ_POLLIN, 0};
        if (zmq::poll(&item, 1, std::chrono::milliseconds(50)) == 0) continue;
        zmq::message_t id, body;
        if (!server.recv(id, zmq::recv_flags::dontwait)) continue;
        (void)server.recv(body);
        server.send(id, zmq::send_flags::sndmore);
        server.send(zmq::buffer(answer), zmq::send_flags::none);
      }
    });
  }
  ~EchoPair() {
    stop = true;
    thread.join();
  }
};

void CurveCost(double seconds) {
  fmt::print("\nCURVE cost: ZeroMQ ROUTER/DEALER echo on loopback, plain (baseline) vs CURVE, same run\n");
  fmt::print("{:<8} {:>14} {:>10} {:>10} {:>16}\n", "", "small req/s", "p50 us", "p99 us", "1 MiB chunks MB/s");
  for (bool curve : {false, true}) {
    std::vector<double> lat;
    double rate = 0, mbps = 0;
    {
      EchoPair pair(curve, 2048);
      const std::string request(120, 'q');
      zmq::message_t m;
      pair.client.send(zmq::buffer(request), zmq::send_flags::none);  // the handshake, not timed
      (void)pair.client.recv(m);
      auto t0 = Clock_::now();
      while (Ms(Clock_::now() - t0) < seconds * 1000) {
        auto a = Clock_::now();
        pair.client.send(zmq::buffer(request), zmq::send_flags::none);
        (void)pair.client.recv(m);
        lat.push_back(Ms(Clock_::now() - a) * 1000);
      }
      rate = static_cast<double>(lat.size()) / (Ms(Clock_::now() - t0) / 1000);
    }
    {
      EchoPair pair(curve, 1 << 20);
      zmq::message_t m;
      pair.client.send(zmq::str_buffer("go"), zmq::send_flags::none);
      (void)pair.client.recv(m);
      int64_t bytes = 0;
      int in_flight = 0;
      auto t0 = Clock_::now();
      while (Ms(Clock_::now() - t0) < seconds * 1000) {
        while (in_flight < 4) {
          pair.client.send(zmq::str_buffer("chunk"), zmq::send_flags::none);
          ++in_flight;
        }
        (void)pair.client.recv(m);
        bytes += static_cast<int64_t>(m.size());
        --in_flight;
      }
      mbps = static_cast<double>(bytes) / 1e6 / (Ms(Clock_::now() - t0) / 1000);
      while (in_flight-- > 0) (void)pair.client.recv(m);
    }
    fmt::print("{:<8} {:>14.0f} {:>10.1f} {:>10.1f} {:>16.0f}\n", curve ? "CURVE" : "plain", rate,
               Median(lat), Percentile(lat, 0.99), mbps);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"vigil-bench-api: small-query latency and clip export against ffmpeg"};
  std::string clients = "1,10,50";
  double seconds = 5;
  int minutes = 10, kbps = 4000, repeat = 3;
  std::string dir = "bench-out/api";
  app.add_option("--clients", clients, "client counts, comma-separated");
  app.add_option("--seconds", seconds, "seconds per client count");
  app.add_option("--export-minutes", minutes, "length of the exported clip (0: skip)");
  app.add_option("--kbps", kbps, "bitrate of the recorded footage");
  app.add_option("--repeat", repeat, "export runs (median reported)");
  app.add_option("--dir", dir, "working directory");
  double curve_seconds = 3;
  app.add_option("--curve-seconds", curve_seconds, "seconds per CURVE-cost measurement (0: skip)");
  CLI11_PARSE(app, argc, argv);
  SetLogLevel("warn");
  (void)MakeDirs(dir);
  if (char* abs = ::realpath(dir.c_str(), nullptr)) {
    dir = abs;
    std::free(abs);
  }
  std::vector<int> counts;
  for (size_t p = 0; p < clients.size();) {
    size_t q = clients.find(',', p);
    counts.push_back(std::stoi(clients.substr(p, q - p)));
    p = q == std::string::npos ? clients.size() : q + 1;
  }
  fmt::print("vigil API benchmark, {} cores\n", std::thread::hardware_concurrency());
  if (!counts.empty() && seconds > 0) SmallQueries(dir, counts, seconds);
  if (minutes > 0) Export(dir, minutes, kbps, repeat);
  if (curve_seconds > 0) CurveCost(curve_seconds);
  return 0;
}
