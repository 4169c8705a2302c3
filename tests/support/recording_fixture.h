#pragma once
// Shared pieces of the recording end-to-end tests: a camsim in-process on a free port, vigild configs,
// and checks that read the recordings back (libavformat) and compare them with the index.

#include <memory>
#include <string>
#include <vector>

#include "index/store.h"
#include "tools/camsim/simulator.h"
#include "tests/support/temp_dir.h"

namespace vigil::testing {

// A camsim serving replay loops on a free port (1080p main by default, as the issue asks).
std::unique_ptr<camsim::Simulator> StartCamsim(camsim::SimOptions options);

struct TomlCamera {
  std::string id;
  std::string url;
  std::string extra = "";  // more TOML lines for this camera
};

// A vigild config recording into `data_dir`, with `recording` lines under [recording].
std::string VigildConfig(const std::string& data_dir, const std::string& recording,
                         const std::vector<TomlCamera>& cameras);

// All rows of the index at data_dir/index.db, oldest first (opened after vigild has stopped).
std::vector<index::Segment> IndexSegments(const std::string& data_dir, const std::string& camera = "");
std::vector<index::Gap> IndexGaps(const std::string& data_dir, const std::string& camera = "");

// Every file under data_dir/recordings, relative to data_dir, sorted.
std::vector<std::string> RecordingFiles(const std::string& data_dir);

// Checks (doctest CHECKs) that each segment's file exists with the row's size and hash, plays with
// the row's frame count, and starts on a decodable random-access picture.
void CheckSegmentsMatchFiles(const std::string& data_dir, const std::vector<index::Segment>& segs);

// Sleeps in small steps until pred() or timeout; returns pred().
bool WaitFor(const std::function<bool()>& pred, double timeout_s);

}  // namespace vigil::testing
