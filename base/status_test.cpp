#include "base/status.h"

#include <cerrno>

#include <doctest/doctest.h>

namespace vigil {
namespace {

Result<int> Half(int x) {
  if (x % 2) return Status::InvalidArgument(fmt::format("{} is odd", x));
  return x / 2;
}

Result<int> Quarter(int x) {
  VIGIL_ASSIGN_OR_RETURN(int h, Half(x));
  return Half(h);
}

TEST_CASE("a Result carries either its value or the error that explains its absence") {
  CHECK(Quarter(8).value() == 2);
  Result<int> r = Quarter(6);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code() == StatusCode::kInvalidArgument);
  CHECK(r.error().ToString() == "InvalidArgument: 3 is odd");
}

TEST_CASE("errno becomes a typed status naming the path") {
  Status s = Status::FromErrno(ENOSPC, "write", "/data/x.mp4");
  CHECK(s.code() == StatusCode::kResourceExhausted);
  CHECK(s.message().find("/data/x.mp4") != std::string::npos);
  CHECK(Status::FromErrno(EACCES, "open", "/y").code() == StatusCode::kIOError);
  CHECK(Status::IOError("x").WithContext("camera cam1").message() == "camera cam1: x");
}

}  // namespace
}  // namespace vigil
