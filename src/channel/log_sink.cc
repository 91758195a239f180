// SPDX-License-Identifier: MIT
// The process-wide log sink (see log_sink.h).
#include "vmbkit/channel/log_sink.h"

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <mutex>

namespace vmb {
namespace {

void default_sink(void* /*context*/, LogLevel level, const char* message) {
  std::fprintf(stderr, "vmbkit %s: %s\n", level == LogLevel::kError ? "error" : "warning", message);
}

struct Sink {
  LogSinkFunction function = default_sink;
  void* context = nullptr;
};

std::mutex sink_mutex;  // guards `sink`; held only to copy it
Sink sink;
// Read without the lock on every call so disabled levels cost one relaxed load.
std::atomic<uint8_t> maximum_level{static_cast<uint8_t>(LogLevel::kWarning)};

}  // namespace

void set_log_sink(LogSinkFunction function, void* context, LogLevel level) {
  const std::lock_guard lock(sink_mutex);
  if (function == nullptr) {
    sink = Sink{};
    level = LogLevel::kWarning;
  } else {
    sink = Sink{function, context};
  }
  maximum_level.store(static_cast<uint8_t>(level), std::memory_order_relaxed);
}

bool log_enabled(LogLevel level) {
  return static_cast<uint8_t>(level) <= maximum_level.load(std::memory_order_relaxed);
}

void log_message(LogLevel level, const char* format, ...) {
  if (!log_enabled(level)) return;
  char text[512];
  va_list arguments;
  va_start(arguments, format);
  std::vsnprintf(text, sizeof text, format, arguments);
  va_end(arguments);
  Sink target;
  {
    const std::lock_guard lock(sink_mutex);
    target = sink;
  }
  target.function(target.context, level, text);
}

}  // namespace vmb
