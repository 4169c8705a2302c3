#pragma once
// Versioned schema migrations for the SQLite index. Migration i (1-based) takes a file from
// user_version i-1 to i. The full schema, commented, is docs/storage.md's companion: schema.cpp.

#include <span>
#include <string_view>

#include "base/status.h"
#include "index/internal/sqlite_db.h"

namespace vigil::index::internal {

std::span<const std::string_view> Migrations();

// Applies pending migrations in one transaction each. Refuses a file newer than Migrations().size().
Status Migrate(Db& db);

}  // namespace vigil::index::internal
