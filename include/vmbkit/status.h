// SPDX-License-Identifier: MIT
// vmb::Status and vmb::Result<T>: the C++ side's error type. Status wraps an NTSTATUS from the
// table in ntstatus.h; Result<T> is shaped like std::expected (gcc 12 in C++20 has none). This
// is not the C API's error path: C functions return NTSTATUS directly.
#pragma once

#include <cassert>
#include <cstdint>
#include <string_view>
#include <utility>
#include <variant>

#include "vmbkit/ntstatus.h"

namespace vmb {

// One NTSTATUS value. Choose codes by what the caller does next: STATUS_INVALID_PARAMETER for a
// caller's mistake, STATUS_DATA_ERROR for bytes from the peer, STATUS_DEVICE_REMOVED when the
// channel is gone. Never test NT_SUCCESS internally: STATUS_PENDING passes it.
class [[nodiscard]] Status {
 public:
  constexpr Status() = default;
  constexpr explicit Status(NTSTATUS code) : code_(code) {}
  [[nodiscard]] constexpr NTSTATUS code() const { return code_; }
  [[nodiscard]] constexpr bool ok() const { return code_ == STATUS_SUCCESS; }
  constexpr bool operator==(const Status&) const = default;
  constexpr bool operator==(NTSTATUS code) const { return code_ == code; }

 private:
  NTSTATUS code_ = STATUS_SUCCESS;
};

// The table's name for a status ("STATUS_CANCELLED"), or "STATUS_<unknown>".
constexpr std::string_view to_string(Status status) {
  switch (static_cast<uint32_t>(status.code())) {
#define VMBKIT_STATUS_NAME_CASE(name, value, message) \
  case value:                                         \
    return #name;
    VMBKIT_NTSTATUS_TABLE(VMBKIT_STATUS_NAME_CASE)
#undef VMBKIT_STATUS_NAME_CASE
    default:
      return "STATUS_<unknown>";
  }
}

// The table's one-line explanation of a status.
constexpr std::string_view message(Status status) {
  switch (static_cast<uint32_t>(status.code())) {
#define VMBKIT_STATUS_MESSAGE_CASE(name, value, message) \
  case value:                                            \
    return message;
    VMBKIT_NTSTATUS_TABLE(VMBKIT_STATUS_MESSAGE_CASE)
#undef VMBKIT_STATUS_MESSAGE_CASE
    default:
      return "unknown status";
  }
}

// A value or a non-success Status. Construct from T for success, from a Status for failure.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : storage_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : storage_(status) {       // NOLINT(google-explicit-constructor)
    assert(!status.ok() && "a Result error must not be STATUS_SUCCESS");
  }
  [[nodiscard]] bool has_value() const { return std::holds_alternative<T>(storage_); }
  explicit operator bool() const { return has_value(); }
  [[nodiscard]] T& value() & { return std::get<T>(storage_); }
  [[nodiscard]] const T& value() const& { return std::get<T>(storage_); }
  [[nodiscard]] T&& value() && { return std::get<T>(std::move(storage_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  // The failure; STATUS_SUCCESS when a value is held.
  [[nodiscard]] Status status() const {
    return has_value() ? Status{} : std::get<Status>(storage_);
  }

 private:
  std::variant<T, Status> storage_;
};

}  // namespace vmb
