#include "index/internal/schema.h"

#include <array>

namespace vigil::index::internal {
namespace {

// Never edit a migration once it has shipped: add a new one.
constexpr std::string_view kV1 = R"sql(
-- Cameras as configured. Rows are kept when a camera leaves the config: its footage still refers to it.
CREATE TABLE cameras (
  id        TEXT PRIMARY KEY,
  name      TEXT NOT NULL,
  main_url  TEXT NOT NULL,
  sub_url   TEXT NOT NULL DEFAULT '',
  lat       REAL NOT NULL,
  lon       REAL NOT NULL,
  place     TEXT NOT NULL DEFAULT '',
  district  TEXT NOT NULL DEFAULT '',
  tags      TEXT NOT NULL DEFAULT ''          -- comma-separated
);

-- One row per segment file. The row is committed (state 0, open) before the file's first byte, and
-- completed (state 1 closed / 2 recovered) after the file is fsynced; retention marks it 3 (deleting)
-- before removing the file, and deletes the row after. See docs/storage.md.
CREATE TABLE segments (
  id                  INTEGER PRIMARY KEY,
  camera              TEXT NOT NULL REFERENCES cameras(id),
  state               INTEGER NOT NULL CHECK (state BETWEEN 0 AND 3),
  start_ns            INTEGER NOT NULL,     -- wall time of the first frame, UTC ns
  end_ns              INTEGER NOT NULL,     -- wall time just after the last frame; = start_ns while open
  path                TEXT NOT NULL UNIQUE, -- relative to the data directory
  bytes               INTEGER NOT NULL DEFAULT 0,
  frames              INTEGER NOT NULL DEFAULT 0,
  media_duration_90k  INTEGER NOT NULL DEFAULT 0,
  codec               TEXT NOT NULL,
  width               INTEGER NOT NULL DEFAULT 0,
  height              INTEGER NOT NULL DEFAULT 0,
  sha256              TEXT NOT NULL DEFAULT ''
);
CREATE INDEX segments_by_camera_time ON segments (camera, start_ns);
CREATE INDEX segments_by_time ON segments (start_ns);
CREATE INDEX segments_unfinished ON segments (state) WHERE state IN (0, 3);

-- Spans without footage and why ("connection refused", "stalled: no frame for 10 s", ...).
CREATE TABLE gaps (
  id        INTEGER PRIMARY KEY,
  camera    TEXT NOT NULL REFERENCES cameras(id),
  start_ns  INTEGER NOT NULL,
  end_ns    INTEGER,                          -- NULL while the outage goes on
  reason    TEXT NOT NULL
);
CREATE INDEX gaps_by_camera_time ON gaps (camera, start_ns);
)sql";

constexpr std::array<std::string_view, 1> kMigrations = {kV1};

}  // namespace

std::span<const std::string_view> Migrations() { return kMigrations; }

Status Migrate(Db& db) {
  VIGIL_ASSIGN_OR_RETURN(Stmt version_stmt, db.Prepare("PRAGMA user_version"));
  VIGIL_ASSIGN_OR_RETURN(bool has_row, version_stmt.Step());
  int64_t version = has_row ? version_stmt.Int(0) : 0;
  version_stmt.Reset();
  const int64_t known = static_cast<int64_t>(kMigrations.size());
  if (version > known) {
    return Status::FailedPrecondition(
        fmt::format("index {} has schema version {}, newer than this vigil's {}: upgrade vigil, "
                    "or open a copy made by this version",
                    db.path(), version, known));
  }
  for (int64_t v = version; v < known; ++v) {
    VIGIL_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE"));
    Status st = db.Exec(kMigrations[static_cast<size_t>(v)]);
    if (st.ok()) st = db.Exec(fmt::format("PRAGMA user_version = {}", v + 1));
    if (!st.ok()) {
      (void)db.Exec("ROLLBACK");
      return st.WithContext(fmt::format("migration to schema version {}", v + 1));
    }
    VIGIL_RETURN_IF_ERROR(db.Exec("COMMIT"));
  }
  return Status::Ok();
}

}  // namespace vigil::index::internal
