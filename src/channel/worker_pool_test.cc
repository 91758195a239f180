// SPDX-License-Identifier: MIT
// Tests for WorkerPool and SerialTask: tasks run after schedule(), re-run when scheduled while
// running, never run concurrently with themselves, stop for good at close(), and an elastic
// pool grows so that a blocked task cannot starve another. Every wait is bounded.
#include "vmbkit/channel/worker_pool.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>

namespace vmb {
namespace {

using namespace std::chrono_literals;
constexpr auto kBound = 30s;  // a generous bound; a correct pool needs microseconds

// Counts runs and lets tests wait for a number of them.
class CountingTask final : public SerialTask {
 public:
  explicit CountingTask(WorkerPool& pool, std::function<void()> body = {})
      : SerialTask(pool), body_(std::move(body)) {}
  ~CountingTask() override { close(); }

  bool wait_for_runs(uint64_t count) {
    std::unique_lock lock(mutex_);
    return done_.wait_for(lock, kBound, [&] { return runs_ >= count; });
  }
  uint64_t runs() {
    const std::lock_guard lock(mutex_);
    return runs_;
  }
  int max_concurrency() const { return max_concurrency_.load(); }

 protected:
  void run() override {
    const int now = inside_.fetch_add(1) + 1;
    int seen = max_concurrency_.load();
    while (now > seen && !max_concurrency_.compare_exchange_weak(seen, now)) {
    }
    if (body_) body_();
    inside_.fetch_sub(1);
    const std::lock_guard lock(mutex_);
    ++runs_;
    done_.notify_all();
  }

 private:
  std::function<void()> body_;
  std::mutex mutex_;
  std::condition_variable done_;
  uint64_t runs_ = 0;
  std::atomic<int> inside_{0};
  std::atomic<int> max_concurrency_{0};
};

TEST(WorkerPool, ScheduledTaskRuns) {
  WorkerPool pool(WorkerPool::Kind::kFixed, 2, "test");
  CountingTask task(pool);
  task.schedule();
  EXPECT_TRUE(task.wait_for_runs(1));
}

TEST(WorkerPool, ZeroThreadsMeansOnePerCore) {
  WorkerPool pool(WorkerPool::Kind::kFixed, 0, "test");
  EXPECT_GE(pool.thread_count(), 1u);
  EXPECT_FALSE(pool.is_pool_thread());
}

TEST(WorkerPool, ScheduleWhileRunningRunsAgain) {
  WorkerPool pool(WorkerPool::Kind::kFixed, 2, "test");
  std::mutex gate_mutex;
  std::condition_variable gate;
  bool entered = false;
  bool release = false;
  CountingTask* self = nullptr;
  CountingTask task(pool, [&] {
    std::unique_lock lock(gate_mutex);
    if (!entered) {
      entered = true;
      gate.notify_all();
      gate.wait_for(lock, kBound, [&] { return release; });
    }
  });
  self = &task;
  self->schedule();
  {
    std::unique_lock lock(gate_mutex);
    ASSERT_TRUE(gate.wait_for(lock, kBound, [&] { return entered; }));
  }
  task.schedule();  // while the first run is blocked inside
  task.schedule();  // coalesces with the previous one
  {
    const std::lock_guard lock(gate_mutex);
    release = true;
  }
  gate.notify_all();
  EXPECT_TRUE(task.wait_for_runs(2));
  EXPECT_EQ(task.max_concurrency(), 1);
}

TEST(WorkerPool, TaskNeverRunsConcurrentlyWithItself) {
  WorkerPool pool(WorkerPool::Kind::kFixed, 4, "test");
  CountingTask task(pool);
  std::vector<std::thread> schedulers;
  for (int t = 0; t < 4; ++t) {
    schedulers.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) task.schedule();
    });
  }
  for (std::thread& thread : schedulers) thread.join();
  task.schedule();
  EXPECT_TRUE(task.wait_for_runs(1));
  EXPECT_EQ(task.max_concurrency(), 1);
}

TEST(WorkerPool, ManyTasksAllRun) {
  WorkerPool pool(WorkerPool::Kind::kFixed, 2, "test");
  std::vector<std::unique_ptr<CountingTask>> tasks;
  for (int i = 0; i < 64; ++i) tasks.push_back(std::make_unique<CountingTask>(pool));
  for (auto& task : tasks) task->schedule();
  for (auto& task : tasks) EXPECT_TRUE(task->wait_for_runs(1));
}

TEST(WorkerPool, CloseWaitsForRunAndIgnoresLaterSchedules) {
  WorkerPool pool(WorkerPool::Kind::kFixed, 1, "test");
  CountingTask task(pool);
  task.schedule();
  task.close();  // returns only once no run is queued or in progress
  const uint64_t runs = task.runs();
  EXPECT_LE(runs, 1u);
  task.schedule();
  CountingTask probe(pool);  // runs after anything the pool still had queued
  probe.schedule();
  ASSERT_TRUE(probe.wait_for_runs(1));
  EXPECT_EQ(task.runs(), runs);
}

TEST(WorkerPool, CloseSkipsQueuedRun) {
  WorkerPool pool(WorkerPool::Kind::kFixed, 1, "test");
  std::mutex gate_mutex;
  std::condition_variable gate;
  bool entered = false;
  bool release = false;
  CountingTask blocker(pool, [&] {
    std::unique_lock lock(gate_mutex);
    entered = true;
    gate.notify_all();
    gate.wait_for(lock, kBound, [&] { return release; });
  });
  CountingTask queued(pool);
  blocker.schedule();
  {
    std::unique_lock lock(gate_mutex);
    ASSERT_TRUE(gate.wait_for(lock, kBound, [&] { return entered; }));
  }
  queued.schedule();  // the only thread is busy: this stays queued
  queued.close();     // unlinks it without waiting for the thread
  EXPECT_EQ(queued.runs(), 0u);
  {
    const std::lock_guard lock(gate_mutex);
    release = true;
  }
  gate.notify_all();
  EXPECT_TRUE(blocker.wait_for_runs(1));
  EXPECT_EQ(queued.runs(), 0u);
}

TEST(WorkerPool, ElasticPoolGrowsWhenATaskBlocks) {
  WorkerPool pool(WorkerPool::Kind::kElastic, 1, "test");
  std::mutex mutex;
  std::condition_variable cv;
  bool second_ran = false;
  CountingTask second(pool, [&] {
    const std::lock_guard lock(mutex);
    second_ran = true;
    cv.notify_all();
  });
  bool first_saw_second = false;
  CountingTask first(pool, [&] {
    second.schedule();
    std::unique_lock lock(mutex);
    first_saw_second = cv.wait_for(lock, kBound, [&] { return second_ran; });
  });
  first.schedule();
  ASSERT_TRUE(first.wait_for_runs(1));
  EXPECT_TRUE(first_saw_second);
  EXPECT_GE(pool.thread_count(), 2u);
}

TEST(WorkerPool, RunningOnThisThreadOnlyInsideRun) {
  WorkerPool pool(WorkerPool::Kind::kFixed, 1, "test");
  bool inside = false;
  bool pool_thread = false;
  CountingTask* self = nullptr;
  CountingTask task(pool, [&] {
    inside = self->running_on_this_thread();
    pool_thread = pool.is_pool_thread();
  });
  self = &task;
  EXPECT_FALSE(task.running_on_this_thread());
  task.schedule();
  ASSERT_TRUE(task.wait_for_runs(1));
  EXPECT_TRUE(inside);
  EXPECT_TRUE(pool_thread);
}

}  // namespace
}  // namespace vmb
