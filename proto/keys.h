#pragma once
// Who may use a vigil server: CURVE key pairs (ZeroMQ's elliptic-curve authentication and
// encryption), each tied to a user name and one role.
//
// Three files, all TOML, all written 0600:
// - the server's key pair, `<keys>/server.key` (made on vigild's first start);
// - the authorised keys, `<keys>/authorized.toml`: one [[key]] table per user or system (user, role,
//   public_key, added, and revoked once revoked). vigild re-reads it when it changes, so a key added
//   or revoked takes effect on the next request without a restart;
// - a user's key file, handed to that person or system once (`vigild keys add`): user, role, their
//   public and secret key and the server's public key. `vigil --key FILE` and the client library
//   load it. Whoever holds it is that user.
// Keys are Z85 text (40 characters), as zmq_curve_keypair writes them.

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace vigil::api {

enum class Role { kOperator, kInvestigator, kDispatch, kAdmin };
inline constexpr Role kAllRoles[] = {Role::kOperator, Role::kInvestigator, Role::kDispatch,
                                     Role::kAdmin};
std::string_view RoleName(Role role);
std::optional<Role> ParseRole(std::string_view name);

struct KeyPair {
  std::string public_key;  // Z85, 40 characters
  std::string secret_key;
};
KeyPair NewKeyPair();
// True for 40 characters of the Z85 alphabet that decode to 32 bytes.
bool IsZ85Key(std::string_view key);
// The public key of a secret key (InvalidArgument if it is not one).
Result<std::string> PublicKeyOf(const std::string& secret_key);

// What a client needs to talk to a server as someone.
struct UserKey {
  std::string user;
  Role role = Role::kOperator;
  KeyPair pair;
  std::string server_key;  // the server's public key
};
Result<UserKey> LoadUserKey(const std::string& path);
// Written 0600 (refuses to replace an existing file).
Status SaveUserKey(const UserKey& key, const std::string& path);

// The server's own key pair: loaded from `path`, or made and saved (0600) when there is none.
Result<KeyPair> LoadOrCreateServerKey(const std::string& path);

// A user name: 1..64 characters, none of them a control character, space or quote (they appear in
// audit rows, manifests and logs).
Status CheckUserName(std::string_view user);

struct AuthorizedKey {
  std::string user;
  Role role = Role::kOperator;
  std::string public_key;
  int64_t added_ns = 0;
  int64_t revoked_ns = 0;  // 0: in force
};

// The authorised keys file, re-read when it changes: every lookup stats it (a microsecond), so a
// key revoked by `vigild keys revoke` is refused from the first request after the command returned.
// Thread safe. A file that cannot be read or parsed authorises nobody (logged once per change): a broken
// edit must not keep a revoked key alive.
class Keyring {
 public:
  explicit Keyring(std::string path);
  // The key's holder, when the key is authorised and not revoked.
  std::optional<AuthorizedKey> Find(const std::string& public_key);
  // Every key, revoked ones too, as last read.
  std::vector<AuthorizedKey> All();
  const std::string& path() const { return path_; }
  // Bumped each time the file was re-read: a server re-checks its subscribers then.
  int64_t generation();

  // Changes to the file (by `vigild keys`): read-modify-write under an exclusive lock on the file's
  // directory, then an atomic rename. Add refuses a user that already has a key in force.
  static Result<UserKey> Add(const std::string& path, const std::string& user, Role role,
                             const KeyPair& server, int64_t now_ns);
  // Revokes every key in force of `user` (NotFound if none); returns how many.
  static Result<int> Revoke(const std::string& path, const std::string& user, int64_t now_ns);
  static Result<std::vector<AuthorizedKey>> Read(const std::string& path);

 private:
  void Refresh();
  std::string path_;
  std::mutex mu_;
  std::string stamp_;           // inode, size and mtime of what was read
  std::vector<AuthorizedKey> keys_;
  int64_t generation_ = 0;
};

}  // namespace vigil::api
