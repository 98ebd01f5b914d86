// One error type for the whole runtime: a code grouped by kind plus a message that names the
// op, tensor and shape involved. No exceptions cross the library boundary.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace pocket {

enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument = 1,  // the caller passed something wrong (name, shape, dtype, option)
  kInvalidModel = 2,     // the model file is corrupt or inconsistent
  kUnsupported = 3,      // valid, but this build cannot run it (op, dtype, attribute)
  kIoError = 4,          // file could not be opened, mapped or read
  kOutOfMemory = 5,
  kInternal = 6,
};

const char* status_code_name(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status invalid_argument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status invalid_model(std::string m) { return {StatusCode::kInvalidModel, std::move(m)}; }
inline Status unsupported(std::string m) { return {StatusCode::kUnsupported, std::move(m)}; }
inline Status io_error(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
inline Status internal_error(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Status status) : v_(std::move(status)) {}

  bool ok() const { return v_.index() == 0; }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const T& value() const& { return std::get<0>(v_); }
  T* operator->() { return &value(); }
  T& operator*() { return value(); }
  Status status() const { return ok() ? Status::Ok() : std::get<1>(v_); }

 private:
  std::variant<T, Status> v_;
};

#define POCKET_RETURN_IF_ERROR(expr)          \
  do {                                        \
    ::pocket::Status _st = (expr);            \
    if (!_st.ok()) return _st;                \
  } while (0)

}  // namespace pocket
