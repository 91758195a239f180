// SPDX-License-Identifier: MIT
// WorkerPool and SerialTask (see worker_pool.h). Every transition of a task's state made by a
// pool thread happens under the pool's mutex, so a thread in close() that sees the task idle
// (under the same mutex) knows no pool thread will touch the task again and may destroy it.
#include "vmbkit/channel/worker_pool.h"

#include <pthread.h>

#include <atomic>
#include <cassert>

namespace vmb {
namespace {

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
}

}  // namespace

void SerialTask::schedule() {
  uint32_t state = state_.load(std::memory_order_acquire);
  for (;;) {
    if ((state & kClosed) != 0) return;
    uint32_t next;
    switch (state & kStateMask) {
      case kIdle:
        next = kQueued;
        break;
      case kRunning:
        next = kRunningRequeue;
        break;
      default:
        return;  // already queued or requeued: that run will see our caller's work
    }
    // acq_rel: the caller's writes before schedule() happen-before the run it causes (the
    // pool thread reads this state under the pool mutex, or via its own acquire CAS).
    if (state_.compare_exchange_weak(state, next, std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
      if (next == kQueued) pool_->push(this);
      return;
    }
  }
}

void SerialTask::close() {
  assert(!running_on_this_thread() && "a task cannot close itself from run()");
  state_.fetch_or(kClosed, std::memory_order_acq_rel);
  WorkerPool& pool = *pool_;
  std::unique_lock lock(pool.mutex_);
  // Unlink a queued run so it is skipped without a pool thread.
  for (SerialTask** link = &pool.head_; *link != nullptr; link = &(*link)->next_) {
    if (*link != this) continue;
    *link = next_;
    if (pool.tail_ == this) {
      pool.tail_ = nullptr;
      for (SerialTask* task = pool.head_; task != nullptr; task = task->next_) pool.tail_ = task;
    }
    next_ = nullptr;
    pool.queued_.fetch_sub(1, std::memory_order_relaxed);
    state_.store(kClosed | kIdle, std::memory_order_release);
    break;
  }
  pool.task_idle_.wait(
      lock, [this] { return (state_.load(std::memory_order_acquire) & kStateMask) == kIdle; });
}

WorkerPool::WorkerPool(Kind kind, uint32_t threads, std::string name)
    : kind_(kind), name_(std::move(name)) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  const std::lock_guard lock(mutex_);
  for (uint32_t i = 0; i < threads; ++i) start_thread_locked();
}

WorkerPool::~WorkerPool() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  // Threads are only added under the mutex, and never after stopping_ is set.
  for (std::thread& thread : threads_) thread.join();
}

uint32_t WorkerPool::thread_count() const {
  const std::lock_guard lock(mutex_);
  return static_cast<uint32_t>(threads_.size());
}

bool WorkerPool::is_pool_thread() const {
  const std::lock_guard lock(mutex_);
  for (const std::thread& thread : threads_) {
    if (thread.get_id() == std::this_thread::get_id()) return true;
  }
  return false;
}

void WorkerPool::start_thread_locked() {
  threads_.emplace_back([this] { worker_loop(); });
  std::string label = name_.substr(0, 15);  // the kernel's limit for thread names
  pthread_setname_np(threads_.back().native_handle(), label.c_str());
}

namespace {
std::atomic<int> polled_channels{0};
}  // namespace

void WorkerPool::add_polled_channels(int delta) {
  polled_channels.fetch_add(delta, std::memory_order_relaxed);
}

void WorkerPool::push(SerialTask* task, bool requeue) {
  {
    const std::lock_guard lock(mutex_);
    if ((task->state_.load(std::memory_order_acquire) & SerialTask::kClosed) != 0 || stopping_) {
      // close() ran between the task's CAS to kQueued and this push.
      task->state_.store(SerialTask::kClosed | SerialTask::kIdle, std::memory_order_release);
      task_idle_.notify_all();
      return;
    }
    task->next_ = nullptr;
    if (tail_ != nullptr) {
      tail_->next_ = task;
    } else {
      head_ = task;
    }
    tail_ = task;
    const uint32_t queued = queued_.fetch_add(1, std::memory_order_relaxed) + 1;
    if (kind_ == Kind::kElastic && queued > idle_ && threads_.size() < kMaximumElasticThreads) {
      start_thread_locked();
    }
    // A spinning thread will see queued_; a requeue is taken by the thread that pushed it.
    if (sleeping_ == 0 || requeue) return;
  }
  wake_.notify_one();
}

SerialTask* WorkerPool::pop_or_wait() {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (stopping_) return nullptr;
    if (head_ != nullptr) {
      SerialTask* task = head_;
      head_ = task->next_;
      if (head_ == nullptr) tail_ = nullptr;
      task->next_ = nullptr;
      queued_.fetch_sub(1, std::memory_order_relaxed);
      // A CAS, not a store: close() sets kClosed without the mutex and must not be lost.
      uint32_t state = task->state_.load(std::memory_order_acquire);
      while ((state & SerialTask::kClosed) == 0 &&
             !task->state_.compare_exchange_weak(state, SerialTask::kRunning,
                                                 std::memory_order_acq_rel,
                                                 std::memory_order_acquire)) {
      }
      if ((state & SerialTask::kClosed) != 0) {
        task->state_.store(SerialTask::kClosed | SerialTask::kIdle, std::memory_order_release);
        task_idle_.notify_all();
        continue;
      }
      return task;
    }
    ++idle_;
    lock.unlock();
    // Spin briefly: a task scheduled within microseconds is picked up without a futex wake.
    const uint32_t spins =
        polled_channels.load(std::memory_order_relaxed) > 0 ? 0 : kSpinIterations;
    for (uint32_t i = 0; i < spins; ++i) {
      if (queued_.load(std::memory_order_relaxed) != 0) break;
      cpu_relax();
    }
    lock.lock();
    if (head_ == nullptr && !stopping_) {
      ++sleeping_;
      wake_.wait(lock);
      --sleeping_;
    }
    --idle_;
  }
}

void WorkerPool::worker_loop() {
  while (SerialTask* task = pop_or_wait()) task->execute();
}

void SerialTask::execute() {
  running_thread_.store(std::this_thread::get_id(), std::memory_order_relaxed);
  run();
  running_thread_.store(std::thread::id{}, std::memory_order_relaxed);
  WorkerPool& pool = *pool_;
  std::unique_lock lock(pool.mutex_);
  uint32_t state = state_.load(std::memory_order_acquire);
  for (;;) {
    const bool requeue = (state & kStateMask) == kRunningRequeue && (state & kClosed) == 0;
    const uint32_t next = requeue ? kQueued : ((state & kClosed) | kIdle);
    if (state_.compare_exchange_weak(state, next, std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
      if (!requeue) {
        pool.task_idle_.notify_all();
        return;  // `this` may be destroyed as soon as the mutex is released
      }
      break;
    }
  }
  lock.unlock();
  pool.push(this, true);  // scheduled again while running: run again, after others queued
}

}  // namespace vmb
