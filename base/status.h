#pragma once
// Status and Result<T>: how every fallible call in vigil reports failure.
//
// Modelled on LevelDB's Status and spelled like std::expected (which g++ 12 only offers in C++23 mode):
// no exception crosses a module boundary; throwing libraries are wrapped at their adapter.

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include <fmt/format.h>

namespace vigil {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // the caller's input is wrong (bad config, inverted range, malformed request)
  kNotFound,            // a named thing does not exist (unknown camera, missing file)
  kAlreadyExists,       // a unique thing would be duplicated
  kFailedPrecondition,  // the system is not in a state that allows this (newer schema, closed writer)
  kUnavailable,         // a peer or resource is temporarily unreachable (camera down); retrying may help
  kDataLoss,            // stored data is damaged or incomplete (truncated segment, corrupt file)
  kResourceExhausted,   // disk full, queue full, quota reached
  kIOError,             // the operating system refused a read or write
  kInternal,            // a bug or an unexpected library failure
  kUnauthenticated,     // no valid key: the caller is not known to the server
  kPermissionDenied,    // the caller is known, and their role does not allow this
};

std::string_view StatusCodeName(StatusCode code);

// A Status is cheap to copy when ok (no allocation). Thread-compatible: distinct objects may be used
// from distinct threads.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }
  static Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
  static Status FailedPrecondition(std::string m) {
    return {StatusCode::kFailedPrecondition, std::move(m)};
  }
  static Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status DataLoss(std::string m) { return {StatusCode::kDataLoss, std::move(m)}; }
  static Status ResourceExhausted(std::string m) {
    return {StatusCode::kResourceExhausted, std::move(m)};
  }
  static Status IOError(std::string m) { return {StatusCode::kIOError, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
  static Status Unauthenticated(std::string m) { return {StatusCode::kUnauthenticated, std::move(m)}; }
  static Status PermissionDenied(std::string m) {
    return {StatusCode::kPermissionDenied, std::move(m)};
  }
  // An IOError (or ResourceExhausted for ENOSPC/EDQUOT) naming the operation, the path and errno's text.
  static Status FromErrno(int err, std::string_view what, std::string_view path);

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "InvalidArgument: message", or "OK".
  std::string ToString() const;

  // Returns a copy whose message is prefixed with `context: `.
  Status WithContext(std::string_view context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Result<T> holds either a T or a non-ok Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design, like std::expected
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(v_).ok() && "Result built from an ok Status");
  }

  bool ok() const { return v_.index() == 0; }
  bool has_value() const { return ok(); }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // The error; Status::Ok() when a value is held.
  Status status() const { return ok() ? Status::Ok() : std::get<1>(v_); }
  const Status& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace vigil

// Returns the Status of `expr` from the enclosing function when it is not ok.
#define VIGIL_RETURN_IF_ERROR(expr)        \
  do {                                     \
    ::vigil::Status _st = (expr);          \
    if (!_st.ok()) return _st;             \
  } while (0)

#define VIGIL_CONCAT_INNER(a, b) a##b
#define VIGIL_CONCAT(a, b) VIGIL_CONCAT_INNER(a, b)
// `VIGIL_ASSIGN_OR_RETURN(auto x, MakeX());` declares x from a Result or returns its error.
#define VIGIL_ASSIGN_OR_RETURN(decl, expr)                               \
  auto VIGIL_CONCAT(_res_, __LINE__) = (expr);                           \
  if (!VIGIL_CONCAT(_res_, __LINE__).ok())                               \
    return VIGIL_CONCAT(_res_, __LINE__).error();                        \
  decl = std::move(VIGIL_CONCAT(_res_, __LINE__)).value()

template <>
struct fmt::formatter<vigil::Status> : fmt::formatter<std::string> {
  auto format(const vigil::Status& s, format_context& ctx) const {
    return fmt::formatter<std::string>::format(s.ToString(), ctx);
  }
};
