// SPDX-License-Identifier: MIT
// The per-thread stack of channel callback scopes (see callback_scope.h).
#include "channel/callback_scope.h"

namespace vmb {
namespace {

thread_local CallbackScope* innermost = nullptr;

}  // namespace

CallbackScope::CallbackScope(const Channel* channel, Kind kind, IncomingPacket* packet)
    : channel_(channel), kind_(kind), packet_(packet), previous_(innermost) {
  innermost = this;
}

CallbackScope::~CallbackScope() { innermost = previous_; }

bool CallbackScope::blocking_forbidden() {
  return innermost != nullptr && innermost->kind_ == Kind::kDispatch;
}

bool CallbackScope::inside(const Channel* channel) {
  for (const CallbackScope* scope = innermost; scope != nullptr; scope = scope->previous_) {
    if (scope->channel_ == channel) return true;
  }
  return false;
}

bool CallbackScope::inside(const Channel* channel, Kind kind) {
  for (const CallbackScope* scope = innermost; scope != nullptr; scope = scope->previous_) {
    if (scope->channel_ == channel && scope->kind_ == kind) return true;
  }
  return false;
}

IncomingPacket* CallbackScope::delivering(const Channel* channel) {
  for (const CallbackScope* scope = innermost; scope != nullptr; scope = scope->previous_) {
    if (scope->channel_ == channel) return scope->packet_;
  }
  return nullptr;
}

}  // namespace vmb
