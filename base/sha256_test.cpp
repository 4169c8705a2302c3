#include "base/sha256.h"

#include <cstdio>
#include <string>

#include <doctest/doctest.h>

namespace vigil {
namespace {

TEST_CASE("SHA-256 matches the FIPS 180-2 test vectors, whole and in pieces") {
  Sha256 h;
  h.Update("abc", 3);
  CHECK(h.FinishHex() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  std::string msg = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  for (char c : msg) h.Update(&c, 1);
  CHECK(h.FinishHex() == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST_CASE("hashing a missing file names it") {
  auto r = Sha256File("/nonexistent/vigil-test-file");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message().find("/nonexistent/vigil-test-file") != std::string::npos);
}

}  // namespace
}  // namespace vigil
