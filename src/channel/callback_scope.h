// SPDX-License-Identifier: MIT
// CallbackScope: marks, per thread, that a channel is calling into its driver, and whether that
// context may block (decisions.md §5: a blocking call from a dispatch callback returns
// STATUS_INVALID_DEVICE_STATE instead of deadlocking; Start/Pause/Disable are refused from the
// channel's own state callbacks). Scopes nest (a callback of one channel may drive another).
// Private to the channel layer.
#pragma once

namespace vmb {

class Channel;
class IncomingPacket;

class CallbackScope {
 public:
  enum class Kind : unsigned char {
    kDispatch,  // must not block: ring draining, completion routines, process-packet
    kPassive,   // may block: PASSIVE process-packet callbacks
    kState,     // may block: opened, started, post_started, suspend, closed, pnp_failure
  };
  CallbackScope(const Channel* channel, Kind kind, IncomingPacket* packet = nullptr);
  ~CallbackScope();
  CallbackScope(const CallbackScope&) = delete;
  CallbackScope& operator=(const CallbackScope&) = delete;

  // True if the innermost scope on this thread must not block.
  static bool blocking_forbidden();
  // True if this thread is inside any callback of `channel` (of `kind`, if given).
  static bool inside(const Channel* channel);
  static bool inside(const Channel* channel, Kind kind);
  // The packet being delivered by the innermost scope of `channel` on this thread, or null.
  static IncomingPacket* delivering(const Channel* channel);

 private:
  const Channel* channel_;
  Kind kind_;
  IncomingPacket* packet_;
  CallbackScope* previous_;
};

}  // namespace vmb
