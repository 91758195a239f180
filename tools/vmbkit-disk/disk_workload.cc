// SPDX-License-Identifier: MIT
// DiskWorkload (disk_workload.h): the guest's sequence from open to close.
#include "disk_workload.h"

#include <algorithm>
#include <memory>
#include <thread>
#include <vector>

#include "disk_channel.h"
#include "disk_protocol.h"
#include "disk_queue.h"
#include "disk_report.h"

namespace vmb::disk {
namespace {

constexpr auto kProgressInterval = std::chrono::milliseconds(100);

std::string status_text(const char* what, NTSTATUS status) {
  return std::string(what) + ": " + VmbKitStatusName(status);
}

// The channels and queues of one run. Teardown order matters: queues stop and drain, then the
// channels are disabled (so no completion routine can run any more), then the queues free
// their packets and guest buffers, then the channels are cleaned up.
struct Session {
  std::vector<std::unique_ptr<DiskChannel>> channels;
  std::vector<std::unique_ptr<DiskQueue>> queues;

  ~Session() {
    for (auto& channel : channels) VmbChannelDisable(channel->handle());
    queues.clear();
    channels.clear();
  }
};

bool negotiate(DiskChannel& primary, const WorkloadOptions& options, DiskGeometryResponse* geometry,
               std::string* error) {
  DiskRequest request{};
  request.operation = static_cast<uint32_t>(DiskOperation::kOpen);
  request.argument = kProtocolVersion;
  DiskOpenResponse opened{};
  if (const NTSTATUS status = primary.control(request, &opened, options.timeout);
      status != STATUS_SUCCESS) {
    *error = status_text("open", status);
    return false;
  }
  request = DiskRequest{};
  request.operation = static_cast<uint32_t>(DiskOperation::kQueryGeometry);
  if (const NTSTATUS status = primary.control(request, geometry, options.timeout);
      status != STATUS_SUCCESS) {
    *error = status_text("query geometry", status);
    return false;
  }
  // The server is untrusted too: check what it says before sizing anything by it.
  const uint32_t size = geometry->block_size;
  if (size < 512 || size > 65536 || (size & (size - 1)) != 0 || geometry->block_count == 0) {
    *error = "the server reported an unusable geometry";
    return false;
  }
  return true;
}

bool open_subchannels(Session& session, PDEVICE_OBJECT bus, const WorkloadOptions& options,
                      std::string* error) {
  if (options.channels <= 1) return true;
  DiskRequest request{};
  request.operation = static_cast<uint32_t>(DiskOperation::kCreateSubchannels);
  request.argument = options.channels - 1;
  DiskStatusResponse reply{};
  if (const NTSTATUS status = session.channels[0]->control(request, &reply, options.timeout);
      status != STATUS_SUCCESS) {
    *error = status_text("create subchannels", status);
    return false;
  }
  const uint32_t offered = std::min(reply.value, options.channels - 1);
  for (uint32_t index = 1; index <= offered; ++index) {
    auto channel = DiskChannel::open(bus, static_cast<uint8_t>(index), options.timeout, error);
    if (!channel) {
      *error = "subchannel " + std::to_string(index) + ": " + *error;
      return false;
    }
    session.channels.push_back(std::move(channel));
  }
  return true;
}

bool create_queues(Session& session, PDEVICE_OBJECT bus, const WorkloadOptions& options,
                   const DiskGeometryResponse& geometry, WorkloadResult* result,
                   std::string* error) {
  const uint64_t io_bytes = uint64_t{options.io_kib} * 1024;
  if (io_bytes % geometry.block_size != 0 || io_bytes > geometry.maximum_transfer_bytes) {
    *error = "--io-kib must be a multiple of the block size and within the server's limit";
    return false;
  }
  const auto io_blocks = static_cast<uint32_t>(io_bytes / geometry.block_size);
  const uint64_t extents = geometry.block_count / io_blocks;
  const auto channels = static_cast<uint64_t>(session.channels.size());
  const uint64_t per_queue = extents / channels;  // each queue owns its own range
  for (uint64_t i = 0; i < channels; ++i) {
    QueueOptions queue;
    queue.queue_depth = options.queue_depth;
    queue.io_blocks = io_blocks;
    queue.read_percent = options.read_percent;
    queue.block_size = geometry.block_size;
    queue.first_extent = i * per_queue;
    queue.extent_count = per_queue;
    queue.seed = options.seed * 1000003 + i;
    auto created = DiskQueue::create(bus, session.channels[i]->handle(), queue, error);
    if (!created) return false;
    session.queues.push_back(std::move(created));
  }
  result->channels = static_cast<uint32_t>(channels);
  result->queue_depth = options.queue_depth;
  result->io_bytes = static_cast<uint32_t>(io_bytes);
  result->read_percent = options.read_percent;
  result->block_size = geometry.block_size;
  result->block_count = geometry.block_count;
  return true;
}

// Which channels still have requests in flight, and whether the library failed them.
std::string stuck_description(const Session& session) {
  std::string text = "requests did not complete within the timeout:";
  for (size_t i = 0; i < session.queues.size(); ++i) {
    const uint32_t stuck = session.queues[i]->in_flight();
    if (stuck == 0) continue;
    NTSTATUS failure = STATUS_SUCCESS;
    char reason[160] = "";
    static_cast<void>(VmbKitChannelGetFailureReason(session.channels[i]->handle(), &failure, reason,
                                                    sizeof reason));
    text += " channel " + std::to_string(i) + ": " + std::to_string(stuck) + " in flight";
    if (failure != STATUS_SUCCESS) {
      text += std::string(" (channel failed: ") + VmbKitStatusName(failure) + ", " + reason + ")";
    }
    text += ";";
  }
  return text;
}

std::chrono::milliseconds left_until(std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return std::max(left, std::chrono::milliseconds(0));
}

struct Totals {
  uint64_t requests = 0;
  uint64_t verified = 0;
};

Totals totals(const Session& session) {
  Totals sum;
  for (const auto& queue : session.queues) {
    const QueueCounters& c = queue->counters();
    sum.requests +=
        c.reads.load(std::memory_order_relaxed) + c.writes.load(std::memory_order_relaxed);
    sum.verified += c.verified_blocks.load(std::memory_order_relaxed);
  }
  return sum;
}

// Signals this guest's channels sent to the server plus those they received from it
// (VmbKitChannelGetStatistics): every interrupt of the run, whichever side raised it.
uint64_t signals(const Session& session) {
  uint64_t sum = 0;
  for (const auto& channel : session.channels) {
    VMBKIT_CHANNEL_STATISTICS statistics{};
    statistics.Size = sizeof statistics;
    if (VmbKitChannelGetStatistics(channel->handle(), &statistics) == STATUS_SUCCESS) {
      sum += statistics.SignalsSent + statistics.SignalsReceived;
    }
  }
  return sum;
}

// Runs the mixed phase for options.run_time, redrawing the progress bar, then drains.
bool run_mixed_phase(Session& session, const WorkloadOptions& options, WorkloadResult* result,
                     std::string* error) {
  ProgressBar bar(stderr, options.progress);
  const uint64_t signals_before = signals(session);
  const auto start = std::chrono::steady_clock::now();
  for (auto& queue : session.queues) {
    if (queue->start() != STATUS_SUCCESS) {
      *error = "no request could be sent: " + queue->first_problem();
      return false;
    }
  }
  const double total = options.run_time.count();
  while (true) {
    const double done =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const Totals now = totals(session);
    bar.update(std::min(done, total), total, now.requests, now.verified, "mixed");
    if (done >= total) break;
    // Pacing for the progress bar only: the queues run on their own completion routines.
    std::this_thread::sleep_for(std::min<std::chrono::duration<double>>(
        kProgressInterval, std::chrono::duration<double>(total - done)));
  }
  for (auto& queue : session.queues) queue->stop();
  bool drained = true;
  // One deadline for all queues: a stuck run fails after options.timeout, not once per queue.
  const auto drain_deadline = std::chrono::steady_clock::now() + options.timeout;
  for (auto& queue : session.queues)
    drained = queue->wait_idle(left_until(drain_deadline)) && drained;
  result->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result->signals = signals(session) - signals_before;
  for (const auto& queue : session.queues) {
    const QueueCounters& c = queue->counters();
    result->reads += c.reads.load(std::memory_order_relaxed);
    result->writes += c.writes.load(std::memory_order_relaxed);
    result->bytes += c.bytes.load(std::memory_order_relaxed);
    if (drained) result->latencies.merge(queue->latencies());
  }
  const uint64_t verified_before = totals(session).verified;
  bar.update(total, total, totals(session).requests, verified_before, "read-back");
  const auto read_back_deadline = std::chrono::steady_clock::now() + options.timeout;
  for (auto& queue : session.queues) {
    drained = drained && queue->read_back(left_until(read_back_deadline));
  }
  const Totals after = totals(session);
  bar.update(total, total, after.requests, after.verified, "done");
  bar.finish();
  result->read_back_blocks = after.verified - verified_before;
  if (!drained) *error = stuck_description(session);
  return drained;
}

}  // namespace

bool run_workload(PDEVICE_OBJECT bus, const WorkloadOptions& options, WorkloadResult* result,
                  std::string* error) {
  Session session;
  auto primary = DiskChannel::open(bus, 0, options.timeout, error);
  if (!primary) return false;
  session.channels.push_back(std::move(primary));
  DiskGeometryResponse geometry{};
  if (!negotiate(*session.channels[0], options, &geometry, error)) return false;
  if (!open_subchannels(session, bus, options, error)) return false;
  if (!create_queues(session, bus, options, geometry, result, error)) return false;
  const bool ran = run_mixed_phase(session, options, result, error);
  for (const auto& queue : session.queues) {
    const QueueCounters& c = queue->counters();
    result->verified_blocks += c.verified_blocks.load(std::memory_order_relaxed);
    result->bad_blocks += c.bad_blocks.load(std::memory_order_relaxed);
    result->failed_requests += c.failed_requests.load(std::memory_order_relaxed);
    if (result->problem.empty()) result->problem = queue->first_problem();
  }
  if (!ran) {
    if (result->problem.empty()) result->problem = *error;
    return true;  // the disk was usable; the result says what went wrong
  }
  DiskRequest flush{};
  flush.operation = static_cast<uint32_t>(DiskOperation::kFlush);
  DiskStatusResponse flushed{};
  if (const NTSTATUS status = session.channels[0]->control(flush, &flushed, options.timeout);
      status != STATUS_SUCCESS && result->problem.empty()) {
    result->problem = status_text("flush", status);
  }
  return true;
}

}  // namespace vmb::disk
