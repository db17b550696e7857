// Status: the outcome of an operation that can fail. kubelake reports every
// failure through Status / Result<T> rather than exceptions, so that each call
// site shows where errors go (see docs/ARCHITECTURE.md, "Errors").
#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace kl {

enum class StatusCode : unsigned char {
  kOk = 0,
  kInvalidArgument,  // the caller asked for something malformed (bad SQL, bad option)
  kNotFound,         // a file, table, snapshot or key that does not exist
  kAlreadyExists,    // creating something that is already there
  kCorruption,       // stored data that does not decode (names the file)
  kIOError,          // the operating system refused (disk full, permission)
  kConflict,         // a concurrent writer won (commit races)
  kNotSupported,     // valid input that this build does not handle
  kUnavailable,      // a remote server could not be reached; retrying may help
  kExpired,          // a resourceVersion or continue token is too old (HTTP 410)
  kAborted,          // stopped on request (shutdown)
  kInternal,         // a broken invariant inside kubelake
};

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status OK() { return Status(); }
  static Status InvalidArgument(std::string msg) { return {StatusCode::kInvalidArgument, std::move(msg)}; }
  static Status NotFound(std::string msg) { return {StatusCode::kNotFound, std::move(msg)}; }
  static Status AlreadyExists(std::string msg) { return {StatusCode::kAlreadyExists, std::move(msg)}; }
  static Status Corruption(std::string msg) { return {StatusCode::kCorruption, std::move(msg)}; }
  static Status IOError(std::string msg) { return {StatusCode::kIOError, std::move(msg)}; }
  static Status Conflict(std::string msg) { return {StatusCode::kConflict, std::move(msg)}; }
  static Status NotSupported(std::string msg) { return {StatusCode::kNotSupported, std::move(msg)}; }
  static Status Unavailable(std::string msg) { return {StatusCode::kUnavailable, std::move(msg)}; }
  static Status Expired(std::string msg) { return {StatusCode::kExpired, std::move(msg)}; }
  static Status Aborted(std::string msg) { return {StatusCode::kAborted, std::move(msg)}; }
  static Status Internal(std::string msg) { return {StatusCode::kInternal, std::move(msg)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  bool IsNotFound() const { return code_ == StatusCode::kNotFound; }
  bool IsCorruption() const { return code_ == StatusCode::kCorruption; }
  bool IsConflict() const { return code_ == StatusCode::kConflict; }
  bool IsExpired() const { return code_ == StatusCode::kExpired; }
  bool IsAlreadyExists() const { return code_ == StatusCode::kAlreadyExists; }

  // Prefixes the message with where it happened: "reading manifest m-1: <message>".
  Status WithContext(std::string_view context) const;

  // "Corruption: reading manifest m-1: bad magic"
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

std::string_view StatusCodeName(StatusCode code);

}  // namespace kl

// Returns from the enclosing function when `expr` yields a non-OK Status.
#define KL_RETURN_IF_ERROR(expr)                 \
  do {                                           \
    ::kl::Status kl_status_ = (expr);            \
    if (!kl_status_.ok()) return kl_status_;     \
  } while (0)
