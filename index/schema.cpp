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

// Events, plate reads, places, watchlist, alerts, audit.
constexpr std::string_view kV2 = R"sql(
-- Integer camera keys: events and plate reads are the big tables (100M+ rows); a 1-2 byte key per row
-- instead of the text id. num never changes once given.
ALTER TABLE cameras ADD COLUMN num INTEGER;
UPDATE cameras SET num = rowid;
CREATE UNIQUE INDEX cameras_by_num ON cameras (num);

-- Camera positions for place queries (bounding-box prefilter; exact great-circle test after).
-- Cameras at (0, 0) are "not placed" and have no row.
CREATE VIRTUAL TABLE cameras_rtree USING rtree (num, min_lat, max_lat, min_lon, max_lon);
INSERT INTO cameras_rtree SELECT num, lat, lat, lon, lon FROM cameras WHERE lat != 0 OR lon != 0;

-- Counters persisted with the rows they number (ids are handed out before the batch commits).
CREATE TABLE counters (
  name   TEXT PRIMARY KEY,
  value  INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO counters VALUES ('next_event_id', 1), ('next_plate_read_id', 1), ('cameras_version', 1);
-- The longest segment ever finished: "segments overlapping [from, to)" becomes the index range
-- start in [from - max_segment_ns, to) instead of every segment before `to`.
INSERT INTO counters SELECT 'max_segment_ns', COALESCE(MAX(end_ns - start_ns), 0) FROM segments;

-- Events, clustered by camera then time: "this camera (or these 40) between 21:00 and 21:30" reads
-- contiguous rows. Queries take events starting in [from, to); see docs/index.md.
CREATE TABLE events (
  camera      INTEGER NOT NULL,          -- cameras.num
  start_ns    INTEGER NOT NULL,
  id          INTEGER NOT NULL,
  end_ns      INTEGER NOT NULL,
  type        INTEGER NOT NULL,          -- EventType: GA/T 2000.254 codes 1-12, vigil's own from 101
  zone        TEXT NOT NULL DEFAULT '',
  track       INTEGER NOT NULL DEFAULT 0,
  score       INTEGER NOT NULL DEFAULT 0, -- 0..1000
  x INTEGER NOT NULL DEFAULT 0, y INTEGER NOT NULL DEFAULT 0,
  w INTEGER NOT NULL DEFAULT 0, h INTEGER NOT NULL DEFAULT 0,
  snapshot    TEXT NOT NULL DEFAULT '',
  attributes  TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (camera, start_ns, id)
) WITHOUT ROWID;
-- All cameras in time order; holds (start_ns, id, type, camera): covers the type filter.
CREATE INDEX events_by_time ON events (start_ns, id, type);

-- Per camera, type and UTC hour: dashboards read this instead of counting millions of rows.
CREATE TABLE event_counts (
  hour_ns  INTEGER NOT NULL,
  camera   INTEGER NOT NULL,
  type     INTEGER NOT NULL,
  n        INTEGER NOT NULL,
  PRIMARY KEY (hour_ns, camera, type)
) WITHOUT ROWID;

-- Distinct plates seen, with the keys plate search uses: text (exact, and prefix ranges for
-- wildcards), rev (the text reversed: suffix ranges), class (confusable-class key: fuzzy search).
CREATE TABLE plates (
  id     INTEGER PRIMARY KEY,
  text   TEXT NOT NULL UNIQUE,
  rev    TEXT NOT NULL,
  class  TEXT NOT NULL
);
CREATE INDEX plates_by_rev ON plates (rev);
CREATE INDEX plates_by_class ON plates (class);

CREATE TABLE plate_reads (
  time_ns     INTEGER NOT NULL,
  id          INTEGER NOT NULL,
  camera      INTEGER NOT NULL,          -- cameras.num
  plate       INTEGER NOT NULL,          -- plates.id
  color       INTEGER NOT NULL DEFAULT 0,
  confidence  INTEGER NOT NULL DEFAULT 0, -- 0..1000
  x INTEGER NOT NULL DEFAULT 0, y INTEGER NOT NULL DEFAULT 0,
  w INTEGER NOT NULL DEFAULT 0, h INTEGER NOT NULL DEFAULT 0,
  snapshot    TEXT NOT NULL DEFAULT '',
  track       INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (time_ns, id)
) WITHOUT ROWID;
-- Reads of a plate by time, covering the camera filter.
CREATE INDEX plate_reads_by_plate ON plate_reads (plate, time_ns, id, camera);

CREATE TABLE watchlist (
  id                 INTEGER PRIMARY KEY,
  pattern            TEXT NOT NULL,
  match              INTEGER NOT NULL,   -- 0 exact, 1 wildcard, 2 fuzzy
  max_substitutions  INTEGER NOT NULL DEFAULT 0,
  reason             TEXT NOT NULL,
  added_by           TEXT NOT NULL,
  added_ns           INTEGER NOT NULL,
  removed_by         TEXT,
  removed_ns         INTEGER
);

CREATE TABLE alerts (
  id             INTEGER PRIMARY KEY,
  camera         INTEGER NOT NULL,
  time_ns        INTEGER NOT NULL,
  kind           TEXT NOT NULL,
  message        TEXT NOT NULL DEFAULT '',
  event_id       INTEGER NOT NULL DEFAULT 0,
  plate_read_id  INTEGER NOT NULL DEFAULT 0,
  watch_id       INTEGER NOT NULL DEFAULT 0,
  state          INTEGER NOT NULL DEFAULT 0 CHECK (state BETWEEN 0 AND 2),
  state_by       TEXT NOT NULL DEFAULT '',
  state_ns       INTEGER NOT NULL DEFAULT 0,
  note           TEXT NOT NULL DEFAULT ''
);
CREATE INDEX alerts_by_time ON alerts (time_ns);

CREATE TABLE audit (
  id             INTEGER PRIMARY KEY,
  time_ns        INTEGER NOT NULL,
  who            TEXT NOT NULL,
  action         TEXT NOT NULL,
  detail         TEXT NOT NULL DEFAULT '',
  result_sha256  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_by_time ON audit (time_ns);
CREATE INDEX audit_by_who ON audit (who, time_ns);
)sql";

// Watchlist entries get a priority (1 most urgent .. 5) and an expiry (0: never): a plate wanted for
// a week should stop alerting after it.
constexpr std::string_view kV3 = R"sql(
ALTER TABLE watchlist ADD COLUMN priority INTEGER NOT NULL DEFAULT 3;
ALTER TABLE watchlist ADD COLUMN expires_ns INTEGER NOT NULL DEFAULT 0;
)sql";

// Rapid-response zones (polygons with the patrol units assigned to each) and the life of an alert:
// when it was raised, acknowledged and closed, and who acted at each step, so that response times
// can be reported per zone.
constexpr std::string_view kV4 = R"sql(
CREATE TABLE zones (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL DEFAULT '',
  polygon     TEXT NOT NULL,             -- "lat lon;lat lon;..." in degrees
  units       TEXT NOT NULL DEFAULT '',  -- comma-separated unit ids
  updated_by  TEXT NOT NULL DEFAULT '',
  updated_ns  INTEGER NOT NULL DEFAULT 0
);
ALTER TABLE alerts ADD COLUMN raised_ns INTEGER NOT NULL DEFAULT 0;
ALTER TABLE alerts ADD COLUMN acknowledged_ns INTEGER NOT NULL DEFAULT 0;
ALTER TABLE alerts ADD COLUMN acknowledged_by TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN closed_ns INTEGER NOT NULL DEFAULT 0;
ALTER TABLE alerts ADD COLUMN closed_by TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN zone TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN units TEXT NOT NULL DEFAULT '';
-- Alerts stored before: raised when seen; the one state change they kept becomes its step.
UPDATE alerts SET raised_ns = time_ns;
UPDATE alerts SET acknowledged_ns = state_ns, acknowledged_by = state_by WHERE state = 1;
UPDATE alerts SET closed_ns = state_ns, closed_by = state_by WHERE state = 2;
CREATE INDEX alerts_by_raised ON alerts (raised_ns);
)sql";

// v5: frames received while a segment was open and not written into it (broken by packet loss, a
// mid-GOP format change): a loss inside a segment is counted on it, as an outage is a gap.
constexpr std::string_view kV5 = R"sql(
ALTER TABLE segments ADD COLUMN frames_lost INTEGER NOT NULL DEFAULT 0;
)sql";

// v6: the audit trail is hash-chained (each row's hash covers its fields and the previous row's
// hash; rows from before stay unchained at the start) and names the user's role.
constexpr std::string_view kV6 = R"sql(
ALTER TABLE audit ADD COLUMN role TEXT NOT NULL DEFAULT '';
ALTER TABLE audit ADD COLUMN hash TEXT NOT NULL DEFAULT '';
)sql";

// v7: what an event's object is (analytics' classifier: 1 person, 2 vehicle, 3 two-wheeler,
// 4 other; 0 unknown: no object, or a row from before classes) and how sure, 0..1000.
constexpr std::string_view kV7 = R"sql(
ALTER TABLE events ADD COLUMN object_class INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN class_score INTEGER NOT NULL DEFAULT 0;
)sql";

constexpr std::array<std::string_view, 7> kMigrations = {kV1, kV2, kV3, kV4, kV5, kV6, kV7};

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
