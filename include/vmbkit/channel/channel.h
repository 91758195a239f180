// SPDX-License-Identifier: MIT
// Channel: one endpoint (server or client) of a VMBus channel with KMCL's behaviour
// (kmcl-api.md §7, decisions.md §3–§7): configuration while Disabled, the connection and run
// state machine with its callbacks, outgoing packets with the send queue and the
// pending-send-size protocol, the transaction table, synchronous requests, serialised
// delivery of incoming packets with the transaction quota, and failure on any protocol
// violation. The bus (channel_bus.h) carries offers and opens; the rings and guest memory come
// from the memory and ring layers. Threads: dispatch work (ring draining, completion routines,
// process-packet callbacks) runs serialised per channel on the bus's dispatch pool and must not
// block; state callbacks and PASSIVE deliveries run serialised on the passive pool.
//
// Callback order for one open (kmcl-api.md §7.1): opened → (once started) started → incoming
// queue runs → post_started; on Pause, Disable or peer close: suspend (if started) → wait for
// every delivered packet to be completed → closed (if open). Never two state callbacks of one
// channel at once; process-packet callbacks of one channel never overlap each other.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "vmbkit/channel/cache_line.h"
#include "vmbkit/channel/channel_bus.h"
#include "vmbkit/channel/channel_config.h"
#include "vmbkit/channel/channel_driver.h"
#include "vmbkit/channel/channel_mutex.h"
#include "vmbkit/channel/deadline.h"
#include "vmbkit/channel/incoming_packet.h"
#include "vmbkit/channel/packet_object.h"
#include "vmbkit/channel/poll_backoff.h"
#include "vmbkit/channel/transaction_table.h"
#include "vmbkit/channel/worker_pool.h"
#include "vmbkit/memory/gpa_ranges.h"
#include "vmbkit/nt_types.h"
#include "vmbkit/status.h"

namespace vmb {

enum class EndpointRole : uint8_t { kServer, kClient };

// External data of one send (kmcl-api.md §7.5): nothing, a whole MDL chain, a range of one
// (with or without FORCE_MDL_LENGTH, chosen by the send flags), or whole pages.
struct ExternalData {
  enum class Kind : uint8_t { kNone, kMdlChain, kMdlRange, kPfns };
  Kind kind = Kind::kNone;
  const MDL* mdl = nullptr;
  uint32_t mdl_offset = 0;
  uint32_t mdl_length = 0;  // 0 = to the end
  const PFN_NUMBER* pfns = nullptr;
  uint32_t pfn_count = 0;
};

// Counters of one channel since it was created (over every open). Cheap to keep: each counter
// has one writer (the send path under the channel's lock, or the thread draining the incoming
// ring) except signals_received. A snapshot taken while traffic flows may mix moments.
struct ChannelStatistics {
  uint64_t packets_sent = 0;          // written to the outgoing ring, completions included
  uint64_t bytes_sent = 0;            // their in-band payload bytes (completion payloads too)
  uint64_t completions_sent = 0;      // completion packets written (answers to the peer)
  uint64_t packets_received = 0;      // read from the incoming ring, completions included
  uint64_t bytes_received = 0;        // their payload bytes
  uint64_t completions_received = 0;  // completion packets read
  uint64_t signals_sent = 0;          // interrupts to the peer (rule A or rule B said so)
  uint64_t signals_received = 0;      // interrupts from the peer
};

// The outcome of a synchronous request besides its status.
struct SyncRequestResult {
  Status status;
  uint32_t completion_bytes = 0;  // bytes copied into the completion buffer
};

class alignas(kCacheLine) Channel {
 public:
  // Creates a Disabled channel on `bus`; the driver receives every callback. The bus must
  // outlive the channel.
  static std::unique_ptr<Channel> create(ChannelBus& bus, EndpointRole role,
                                         std::unique_ptr<ChannelDriver> driver);
  // Disables the channel if needed (blocks), frees every pooled packet, stops its tasks.
  ~Channel();
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  [[nodiscard]] bool valid() const { return magic_ == kMagic; }
  [[nodiscard]] EndpointRole role() const { return role_; }
  [[nodiscard]] bool is_server() const { return role_ == EndpointRole::kServer; }
  [[nodiscard]] ChannelDriver& driver() { return *driver_; }
  [[nodiscard]] ChannelBus& bus() { return *bus_; }

  // ---- Configuration: Disabled only, else STATUS_INVALID_DEVICE_STATE; a value out of range
  // is STATUS_INVALID_PARAMETER_2 (or _3 for the second value); the wrong role is
  // STATUS_INVALID_DEVICE_REQUEST. ----
  Status set_maximum_packet_size(uint32_t bytes);
  Status set_maximum_external_data(uint32_t bytes, uint32_t chain_length);
  Status set_client_context_size(uint32_t bytes);
  Status set_pipe_mode(bool pipe);
  Status set_friendly_name(std::u16string name);
  Status set_ring_page_counts(uint32_t incoming_pages, uint32_t outgoing_pages);  // client
  Status set_target(const Guid& type, std::optional<Guid> instance);              // client
  Status set_offer(const Guid& type, const Guid& instance);                       // server
  Status set_server_flags(uint32_t flags);                                        // server
  Status set_mmio(uint16_t megabytes, uint16_t optional_megabytes);               // server
  Status set_target_vtl(uint8_t vtl);                                             // server
  // Either role: which channel of the device (its type and instance) this one is — a server
  // offers that sub-channel index, a client opens only the offer with it. Default 0, the
  // primary. A server's sub-channel (index > 0) is offered only while its primary is.
  Status set_sub_channel_index(uint16_t index);
  // Busy-poll mode (decisions.md §5; docs/kmcl.md "Poll mode"): the dispatch run keeps polling
  // an empty incoming ring for a short while (kPollWindow) with interrupts masked before it
  // unmasks and waits for a signal, and a thread waiting in send_synchronous polls the ring
  // itself (runs the dispatch work inline, one run at a time) instead of sleeping. Costs CPU;
  // saves the signal and the thread wake-up per packet.
  Status set_polling(bool enable);
  [[nodiscard]] bool polling() const { return polling_.load(std::memory_order_relaxed); }
  [[nodiscard]] ChannelConfig config() const;
  // Counters since creation; any thread.
  [[nodiscard]] ChannelStatistics statistics() const;

  // ---- Lifecycle (kmcl-api.md §4.1) ----
  // STATUS_INVALID_DEVICE_STATE unless Disabled or without target/offer; bus errors.
  Status enable();
  // Blocks until closed and Disabled. Ignored (logged) from this channel's own callbacks.
  void disable();
  void start();
  // Blocks until Suspend ran and every delivered packet is completed. On a Disabled channel:
  // the next Enable comes up paused.
  void pause();
  [[nodiscard]] bool is_disabled() const;
  [[nodiscard]] bool is_open() const;

  void set_pointer(void* pointer) { pointer_ = pointer; }
  [[nodiscard]] void* pointer() const { return pointer_; }
  void set_incoming_at_passive(bool passive);
  void set_transaction_quota(uint32_t quota);
  // Client, open only: STATUS_INVALID_DEVICE_REQUEST for a server, STATUS_INVALID_DEVICE_STATE
  // when not open. Recorded; no effect in user mode.
  Status set_interrupt_latency(uint16_t latency, uint16_t* original);
  // The offer's instance GUID (zero while a client has none).
  [[nodiscard]] Guid interface_instance() const;
  // STATUS_SUCCESS while not failed; else the failure status, and *description the reason.
  Status failure(std::string* description) const;
  // Fails the channel (decisions.md §7): records the first reason, logs it once, retires the
  // outstanding transactions with STATUS_DEVICE_REMOVED and closes the connection.
  void fail(Status status, std::string reason);

  // ---- Outgoing packets (kmcl-api.md §4.4, decisions.md §3) ----
  [[nodiscard]] uint32_t packet_object_size() const;
  // From the pool with kFreeAutomatically; nullptr when memory runs out.
  PacketObject* allocate_packet();
  // Places a packet object (Completion::kNone) in caller memory. STATUS_INVALID_PARAMETER_2 for
  // null or misaligned memory, STATUS_INVALID_PARAMETER_3 when `bytes` is too small.
  Result<PacketObject*> initialize_packet(void* memory, uint32_t bytes);
  // Returns a pooled, idle packet. Ignored (logged) otherwise.
  void free_packet(PacketObject& packet);
  // Sends; see VmbPacketSend in kmcl.h for statuses. On success the packet is in flight.
  Status send(PacketObject& packet, std::span<const std::byte> inband, const ExternalData& external,
              uint32_t flags);
  // VmbChannelSendSynchronousRequest (decisions.md §4). `completion`: the caller's buffer
  // (may be empty), or std::nullopt to discard completion data. By reference, and never
  // copied: GCC passes an optional by value through a temporary it stores field by field and
  // copies out with wider loads, a store-forwarding stall on every request.
  SyncRequestResult send_synchronous(std::span<const std::byte> inband, const MDL* external,
                                     uint32_t flags,
                                     const std::optional<std::span<std::byte>>& completion,
                                     const Deadline& deadline);

  // ---- Incoming packets (kmcl-api.md §4.5) ----
  // Sends the completion if one was requested (queued if the ring is full) and releases the
  // packet. Any thread; never blocks.
  void complete(IncomingPacket& packet, std::span<const std::byte> payload);
  // Only inside process_packet on the dispatch context: redeliver on the passive worker.
  void defer_to_passive(IncomingPacket& packet);
  // The packet is malformed in the driver's eyes: release it without a completion and fail the
  // channel.
  void fail_packet(IncomingPacket& packet);
  // The packet's external data as an MDL chain (valid until complete()). STATUS_INVALID_PARAMETER
  // if it has none.
  Result<PMDL> external_data(IncomingPacket& packet, bool read_only);

  // ---- GPADLs (kmcl-api.md §4.7; channel_gpadl.cc) ----
  // Client, open, may block: STATUS_INVALID_DEVICE_REQUEST for a server,
  // STATUS_INVALID_DEVICE_STATE when not open or called from a dispatch callback,
  // STATUS_INVALID_PARAMETER when the memory is not (all) guest memory.
  Result<uint32_t> create_gpadl(const void* buffer, uint32_t bytes, bool read_only);
  Result<uint32_t> create_gpadl(const MDL* mdl, uint32_t offset, uint32_t length, bool read_only);
  void delete_gpadl(uint32_t handle);
  // Server: see ChannelBus::map_gpadl.
  Result<PMDL> map_gpadl(uint32_t handle, bool read_only);
  void unmap_gpadl(uint32_t handle);

  // ---- Called by the bus ----
  // Server: a client opens the offer over `connection`. The channel runs opened() on its own
  // context, then calls reply(status) (from that context) with the outcome.
  void deliver_open_request(std::unique_ptr<ChannelConnection> connection,
                            std::function<void(Status)> reply);
  // Client: the outcome of opening the target; `connection` is null on failure.
  void deliver_open_result(Status status, std::unique_ptr<ChannelConnection> connection);
  // Either: the peer closed its side, rescinded, or went away.
  void deliver_peer_closed();
  // Client: the bus itself is gone for good (the host process died or dropped this guest). An
  // open channel closes as on deliver_peer_closed; one still waiting for an offer or opening
  // is Disabled too (queued sends end with STATUS_DEVICE_REMOVED, new ones are refused), since
  // no offer will come.
  void deliver_bus_lost();
  // Either: the peer signalled (data arrived or ring space freed).
  void deliver_signal();

  // How long a polled channel keeps polling an empty ring, and a polling synchronous request
  // its ring, before falling back to waiting for a signal (PollBackoff decides when windows
  // that keep missing stop being tried for a while).
  static constexpr std::chrono::microseconds kPollWindow{50};

 private:
  class DispatchTask;
  class DeliveryStep;
  class ControlTask;
  class PassiveTask;
  struct OpenState;
  enum class Connection : uint8_t { kDisabled, kEnabled, kOpen };
  enum class EventKind : uint8_t {
    kOpenRequest,
    kOpenResult,
    kPeerClosed,
    kStart,
    kPause,
    kDisable,
    kFailed
  };
  struct Event;

  Channel(ChannelBus& bus, EndpointRole role, std::unique_ptr<ChannelDriver> driver);
  static constexpr uint64_t kMagic = 0x4e4e414843424d56;  // "VMBCHANN"

  // Control (channel_lifecycle.cc).
  void post(Event event, bool wait);
  void handle(Event& event);
  void handle_open_request(Event& event);
  void handle_open_result(Event& event);
  void run_start_sequence();
  void run_suspend_sequence();
  void run_close_sequence();
  void retire_all_sends(Status status);

  // Sending (channel_send.cc, channel_sync_request.cc).
  Status check_send(const PacketObject& packet, std::span<const std::byte> inband,
                    const ExternalData& external, uint32_t flags) const;
  Status prepare_external(PacketObject& packet, const ExternalData& external, uint32_t flags);
  Status submit_locked(PacketObject& packet, bool allow_queue, bool* corrupt);
  void enqueue_locked(SendQueueEntry& entry);
  bool unlink_locked(SendQueueEntry& entry);
  bool write_entry_locked(SendQueueEntry& entry, bool* corrupt);
  // Writes a completion packet (not yet published); false if it does not fit or the ring is
  // corrupt (*corrupt set).
  bool write_completion_locked(uint64_t transaction_id, std::span<const std::byte> payload,
                               bool* corrupt);
  void commit_locked();
  void flush_locked(bool* corrupt);
  void flush_send_queue();
  void finish_packet_locked(PacketObject& packet, Status status);
  // Ends a synchronous request in one hold: its internal packet goes back to the pool, then
  // the waiter gets the outcome (the requester no longer touches the packet after that).
  void finish_waiter_locked(PacketObject& packet, Status status,
                            std::span<const std::byte> payload);
  void cancel_locked(PacketObject& packet);
  void call_routine(PacketObject& packet, Status status, std::span<std::byte> payload);

  // Receiving (channel_receive.cc).
  // How drain_incoming ends on an empty ring: unmask and return (kEvent); poll for up to
  // kPollWindow first (kPoll, the dispatch task of a polled channel); return with interrupts
  // still masked, the caller polls on (kInline, a polling synchronous request).
  enum class DrainMode : uint8_t { kEvent, kPoll, kInline };
  void dispatch();
  // The dispatch work proper; the caller owns the drain (try_own_drain). `ring_only`: just
  // drain that connection's ring (a polling request that saw data and nothing else to do).
  void dispatch_owned(DrainMode mode, OpenState* ring_only = nullptr);
  // The drain (the incoming ring, its buffer, delivery order) has one owner at a time: the
  // dispatch task or a polling synchronous request. try_own_drain never waits; release_drain
  // reschedules the task if it found the drain owned meanwhile.
  bool try_own_drain();
  void release_drain();
  // release_drain()'s second half, after drain_owned_ went false and a store -> load barrier:
  // true (and cleared) if dispatch() asked for a run meanwhile; the caller schedules it.
  bool take_drain_rerun();
  void drain_incoming(OpenState& open, DrainMode mode);
  // A polled synchronous request: polls the incoming ring of `open` (the connection it was
  // sent on) for the completion until `waiter` is done or `until` passes. Called without
  // mutex_.
  // `polled`: the request's packet if the caller set it Polled::kPolling (it owned the drain
  // and the packet is in the ring, with transaction id `id`): its completion is matched
  // here without mutex_, and a close or failure makes the poll stop (polled_abort_), after
  // which the waiter is finished here with their status. Null: the general drain finishes it.
  // `owned`: the caller already owns the drain and has masked the ring.
  void poll_for_completion(SyncRequestWaiter& waiter, Deadline::Clock::time_point until,
                           OpenState& open, PacketObject* polled, uint64_t id, bool owned);
  // The polled request's own completion, taken straight from the ring without mutex_: the next
  // packet is read and, if it is the completion for `id` and the drain may take packets now
  // (ring_gate_), `waiter` is finished and `packet` set Polled::kMatched and parked for
  // release_polled_locked(). Anything else goes back to the ring unread (false) for the
  // general drain. The caller owns the drain and publishes read_index before it lets go.
  bool take_polled_completion(OpenState& open, SyncRequestWaiter& waiter, PacketObject& packet,
                              uint64_t id);
  // A polling request stops polling without its completion (window over, or polled_abort_):
  // Polled::kNo again, so the usual finishers take over; aborted, the waiter is finished here.
  void stop_polling(PacketObject& packet);
  // Returns the packet parked by take_polled_completion() to the pool and its transaction id
  // to the table (a stale id after a reset is ignored). Called by allocate_packet_locked().
  void release_polled_locked();
  void release_polled_packet_locked(PacketObject& packet);
  // Recomputes ring_gate_ from its inputs; called under mutex_ wherever one changes.
  void update_ring_gate_locked() {
    ring_gate_.store(incoming_enabled_ && failure_.ok() && delivered_ < quota_,
                     std::memory_order_relaxed);
  }
  // A synchronous request's wait for a signal (after any poll window): the waiting thread
  // takes the drain, unmasks and sleeps until the peer signals, then drains on its own thread,
  // so the completion costs one wake-up (this thread's) instead of two (a dispatch thread's,
  // then this one's). Returns when `waiter` is done, at the deadline, or when the drain cannot
  // be had or the connection stops delivering (the caller's event wait covers those). Called
  // without mutex_.
  void sleep_draining(const SyncRequestWaiter& waiter, const Deadline& deadline);
  // Wakes a thread sleeping in sleep_draining (a signal, the dispatch task's work, a waiter
  // finished by someone else). Takes only sleep_mutex_, a leaf lock: callable under mutex_ or a
  // bus's link lock.
  void wake_sleeper();
  // Matches a completion read from the ring: a synchronous request's waiter is finished at
  // once; a packet with a routine is returned in *routine for the caller to run outside
  // mutex_; a completion for a cancelled request is dropped. False: the id is unknown (a peer
  // violation).
  bool take_completion_locked(std::span<std::byte> payload, uint64_t id, PacketObject** routine);
  void signal_from_drain(OpenState& open);
  // The rings of the connection that delivers now: null while paused, closed or failed. A
  // drain that holds other rings (an earlier connection's) must stop. Called with mutex_ held.
  [[nodiscard]] OpenState* delivering_locked() const {
    return incoming_enabled_ && failure_.ok() ? open_.get() : nullptr;
  }
  // One-writer counter: a relaxed load and store (no locked instruction).
  struct Counter {
    std::atomic<uint64_t> value{0};
    void add(uint64_t n) {
      value.store(value.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    [[nodiscard]] uint64_t get() const { return value.load(std::memory_order_relaxed); }
  };
  // A packet taken from the incoming ring, by the drain's owner.
  void count_received(size_t payload_bytes, bool completion) {
    rx_packets_.add(1);
    rx_bytes_.add(payload_bytes);
    if (completion) rx_completions_.add(1);
  }
  // A condition variable that counts its waiters, used only with mutex_ held (waits and
  // notifications alike): a notification with nobody waiting, the usual case on the packet
  // path, is a compare instead of a call into the C library.
  class WatchedCondition {
   public:
    template <class Predicate>
    void wait(std::unique_lock<ChannelMutex>& lock, Predicate done) {
      ++waiters_;
      condition_.wait(lock, done);
      --waiters_;
    }
    template <class Rep, class Period>
    void wait_for(std::unique_lock<ChannelMutex>& lock, std::chrono::duration<Rep, Period> time) {
      ++waiters_;
      condition_.wait_for(lock, time);
      --waiters_;
    }
    template <class Clock, class Duration>
    void wait_until(std::unique_lock<ChannelMutex>& lock,
                    std::chrono::time_point<Clock, Duration> until) {
      ++waiters_;
      condition_.wait_until(lock, until);
      --waiters_;
    }
    void notify_all() {
      if (waiters_ != 0) condition_.notify_all();
    }

   private:
    std::condition_variable_any condition_;  // waits are rare: the general kind will do
    uint32_t waiters_ = 0;
  };
  // allocate_packet() and free_packet() for a caller holding mutex_.
  PacketObject* allocate_packet_locked();
  void free_packet_locked(PacketObject& packet);
  // Queues a data packet for the PASSIVE worker.
  void defer_record(IncomingPacket& packet);
  void defer_record_locked(IncomingPacket& packet);
  void run_passive_deliveries();
  void run_finished_routines();
  IncomingPacket* pop_record_locked();
  IncomingPacket* take_record_locked();
  void release_record_locked(IncomingPacket& packet);

  friend class PacketObject;
  uint64_t magic_ = kMagic;
  ChannelBus* const bus_;
  const EndpointRole role_;
  std::unique_ptr<ChannelDriver> driver_;
  std::atomic<void*> pointer_{nullptr};

  mutable ChannelMutex mutex_;  // everything below unless stated
  WatchedCondition changed_;    // delivered count, sync waiters, control events
  ChannelConfig config_;
  Connection connection_ = Connection::kDisabled;
  bool run_requested_;    // Start (true) or Pause (false) was the last request
  bool started_ = false;  // started() ran for the current open
  bool incoming_enabled_ = false;
  bool incoming_at_passive_ = false;
  bool stalled_on_quota_ = false;
  Status failure_;
  std::string failure_reason_;
  uint32_t quota_ = kDefaultTransactionQuota;
  uint32_t delivered_ = 0;           // records handed to the driver and not completed
  uint32_t routines_pending_ = 0;    // finished packets whose routine has not run yet
  bool in_delivery_ = false;         // the dispatch task is between a drain check and its handling
  bool passive_delivering_ = false;  // the passive task is delivering
  uint16_t interrupt_latency_ = 0;
  Guid open_instance_;               // the offer's instance while open (client)
  std::shared_ptr<OpenState> open_;  // rings of the current connection
  TransactionTable transactions_;
  SendQueueEntry* send_head_ = nullptr;  // FIFO waiting for ring space or the open
  SendQueueEntry* send_tail_ = nullptr;
  PacketObject* finished_head_ = nullptr;  // routines to run on the dispatch context
  PacketObject* finished_tail_ = nullptr;
  std::vector<PacketObject*> free_packets_;
  std::vector<void*> pooled_packet_memory_;
  std::vector<std::unique_ptr<IncomingPacket>> records_;
  IncomingPacket* free_records_ = nullptr;
  // The record the drain's owner reads the next packet into (taken from the pool under mutex_
  // with the one before it, read into without the lock): a data packet needs no second copy.
  IncomingPacket* drain_spare_ = nullptr;
  IncomingPacket* deferred_head_ = nullptr;  // waiting for the passive worker
  IncomingPacket* deferred_tail_ = nullptr;
  GpaRanges scratch_ranges_;  // describes external data under mutex_
  std::deque<Event> events_;
  uint64_t events_posted_ = 0;
  uint64_t events_done_ = 0;

  std::atomic<bool> polling_{false};  // set only while Disabled
  // The drain may take a packet from the ring now: delivering (started, not paused or failed)
  // and under the transaction quota. A copy kept under mutex_ for the one reader without it,
  // take_polled_completion(), which thus honours pause and quota as the general drain does.
  std::atomic<bool> ring_gate_{false};
  // The last packet its requester matched without mutex_ (Polled::kMatched), until
  // release_polled_locked(): set by the drain's owner when null, cleared under mutex_.
  std::atomic<PacketObject*> polled_matched_{nullptr};
  std::atomic<bool> drain_owned_{false};
  std::atomic<bool> drain_rerun_{false};  // the dispatch task found the drain owned
  // A polling synchronous request waits for the drain: the dispatch task, polling an empty ring
  // in poll mode, lets go instead of spinning beside it (a hint; each waiting requester raises it
  // again while it waits).
  std::atomic<bool> drain_wanted_{false};
  std::atomic<bool> drain_sleeper_{false};  // the drain's owner sleeps in sleep_draining
  std::mutex sleep_mutex_;                  // leaf lock: sleep_wake_, sleep_changed_
  std::condition_variable sleep_changed_;
  bool sleep_wake_ = false;   // the sleeper has work (or a waiter finished); it clears this
  PollBackoff poll_backoff_;  // when polling stops for a while (a heuristic)
  PollPacing poll_pacing_;    // how often a poll looks (a heuristic)
  // Statistics: tx_* under mutex_ (written with the send path), rx_* by the drain's owner.
  Counter tx_packets_;
  Counter tx_bytes_;
  Counter tx_completions_;
  Counter tx_signals_;
  Counter rx_packets_;
  Counter rx_bytes_;
  Counter rx_completions_;
  // Signals the drain sent (rule B). Not a Counter: a polling request that let go of the drain
  // in the barrier that decides the signal counts it beside the next owner.
  std::atomic<uint64_t> rx_signals_{0};
  std::atomic<uint64_t> signals_received_{0};

  std::unique_ptr<DispatchTask> dispatch_task_;
  std::unique_ptr<ControlTask> control_task_;
  std::unique_ptr<PassiveTask> passive_task_;
};

}  // namespace vmb
