// SPDX-License-Identifier: MIT
// The registry of guest-memory views: an ordered map from each view's first address, under a
// reader-writer lock (lookups, one per MmBuildMdlForNonPagedPool, far outnumber the
// registrations, two per GuestMemoryMapping).
#include "memory/guest_memory_registry.h"

#include <map>
#include <mutex>
#include <shared_mutex>

namespace vmb::memory_internal {
namespace {

struct Entry {
  uintptr_t end = 0;  // one past the last byte
  std::weak_ptr<const GuestMemoryMapping> mapping;
  const GuestMemoryMapping* owner = nullptr;
  bool read_only = false;
};

struct Registry {
  std::shared_mutex mutex;
  std::map<uintptr_t, Entry> views;  // begin -> entry
};

// Never destroyed: mappings held in static objects may unregister during exit, after
// function-local statics would have been torn down.
Registry& registry() {
  static auto* const instance = new Registry;
  return *instance;
}

}  // namespace

void register_view(uintptr_t begin, size_t size,
                   const std::shared_ptr<const GuestMemoryMapping>& mapping, bool read_only) {
  Registry& r = registry();
  const std::unique_lock lock(r.mutex);
  r.views.insert_or_assign(begin, Entry{begin + size, mapping, mapping.get(), read_only});
}

void unregister_views(const GuestMemoryMapping* mapping) noexcept {
  Registry& r = registry();
  const std::unique_lock lock(r.mutex);
  std::erase_if(r.views, [mapping](const auto& item) { return item.second.owner == mapping; });
}

std::optional<RegisteredView> find_view(uintptr_t address, size_t length) noexcept {
  Registry& r = registry();
  const std::shared_lock lock(r.mutex);
  auto it = r.views.upper_bound(address);
  if (it == r.views.begin()) return std::nullopt;
  --it;
  const Entry& entry = it->second;
  // address >= begin here; compare lengths, never address + length (it may wrap).
  if (address >= entry.end || length > entry.end - address) return std::nullopt;
  auto mapping = entry.mapping.lock();
  if (!mapping) return std::nullopt;  // being destroyed
  return RegisteredView{std::move(mapping), it->first, entry.read_only};
}

}  // namespace vmb::memory_internal
