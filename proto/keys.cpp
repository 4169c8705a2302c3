#include "proto/keys.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>
#include <zmq.h>

#include "base/clock.h"
#include "base/fs.h"
#include "base/log.h"

namespace vigil::api {
namespace {

constexpr std::string_view kRoleNames[] = {"operator", "investigator", "dispatch", "admin"};

Result<std::string> Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::FromErrno(errno, "cannot read", path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Writes `text` to a new file at `path` with mode 0600: atomically (temp + rename) when `replace`,
// refusing an existing file otherwise.
Status WritePrivate(const std::string& path, const std::string& text, bool replace) {
  std::string target = replace ? path + ".tmp" : path;
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (replace ? O_TRUNC : O_EXCL);
  int fd = ::open(target.c_str(), flags, 0600);
  if (fd < 0) {
    if (errno == EEXIST) {
      return Status::AlreadyExists(fmt::format("{} exists: not replacing a key file", path));
    }
    return Status::FromErrno(errno, "cannot create", target);
  }
  (void)::fchmod(fd, 0600);
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      Status st = Status::FromErrno(errno, "cannot write", target);
      ::close(fd);
      return st;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) return Status::FromErrno(errno, "cannot write", target);
  if (replace && ::rename(target.c_str(), path.c_str()) != 0) {
    return Status::FromErrno(errno, "cannot replace", path);
  }
  return SyncDir(DirName(path));
}

Result<toml::table> ParseToml(const std::string& path, const std::string& text) {
  try {
    return toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    return Status::InvalidArgument(fmt::format("{}:{}: {}", path, e.source().begin.line,
                                               std::string(e.description())));
  }
}

Result<std::string> KeyField(const toml::table& t, const std::string& path, const char* field) {
  auto v = t[field].value<std::string>();
  if (!v) return Status::InvalidArgument(fmt::format("{}: '{}' is missing", path, field));
  if (!IsZ85Key(*v)) {
    return Status::InvalidArgument(
        fmt::format("{}: '{}' is not a CURVE key (40 characters of Z85)", path, field));
  }
  return *v;
}

Result<Role> RoleField(const toml::table& t, const std::string& where) {
  auto v = t["role"].value<std::string>();
  if (!v) return Status::InvalidArgument(fmt::format("{}: 'role' is missing", where));
  auto role = ParseRole(*v);
  if (!role) {
    return Status::InvalidArgument(fmt::format(
        "{}: unknown role '{}' (operator, investigator, dispatch or admin)", where, *v));
  }
  return *role;
}

std::string Quote(std::string_view s) {
  // User names are checked (no quotes, backslashes or control characters); keys are Z85.
  return fmt::format("\"{}\"", s);
}

std::string FormatAuthorized(const std::vector<AuthorizedKey>& keys) {
  std::string out =
      "# vigil: the keys allowed to use this server, each with its user and role.\n"
      "# Written by `vigild keys`; vigild re-reads this file when it changes (no restart).\n"
      "# Revoked keys stay listed, so that the audit trail's users remain explained.\n";
  for (const auto& k : keys) {
    out += fmt::format("\n[[key]]\nuser = {}\nrole = {}\npublic_key = {}\nadded_ns = {}  # {}\n",
                       Quote(k.user), Quote(RoleName(k.role)), Quote(k.public_key), k.added_ns,
                       FormatUtc(k.added_ns));
    if (k.revoked_ns != 0) {
      out += fmt::format("revoked_ns = {}  # {}\n", k.revoked_ns, FormatUtc(k.revoked_ns));
    }
  }
  return out;
}

// Holds an exclusive lock on `<dir>/.keys.lock` for a read-modify-write of the authorised keys.
class DirLock {
 public:
  explicit DirLock(const std::string& file) {
    std::string path = JoinPath(DirName(file), ".keys.lock");
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) {
      status_ = Status::FromErrno(errno, "cannot open lock file", path);
    } else if (::flock(fd_, LOCK_EX) != 0) {
      status_ = Status::FromErrno(errno, "cannot lock", path);
    }
  }
  ~DirLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  const Status& status() const { return status_; }

 private:
  int fd_ = -1;
  Status status_ = Status::Ok();
};

}  // namespace

std::string_view RoleName(Role role) { return kRoleNames[static_cast<int>(role)]; }

std::optional<Role> ParseRole(std::string_view name) {
  for (Role r : kAllRoles) {
    if (RoleName(r) == name) return r;
  }
  return std::nullopt;
}

KeyPair NewKeyPair() {
  std::array<char, 41> pub{}, sec{};
  if (zmq_curve_keypair(pub.data(), sec.data()) != 0) {
    // Only when libzmq was built without CURVE: nothing vigil can run without.
    Logger("api")->critical("cannot make a CURVE key pair: {}", zmq_strerror(zmq_errno()));
    std::abort();
  }
  return {pub.data(), sec.data()};
}

bool IsZ85Key(std::string_view key) {
  if (key.size() != 40) return false;
  std::string copy(key);
  uint8_t out[32];
  return zmq_z85_decode(out, copy.c_str()) != nullptr;
}

Result<std::string> PublicKeyOf(const std::string& secret_key) {
  if (!IsZ85Key(secret_key)) return Status::InvalidArgument("not a CURVE secret key");
  std::array<char, 41> pub{};
  if (zmq_curve_public(pub.data(), secret_key.c_str()) != 0) {
    return Status::InvalidArgument("not a CURVE secret key");
  }
  return std::string(pub.data());
}

Status CheckUserName(std::string_view user) {
  if (user.empty() || user.size() > 64) {
    return Status::InvalidArgument(
        fmt::format("a user name has 1 to 64 characters, not {}", user.size()));
  }
  for (unsigned char c : user) {
    if (c < 0x21 || c == 0x7f || c == '"' || c == '\'' || c == '\\') {
      return Status::InvalidArgument(
          "a user name may not hold spaces, quotes, backslashes or control characters");
    }
  }
  return Status::Ok();
}

Result<UserKey> LoadUserKey(const std::string& path) {
  VIGIL_ASSIGN_OR_RETURN(std::string text, Slurp(path));
  VIGIL_ASSIGN_OR_RETURN(toml::table t, ParseToml(path, text));
  UserKey k;
  auto user = t["user"].value<std::string>();
  if (!user) return Status::InvalidArgument(fmt::format("{}: 'user' is missing", path));
  k.user = *user;
  VIGIL_ASSIGN_OR_RETURN(k.role, RoleField(t, path));
  VIGIL_ASSIGN_OR_RETURN(k.pair.public_key, KeyField(t, path, "public_key"));
  VIGIL_ASSIGN_OR_RETURN(k.pair.secret_key, KeyField(t, path, "secret_key"));
  VIGIL_ASSIGN_OR_RETURN(k.server_key, KeyField(t, path, "server_key"));
  VIGIL_ASSIGN_OR_RETURN(std::string derived, PublicKeyOf(k.pair.secret_key));
  if (derived != k.pair.public_key) {
    return Status::InvalidArgument(
        fmt::format("{}: public_key is not the public half of secret_key", path));
  }
  return k;
}

Status SaveUserKey(const UserKey& key, const std::string& path) {
  VIGIL_RETURN_IF_ERROR(CheckUserName(key.user));
  std::string text = fmt::format(
      "# vigil key of {} ({}). Keep it secret: whoever holds this file is {} to the server.\n"
      "# Use it with `vigil --key {}` or VIGIL_KEY={}.\n"
      "user = {}\nrole = {}\npublic_key = {}\nsecret_key = {}\nserver_key = {}\n",
      key.user, RoleName(key.role), key.user, path, path, Quote(key.user), Quote(RoleName(key.role)),
      Quote(key.pair.public_key), Quote(key.pair.secret_key), Quote(key.server_key));
  return WritePrivate(path, text, /*replace=*/false);
}

Result<KeyPair> LoadOrCreateServerKey(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) return Status::FromErrno(errno, "cannot read", path);
    VIGIL_RETURN_IF_ERROR(MakeDirs(DirName(path)));
    KeyPair pair = NewKeyPair();
    std::string text = fmt::format(
        "# vigil server key pair. The secret key never leaves this machine; clients are given\n"
        "# the public key inside their key files.\npublic_key = {}\nsecret_key = {}\n",
        Quote(pair.public_key), Quote(pair.secret_key));
    Status written = WritePrivate(path, text, /*replace=*/false);
    if (written.ok()) return pair;
    if (written.code() != StatusCode::kAlreadyExists) return written;  // raced: read theirs
  }
  VIGIL_ASSIGN_OR_RETURN(std::string text, Slurp(path));
  VIGIL_ASSIGN_OR_RETURN(toml::table t, ParseToml(path, text));
  KeyPair pair;
  VIGIL_ASSIGN_OR_RETURN(pair.public_key, KeyField(t, path, "public_key"));
  VIGIL_ASSIGN_OR_RETURN(pair.secret_key, KeyField(t, path, "secret_key"));
  VIGIL_ASSIGN_OR_RETURN(std::string derived, PublicKeyOf(pair.secret_key));
  if (derived != pair.public_key) {
    return Status::InvalidArgument(
        fmt::format("{}: public_key is not the public half of secret_key", path));
  }
  return pair;
}

Result<std::vector<AuthorizedKey>> Keyring::Read(const std::string& path) {
  auto text = Slurp(path);
  if (!text.ok()) {
    if (text.error().code() == StatusCode::kNotFound) return std::vector<AuthorizedKey>{};
    return text.error();
  }
  VIGIL_ASSIGN_OR_RETURN(toml::table t, ParseToml(path, *text));
  std::vector<AuthorizedKey> out;
  const toml::array* keys = t["key"].as_array();
  if (!keys) return out;
  for (const toml::node& n : *keys) {
    std::string where = fmt::format("{}:{}", path, n.source().begin.line);
    const toml::table* kt = n.as_table();
    if (!kt) return Status::InvalidArgument(fmt::format("{}: [[key]] must be a table", where));
    AuthorizedKey k;
    auto user = (*kt)["user"].value<std::string>();
    if (!user) return Status::InvalidArgument(fmt::format("{}: 'user' is missing", where));
    VIGIL_RETURN_IF_ERROR(CheckUserName(*user).WithContext(where));
    k.user = *user;
    VIGIL_ASSIGN_OR_RETURN(k.role, RoleField(*kt, where));
    VIGIL_ASSIGN_OR_RETURN(k.public_key, KeyField(*kt, where, "public_key"));
    k.added_ns = (*kt)["added_ns"].value_or<int64_t>(0);
    k.revoked_ns = (*kt)["revoked_ns"].value_or<int64_t>(0);
    out.push_back(std::move(k));
  }
  return out;
}

Keyring::Keyring(std::string path) : path_(std::move(path)) {}

void Keyring::Refresh() {
  struct stat st {};
  std::string stamp = ::stat(path_.c_str(), &st) == 0
                          ? fmt::format("{}:{}:{}.{}", st.st_ino, st.st_size, st.st_mtim.tv_sec,
                                        st.st_mtim.tv_nsec)
                          : "absent";
  if (stamp == stamp_) return;
  stamp_ = stamp;
  ++generation_;
  auto keys = Read(path_);
  if (!keys.ok()) {
    Logger("api")->error("authorised keys: {}: nobody is authorised until it is fixed", keys.error());
    keys_.clear();
    return;
  }
  keys_ = std::move(*keys);
  size_t live = 0;
  for (const auto& k : keys_) live += k.revoked_ns == 0;
  Logger("api")->info("authorised keys: {} in force ({} revoked) from {}", live, keys_.size() - live,
                      path_);
}

std::optional<AuthorizedKey> Keyring::Find(const std::string& public_key) {
  std::lock_guard lock(mu_);
  Refresh();
  for (const auto& k : keys_) {
    if (k.public_key == public_key && k.revoked_ns == 0) return k;
  }
  return std::nullopt;
}

std::vector<AuthorizedKey> Keyring::All() {
  std::lock_guard lock(mu_);
  Refresh();
  return keys_;
}

int64_t Keyring::generation() {
  std::lock_guard lock(mu_);
  Refresh();
  return generation_;
}

Result<UserKey> Keyring::Add(const std::string& path, const std::string& user, Role role,
                             const KeyPair& server, int64_t now_ns) {
  VIGIL_RETURN_IF_ERROR(CheckUserName(user));
  VIGIL_RETURN_IF_ERROR(MakeDirs(DirName(path)));
  DirLock lock(path);
  VIGIL_RETURN_IF_ERROR(lock.status());
  VIGIL_ASSIGN_OR_RETURN(auto keys, Read(path));
  for (const auto& k : keys) {
    if (k.user == user && k.revoked_ns == 0) {
      return Status::AlreadyExists(fmt::format(
          "{} already has a key in force ({}): revoke it first to issue another", user,
          RoleName(k.role)));
    }
  }
  UserKey made;
  made.user = user;
  made.role = role;
  made.pair = NewKeyPair();
  made.server_key = server.public_key;
  keys.push_back({user, role, made.pair.public_key, now_ns, 0});
  VIGIL_RETURN_IF_ERROR(WritePrivate(path, FormatAuthorized(keys), /*replace=*/true));
  return made;
}

Result<int> Keyring::Revoke(const std::string& path, const std::string& user, int64_t now_ns) {
  DirLock lock(path);
  VIGIL_RETURN_IF_ERROR(lock.status());
  VIGIL_ASSIGN_OR_RETURN(auto keys, Read(path));
  int n = 0;
  for (auto& k : keys) {
    if (k.user == user && k.revoked_ns == 0) {
      k.revoked_ns = now_ns;
      ++n;
    }
  }
  if (n == 0) return Status::NotFound(fmt::format("{} has no key in force", user));
  VIGIL_RETURN_IF_ERROR(WritePrivate(path, FormatAuthorized(keys), /*replace=*/true));
  return n;
}

}  // namespace vigil::api
