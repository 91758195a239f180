// SPDX-License-Identifier: MIT
// WorkerPool and SerialTask: how channels get threads (decisions.md §5). A SerialTask is one
// piece of repeatable work (drain a channel's ring, run its state callbacks) that any thread may
// schedule; the pool runs it soon on one of its threads, never twice at once, and once more if
// it was scheduled again while running, so work for one channel is serialised while channels
// spread over the pool. A fixed pool (one thread per core by default) is a dispatch context:
// its tasks must not block. An elastic pool adds a thread whenever work waits and no thread is
// idle, so tasks that block (PASSIVE work) never starve each other. Idle threads spin briefly
// before sleeping. Not here: what the tasks do.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "vmbkit/channel/cache_line.h"

namespace vmb {

class WorkerPool;

// Work that a pool runs serially. Subclasses implement run(). Thread-safe.
class alignas(kCacheLine) SerialTask {
 public:
  explicit SerialTask(WorkerPool& pool) : pool_(&pool) {}
  SerialTask(const SerialTask&) = delete;
  SerialTask& operator=(const SerialTask&) = delete;
  // The owner must call close() before destruction.
  virtual ~SerialTask() = default;

  // Makes sure run() starts after this call: queues the task, or, if it is running, runs it
  // again when it returns. Never blocks; ignored after close().
  void schedule();

  // Stops the task for good: later schedule() calls are ignored, a queued run is skipped, and
  // the call waits for a run in progress to return. Must not be called from run() itself.
  void close();

  // True if schedule() was called while run() is in progress (run() will be called again):
  // a run that polls for work may return early to let that run happen.
  [[nodiscard]] bool rerun_pending() const {
    return (state_.load(std::memory_order_relaxed) & kStateMask) == kRunningRequeue;
  }

  // True while called from this task's run() on a pool thread.
  [[nodiscard]] bool running_on_this_thread() const {
    return running_thread_.load(std::memory_order_relaxed) == std::this_thread::get_id();
  }

 protected:
  virtual void run() = 0;

 private:
  friend class WorkerPool;
  static constexpr uint32_t kIdle = 0;
  static constexpr uint32_t kQueued = 1;
  static constexpr uint32_t kRunning = 2;
  static constexpr uint32_t kRunningRequeue = 3;
  static constexpr uint32_t kStateMask = 3;
  static constexpr uint32_t kClosed = 4;

  // Called by the pool on one of its threads.
  void execute();

  WorkerPool* pool_;
  std::atomic<uint32_t> state_{kIdle};
  std::atomic<std::thread::id> running_thread_{};
  SerialTask* next_ = nullptr;  // the pool's queue link, guarded by the pool's mutex
};

class WorkerPool {
 public:
  enum class Kind : uint8_t {
    kFixed,    // exactly `threads` threads; tasks must not block
    kElastic,  // starts with `threads`, grows while work waits and nobody is idle
  };
  // `threads` 0 = one per core (at least 1). `name` labels the threads (for debuggers).
  WorkerPool(Kind kind, uint32_t threads, std::string name);
  // Stops and joins every thread. Tasks still queued are dropped: owners close() them first.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  [[nodiscard]] uint32_t thread_count() const;
  // True when the calling thread belongs to this pool.
  [[nodiscard]] bool is_pool_thread() const;

  // Elastic pools never grow past this many threads.
  static constexpr uint32_t kMaximumElasticThreads = 256;
  // Polls of the queue an idle thread makes before it sleeps, unless polled channels exist.
  static constexpr uint32_t kSpinIterations = 2000;

  // Channels in busy-poll mode in this process (Channel::set_polling). While there are any,
  // idle pool threads sleep at once instead of spinning: the polling threads already keep
  // CPUs busy, and a spinning idle thread would take a CPU from the thread being polled for
  // (on a 2-CPU machine that turned poll windows into misses).
  static void add_polled_channels(int delta);

 private:
  friend class SerialTask;
  // Queues a task. `requeue`: the pool thread that ran it pushes it again and goes straight
  // back for work, so no sleeping thread needs a wake-up for it.
  void push(SerialTask* task, bool requeue = false);
  void worker_loop();
  SerialTask* pop_or_wait();
  void start_thread_locked();

  const Kind kind_;
  const std::string name_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;       // idle threads sleep here
  std::condition_variable task_idle_;  // close() waits here for a task to become idle
  SerialTask* head_ = nullptr;         // FIFO of queued tasks
  SerialTask* tail_ = nullptr;
  std::atomic<uint32_t> queued_{0};  // read while spinning without the mutex
  uint32_t idle_ = 0;                // threads spinning or sleeping (guarded by mutex_)
  uint32_t sleeping_ = 0;            // threads blocked on wake_ (guarded by mutex_)
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace vmb
