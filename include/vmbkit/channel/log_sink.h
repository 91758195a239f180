// SPDX-License-Identifier: MIT
// The library's one logging path (decisions.md §9): messages go to a process-wide sink that the
// application may replace (VmbKitSetLogCallback in the C API); the default writes warnings and
// errors to stderr. The library never prints anything any other way. Formatting happens only
// for levels the sink wants. Thread-safe; a sink may be called from several threads at once.
#pragma once

#include <cstdint>

namespace vmb {

enum class LogLevel : uint8_t { kError = 0, kWarning = 1, kInfo = 2, kDebug = 3 };

// Receives one message (NUL-terminated, no trailing newline).
using LogSinkFunction = void (*)(void* context, LogLevel level, const char* message);

// Replaces the sink; nullptr restores the default (stderr, warnings and errors). Messages above
// `maximum_level` are dropped before formatting. A sink being replaced may still receive
// messages that were in flight.
void set_log_sink(LogSinkFunction sink, void* context, LogLevel maximum_level);

// True if a message at `level` would reach the sink.
[[nodiscard]] bool log_enabled(LogLevel level);

// printf-style; messages longer than 512 bytes are truncated.
void log_message(LogLevel level, const char* format, ...) __attribute__((format(printf, 2, 3)));

}  // namespace vmb
