#pragma once
// Keys for tests: a server key pair and an authorised keys file in a directory of the test's, and a
// user key of any role in one call.

#include <memory>
#include <string>

#include <doctest/doctest.h>

#include "base/clock.h"
#include "base/fs.h"
#include "proto/keys.h"

namespace vigil::api::testing {

struct TestKeys {
  explicit TestKeys(const std::string& dir)
      : authorized(JoinPath(dir, "authorized.toml")),
        server(LoadOrCreateServerKey(JoinPath(dir, "server.key")).value()),
        // Re-read at once: tests revoke and expect the next request refused.
        keyring(std::make_shared<Keyring>(authorized)) {}

  UserKey Add(const std::string& user, Role role) {
    auto made = Keyring::Add(authorized, user, role, server, SystemClock().WallNs());
    if (!made.ok()) FAIL(made.error().ToString());
    return *made;
  }

  std::string authorized;
  KeyPair server;
  std::shared_ptr<Keyring> keyring;
};

}  // namespace vigil::api::testing
