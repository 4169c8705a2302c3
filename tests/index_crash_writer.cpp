// Helper for index_crash_test: writes events and plate reads into an index in a loop and prints
// "committed N M" (highest event and plate-read id) after each Flush, until it is killed.

#include <cstdio>

#include "index/store.h"

int main(int argc, char** argv) {
  using namespace vigil::index;
  if (argc != 2) {
    std::fprintf(stderr, "usage: index-crash-writer INDEX.db\n");
    return 2;
  }
  auto opened = OpenSqliteStore(argv[1]);
  if (!opened.ok()) {
    std::fprintf(stderr, "%s\n", opened.error().ToString().c_str());
    return 1;
  }
  Store& store = **opened;
  Camera cam;
  cam.id = "c1";
  cam.name = "crash camera";
  cam.main_url = "rtsp://127.0.0.1/c1";
  if (!store.UpsertCamera(cam).ok()) return 1;
  for (int64_t round = 0;; ++round) {
    int64_t last_event = 0, last_read = 0;
    for (int i = 0; i < 300; ++i) {
      Event e;
      e.camera = "c1";
      e.start_ns = 1'779'580'800'000'000'000 + (round * 300 + i) * 1'000'000;
      e.end_ns = e.start_ns + 500'000'000;
      e.type = EventType::kMotion;
      e.attributes = R"({"pad":"a longer attribute text so that batches span several pages"})";
      auto id = store.AddEvent(e);
      if (!id.ok()) return 1;
      last_event = *id;
      if (i % 10 == 0) {
        PlateRead r;
        r.camera = "c1";
        r.time_ns = e.start_ns;
        r.plate = "云A" + std::to_string(10000 + (round * 30 + i / 10) % 90000);
        auto rid = store.AddPlateRead(r);
        if (!rid.ok()) return 1;
        last_read = *rid;
      }
    }
    if (!store.Flush().ok()) return 1;
    std::printf("committed %lld %lld\n", static_cast<long long>(last_event),
                static_cast<long long>(last_read));
    std::fflush(stdout);
  }
}
