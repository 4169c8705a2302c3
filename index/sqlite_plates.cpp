// SQLite Store, part 3: plate reads, plate search and the watchlist.
//
// Search runs over the distinct plates (one row per plate text, far fewer than reads), then reads
// those plates' reads through (plate, time):
// - exact: one lookup of the text;
// - fuzzy: one lookup of the confusable-class key (base/plate_text.h), then the substitutions are
//   counted per candidate;
// - wildcard: a range of the text index (literal prefix) or of the reversed-text index (literal
//   suffix), whichever fixes more serial characters, then the pattern is matched per candidate.
//   When neither is selective, or more than kMaxCandidates plates match, the reads in the time range
//   are scanned newest first instead, stopping at the page limit.

#include <algorithm>
#include <cmath>

#include "base/clock.h"
#include "base/plate_text.h"
#include "index/geo.h"
#include "index/internal/merge.h"
#include "index/internal/page_token.h"
#include "index/internal/sqlite_store.h"

namespace vigil::index::internal {
namespace {

constexpr size_t kMaxCandidates = 2000;

std::string Reversed(std::u32string_view text) {
  std::u32string r(text.rbegin(), text.rend());
  return plate::Encode(r);
}

// The smallest string greater than every string starting with `prefix` (bytewise, as SQLite's
// BINARY collation compares UTF-8).
std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xFF) prefix.pop_back();
  if (!prefix.empty()) prefix.back() = static_cast<char>(static_cast<unsigned char>(prefix.back()) + 1);
  return prefix;
}

constexpr const char* kReadColumns =
    "r.time_ns, r.id, r.camera, r.plate, r.color, r.confidence, r.x, r.y, r.w, r.h, r.snapshot, "
    "r.track";

}  // namespace

Result<int64_t> SqliteStore::AddPlateRead(const PlateRead& r) {
  VIGIL_ASSIGN_OR_RETURN(std::u32string text, plate::ParsePlate(r.plate));
  if (!(r.confidence >= 0 && r.confidence <= 1)) {
    return Status::InvalidArgument(
        fmt::format("plate read confidence {} is not in [0, 1]", r.confidence));
  }
  if (PlateColorName(r.color) == "unknown" && r.color != PlateColor::kUnknown) {
    return Status::InvalidArgument(
        fmt::format("unknown plate colour code {}", static_cast<int>(r.color)));
  }
  VIGIL_ASSIGN_OR_RETURN(int64_t num, CameraNum(r.camera));
  ReadRow row{r, num, Reversed(text), plate::ClassKey(text)};
  row.read.plate = plate::Encode(text);
  int64_t id = 0;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return ClosedError();
    if (static_cast<int64_t>(pending_events_.size() + pending_reads_.size()) >= options_.max_pending) {
      return Status::ResourceExhausted(fmt::format(
          "index write queue is full ({} rows wait for the disk): plate read dropped",
          options_.max_pending));
    }
    id = next_read_id_++;
    row.read.id = id;
    pending_reads_.push_back(std::move(row));
  }
  cv_.notify_one();
  return id;
}

Result<int64_t> SqliteStore::PlateId(StmtCache& sc, const ReadRow& row) {
  auto it = plate_ids_.find(row.read.plate);
  if (it != plate_ids_.end()) return it->second;
  VIGIL_ASSIGN_OR_RETURN(Stmt * q, sc.Get("SELECT id FROM plates WHERE text = ?1"));
  q->Bind(1, row.read.plate);
  VIGIL_ASSIGN_OR_RETURN(bool found, q->Step());
  int64_t id = 0;
  if (found) {
    id = q->Int(0);
    q->Reset();
  } else {
    q->Reset();
    VIGIL_ASSIGN_OR_RETURN(Stmt * i, sc.Get("INSERT INTO plates (text, rev, class) VALUES (?1, ?2, ?3)"));
    i->Bind(1, row.read.plate).Bind(2, row.rev).Bind(3, row.cls);
    VIGIL_RETURN_IF_ERROR(i->Run());
    id = sc.db().LastInsertId();
  }
  if (plate_ids_.size() >= 1'000'000) plate_ids_.clear();  // bound the writer's memory
  plate_ids_.emplace(row.read.plate, id);
  return id;
}

Status SqliteStore::InsertReads(StmtCache& sc, const std::vector<ReadRow>& rows) {
  int64_t max_id = 0;
  for (const auto& row : rows) {
    VIGIL_ASSIGN_OR_RETURN(int64_t plate_id, PlateId(sc, row));
    VIGIL_ASSIGN_OR_RETURN(
        Stmt * s, sc.Get("INSERT INTO plate_reads (time_ns, id, camera, plate, color, confidence, "
                         "x, y, w, h, snapshot, track) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
                         "?10, ?11, ?12)"));
    const PlateRead& r = row.read;
    s->Bind(1, r.time_ns).Bind(2, r.id).Bind(3, row.camera_num).Bind(4, plate_id);
    s->Bind(5, static_cast<int64_t>(r.color)).Bind(6, static_cast<int64_t>(std::llround(r.confidence * 1000)));
    s->Bind(7, r.box.x).Bind(8, r.box.y).Bind(9, r.box.w).Bind(10, r.box.h);
    s->Bind(11, r.snapshot).Bind(12, r.track);
    VIGIL_RETURN_IF_ERROR(s->Run());
    max_id = std::max(max_id, r.id);
  }
  VIGIL_ASSIGN_OR_RETURN(
      Stmt * n,
      sc.Get("UPDATE counters SET value = max(value, ?1) WHERE name = 'next_plate_read_id'"));
  n->Bind(1, max_id + 1);
  return n->Run();
}

// Candidate plates, or nullopt when the search should scan reads instead (wildcard too broad).
Result<std::optional<std::vector<SqliteStore::Candidate>>> SqliteStore::PlateCandidates(
    const PlateQuery& q) {
  std::vector<Candidate> out;
  auto collect = [&](Stmt* s, const std::function<std::optional<int>(std::u32string_view)>& keep,
                     size_t cap) -> Result<bool> {
    for (;;) {
      VIGIL_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) return true;
      std::string text = s->Text(1);
      if (auto subs = keep(plate::Decode(text))) {
        if (out.size() == cap) return false;
        out.push_back({s->Int(0), std::move(text), *subs});
      }
    }
  };
  std::lock_guard lock(read_mu_);
  switch (q.match) {
    case PlateMatch::kExact: {
      VIGIL_ASSIGN_OR_RETURN(std::u32string p, plate::ParsePlate(q.pattern));
      VIGIL_ASSIGN_OR_RETURN(Stmt * s, reader_stmts_.Get("SELECT id, text FROM plates WHERE text = ?1"));
      s->Bind(1, plate::Encode(p));
      VIGIL_RETURN_IF_ERROR(collect(s, [](std::u32string_view) { return std::optional<int>(0); },
                                    SIZE_MAX).status());
      return std::optional(std::move(out));
    }
    case PlateMatch::kFuzzy: {
      VIGIL_ASSIGN_OR_RETURN(std::u32string p, plate::ParsePlate(q.pattern));
      VIGIL_ASSIGN_OR_RETURN(Stmt * s,
                             reader_stmts_.Get("SELECT id, text FROM plates WHERE class = ?1"));
      s->Bind(1, plate::ClassKey(p));
      auto keep = [&](std::u32string_view text) -> std::optional<int> {
        auto subs = plate::ConfusableSubstitutions(p, text);
        if (subs && *subs <= q.max_substitutions) return subs;
        return std::nullopt;
      };
      VIGIL_RETURN_IF_ERROR(collect(s, keep, SIZE_MAX).status());
      return std::optional(std::move(out));
    }
    case PlateMatch::kWildcard: {
      VIGIL_ASSIGN_OR_RETURN(plate::Pattern pat, plate::ParsePattern(q.pattern));
      // Province and issuing letter are shared by most local plates: only serial characters count.
      int prefix_score = static_cast<int>(pat.prefix.size()) - 2;
      int suffix_score = static_cast<int>(pat.suffix.size());
      if (!pat.has_star && pat.text.find(U'?') == std::u32string::npos) prefix_score = 99;
      if (std::max(prefix_score, suffix_score) < 2) return std::optional<std::vector<Candidate>>();
      Stmt* s = nullptr;
      if (prefix_score >= suffix_score) {
        VIGIL_ASSIGN_OR_RETURN(
            s, reader_stmts_.Get("SELECT id, text FROM plates WHERE text >= ?1 AND text < ?2"));
        std::string prefix = plate::Encode(pat.prefix);
        s->Bind(1, prefix).Bind(2, PrefixEnd(prefix));
      } else {
        VIGIL_ASSIGN_OR_RETURN(
            s, reader_stmts_.Get("SELECT id, text FROM plates WHERE rev >= ?1 AND rev < ?2"));
        std::string rev = Reversed(pat.suffix);
        s->Bind(1, rev).Bind(2, PrefixEnd(rev));
      }
      auto keep = [&](std::u32string_view text) -> std::optional<int> {
        if (plate::Matches(pat, text)) return 0;
        return std::nullopt;
      };
      VIGIL_ASSIGN_OR_RETURN(bool complete, collect(s, keep, kMaxCandidates));
      s->Reset();
      if (!complete) return std::optional<std::vector<Candidate>>();
      return std::optional(std::move(out));
    }
  }
  return Status::InvalidArgument("unknown plate match mode");
}

Result<Page<PlateHit>> SqliteStore::Plates(const PlateQuery& q) {
  VIGIL_RETURN_IF_ERROR(ValidateRange(q.range, "plates"));
  VIGIL_RETURN_IF_ERROR(ValidateLimit(q.page.limit));
  if (q.area) VIGIL_RETURN_IF_ERROR(ValidateArea(*q.area));
  if (q.match == PlateMatch::kFuzzy &&
      (q.max_substitutions < 0 || q.max_substitutions > plate::kMaxPlateLength)) {
    return Status::InvalidArgument(fmt::format("max substitutions {} is not in 0..{}",
                                               q.max_substitutions, plate::kMaxPlateLength));
  }
  Fingerprint fp;
  fp.Add(plate::Encode(plate::Normalize(q.pattern))).Add(static_cast<int64_t>(q.match));
  fp.Add(q.match == PlateMatch::kFuzzy ? q.max_substitutions : 0);
  fp.Add(q.range.start_ns).Add(q.range.end_ns);
  fp.AddSet(q.cameras);
  AddArea(fp, q.area);
  VIGIL_ASSIGN_OR_RETURN(auto token, DecodeToken(q.page.token, "plates", fp.value(), 3));
  VIGIL_ASSIGN_OR_RETURN(auto cands, PlateCandidates(q));  // validates the pattern
  VIGIL_ASSIGN_OR_RETURN(auto nums, ResolveCameras(q.cameras, q.area));
  Page<PlateHit> page;
  if (nums && nums->empty()) return page;
  std::string camera_filter = nums ? fmt::format("AND r.camera IN ({})", IntList(*nums)) : "";
  const size_t want = static_cast<size_t>(q.page.limit) + 1;

  auto read_row = [&](const Stmt& s, std::string text, int subs) {
    PlateHit h;
    h.substitutions = subs;
    PlateRead& r = h.read;
    r.time_ns = s.Int(0);
    r.id = s.Int(1);
    r.camera = CameraId(s.Int(2));
    r.plate = std::move(text);
    r.color = static_cast<PlateColor>(s.Int(4));
    r.confidence = static_cast<double>(s.Int(5)) / 1000.0;
    r.box = {static_cast<int>(s.Int(6)), static_cast<int>(s.Int(7)), static_cast<int>(s.Int(8)),
             static_cast<int>(s.Int(9))};
    r.snapshot = s.Text(10);
    r.track = s.Int(11);
    return h;
  };
  // Newest first: without a token the keyset bound is the range's end (a tight seek bound).
  const Key range_end{q.range.end_ns, INT64_MIN};
  const Key start_key = token.empty() ? range_end : Key{token[1], token[2]};
  const int start_subs = token.empty() ? 0 : static_cast<int>(token[0]);

  if (!cands) {
    // Broad wildcard: scan the range's reads newest first, matching each plate's text.
    VIGIL_ASSIGN_OR_RETURN(plate::Pattern pat, plate::ParsePattern(q.pattern));
    std::string sql = fmt::format(
        "SELECT {}, p.text FROM plate_reads r JOIN plates p ON p.id = r.plate WHERE r.time_ns >= ?1 "
        "AND r.time_ns < ?2 AND (r.time_ns, r.id) < (?3, ?4) {} ORDER BY r.time_ns DESC, r.id DESC",
        kReadColumns, camera_filter);
    std::lock_guard lock(read_mu_);
    VIGIL_ASSIGN_OR_RETURN(Stmt s, reader_db_->Prepare(sql));
    s.Bind(1, q.range.start_ns).Bind(2, q.range.end_ns).Bind(3, start_key.first).Bind(4, start_key.second);
    while (page.items.size() < want) {
      VIGIL_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      std::string text = s.Text(12);
      if (!plate::Matches(pat, plate::Decode(text))) continue;
      page.items.push_back(read_row(s, std::move(text), 0));
    }
  } else {
    // Candidates grouped by substitutions (fewest first); within a group newest first, merged
    // across the group's plates through (plate, time).
    std::sort(cands->begin(), cands->end(), [](const Candidate& a, const Candidate& b) {
      return a.substitutions != b.substitutions ? a.substitutions < b.substitutions
                                                : a.plate_id < b.plate_id;
    });
    // Merge over index entries (plate, time, id, camera) only; read the rows returned.
    std::string sql = fmt::format(
        "SELECT r.time_ns, r.id FROM plate_reads r INDEXED BY plate_reads_by_plate WHERE r.plate = ?1 "
        "AND r.time_ns >= ?2 AND r.time_ns < ?3 AND (r.time_ns, r.id) < (?4, ?5) {} ORDER BY "
        "r.time_ns DESC, r.id DESC LIMIT ?6",
        camera_filter);
    std::lock_guard lock(read_mu_);
    ReadTxn txn(*reader_db_);
    VIGIL_ASSIGN_OR_RETURN(Stmt s, reader_db_->Prepare(sql));
    VIGIL_ASSIGN_OR_RETURN(
        Stmt * row, reader_stmts_.Get("SELECT r.time_ns, r.id, r.camera, r.plate, r.color, "
                                      "r.confidence, r.x, r.y, r.w, r.h, r.snapshot, r.track FROM "
                                      "plate_reads r WHERE r.time_ns = ?1 AND r.id = ?2"));
    size_t begin = 0;
    while (begin < cands->size() && page.items.size() < want) {
      int subs = (*cands)[begin].substitutions;
      size_t end = begin;
      while (end < cands->size() && (*cands)[end].substitutions == subs) ++end;
      if (subs < start_subs) {
        begin = end;
        continue;
      }
      Key group_start = subs == start_subs ? start_key : range_end;
      std::function<Result<std::vector<PlateHit>>(size_t, std::optional<Key>, size_t)> fetch =
          [&](size_t src, std::optional<Key> after, size_t n) -> Result<std::vector<PlateHit>> {
        const Candidate& c = (*cands)[begin + src];
        Key from = after ? *after : group_start;
        s.Reset();
        s.Bind(1, c.plate_id).Bind(2, q.range.start_ns).Bind(3, q.range.end_ns);
        s.Bind(4, from.first).Bind(5, from.second).Bind(6, static_cast<int64_t>(n));
        std::vector<PlateHit> rows;
        for (;;) {
          VIGIL_ASSIGN_OR_RETURN(bool more, s.Step());
          if (!more) break;
          PlateHit h;
          h.read.time_ns = s.Int(0);
          h.read.id = s.Int(1);
          h.read.plate = c.text;
          h.substitutions = c.substitutions;
          rows.push_back(std::move(h));
        }
        return rows;
      };
      std::function<Key(const PlateHit&)> key = [](const PlateHit& h) {
        return Key{h.read.time_ns, h.read.id};
      };
      VIGIL_ASSIGN_OR_RETURN(auto rows, MergeSources<PlateHit>(end - begin, want - page.items.size(),
                                                               true, key, fetch));
      for (auto& h : rows) {
        row->Reset();
        row->Bind(1, h.read.time_ns).Bind(2, h.read.id);
        VIGIL_ASSIGN_OR_RETURN(bool found, row->Step());
        if (!found) return Status::Internal(fmt::format("plate read {} vanished", h.read.id));
        page.items.push_back(read_row(*row, std::move(h.read.plate), h.substitutions));
      }
      row->Reset();
      begin = end;
    }
  }
  if (page.items.size() == want) {
    page.items.pop_back();
    const PlateHit& last = page.items.back();
    page.next_token =
        EncodeToken("plates", fp.value(), {last.substitutions, last.read.time_ns, last.read.id});
  }
  return page;
}

// ---- Watchlist ------------------------------------------------------------------------------------

Result<int64_t> SqliteStore::AddWatch(const WatchEntry& w) {
  switch (w.match) {
    case PlateMatch::kExact:
    case PlateMatch::kFuzzy:
      VIGIL_RETURN_IF_ERROR(plate::ParsePlate(w.pattern).status());
      break;
    case PlateMatch::kWildcard:
      VIGIL_RETURN_IF_ERROR(plate::ParsePattern(w.pattern).status());
      break;
  }
  if (w.max_substitutions < 0 || w.max_substitutions > plate::kMaxPlateLength) {
    return Status::InvalidArgument(
        fmt::format("max substitutions {} is not in 0..{}", w.max_substitutions, plate::kMaxPlateLength));
  }
  if (w.added_by.empty()) return Status::InvalidArgument("watchlist entry needs who added it");
  if (w.priority < 1 || w.priority > 5) {
    return Status::InvalidArgument(fmt::format("watchlist priority {} is not in 1 (most urgent)..5", w.priority));
  }
  if (w.expires_ns != 0 && w.expires_ns <= w.added_ns) {
    return Status::InvalidArgument("watchlist entry expires before it is added");
  }
  std::string pattern = plate::Encode(plate::Normalize(w.pattern));
  auto id = std::make_shared<int64_t>(0);
  VIGIL_RETURN_IF_ERROR(WriteSync([w, pattern, id](StmtCache& sc) -> Status {
    VIGIL_ASSIGN_OR_RETURN(
        Stmt * s, sc.Get("INSERT INTO watchlist (pattern, match, max_substitutions, reason, "
                         "added_by, added_ns, priority, expires_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"));
    s->Bind(1, pattern).Bind(2, static_cast<int64_t>(w.match)).Bind(3, w.max_substitutions);
    s->Bind(4, w.reason).Bind(5, w.added_by).Bind(6, w.added_ns);
    s->Bind(7, static_cast<int64_t>(w.priority)).Bind(8, w.expires_ns);
    VIGIL_RETURN_IF_ERROR(s->Run());
    *id = sc.db().LastInsertId();
    return Status::Ok();
  }));
  return *id;
}

Status SqliteStore::RemoveWatch(int64_t id, const std::string& by, int64_t now_ns) {
  return WriteSync([id, by, now_ns](StmtCache& sc) -> Status {
    VIGIL_ASSIGN_OR_RETURN(
        Stmt * s, sc.Get("UPDATE watchlist SET removed_by = ?2, removed_ns = ?3 WHERE id = ?1 AND "
                         "removed_ns IS NULL"));
    s->Bind(1, id).Bind(2, by).Bind(3, now_ns);
    VIGIL_RETURN_IF_ERROR(s->Run());
    if (sc.db().Changes() != 1) {
      return Status::NotFound(fmt::format("no watchlist entry {} (or it was already removed)", id));
    }
    return Status::Ok();
  });
}

Result<std::vector<WatchEntry>> SqliteStore::Watchlist() {
  std::lock_guard lock(read_mu_);
  VIGIL_ASSIGN_OR_RETURN(
      Stmt * s, reader_stmts_.Get("SELECT id, pattern, match, max_substitutions, reason, added_by, "
                                  "added_ns, priority, expires_ns FROM watchlist WHERE removed_ns IS NULL "
                                  "ORDER BY id"));
  std::vector<WatchEntry> out;
  for (;;) {
    VIGIL_ASSIGN_OR_RETURN(bool row, s->Step());
    if (!row) break;
    out.push_back({s->Int(0), s->Text(1), static_cast<PlateMatch>(s->Int(2)),
                   static_cast<int>(s->Int(3)), s->Text(4), s->Text(5), s->Int(6),
                   static_cast<int>(s->Int(7)), s->Int(8)});
  }
  return out;
}

}  // namespace vigil::index::internal
