// A caching CPU allocator for libtorch: freed blocks of 64 KiB or more are kept,
// by exact size, and handed out again, up to a bound on the bytes held (a block
// that would exceed it evicts cached blocks of other sizes).
//
// Why: a training step frees and reallocates the same large tensors every step
// (stacked parameters, gradients, activations of all K agents). Through glibc,
// 64-byte-aligned blocks of those sizes do not fit back into the holes their
// predecessors left, so the heap keeps growing and every step touches fresh pages
// (page faults, zeroing) — measured: a quarter of the step's time in the kernel,
// and a resident set that grows step after step. Reusing the blocks fixes both.
//
// FLATDIST_CPU_CACHE_MB sets the bound (default: 1/8 of physical memory, at most
// 4 GiB); 0 turns the cache off and leaves libtorch's own allocator in place.
#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "compat.h"
#include "tensor.h"

namespace flatdist {

namespace {

constexpr size_t kMinCached = 64 << 10;

class CachingCpuAllocator final : public c10::Allocator {
 public:
  explicit CachingCpuAllocator(size_t limit) : limit_(limit) {}

  c10::DataPtr allocate(size_t n) FLATDIST_ALLOCATE_CONST override {
    void* p = acquire(n);
    return {p, p, &release, c10::Device(c10::DeviceType::CPU)};
  }

#if FLATDIST_TORCH_AT_LEAST(2, 3)
  void copy_data(void* dest, const void* src, size_t count) const override { default_copy_data(dest, src, count); }
#endif

  c10::DeleterFnPtr raw_deleter() const override { return &release; }

  static CachingCpuAllocator* instance;

 private:
  void* acquire(size_t n) const {
    if (n < kMinCached) return c10::alloc_cpu(n);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = free_.find(n);
      if (it != free_.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        cached_ -= n;
        live_[p] = n;
        return p;
      }
    }
    void* p;
    try {
      p = c10::alloc_cpu(n);
    } catch (const c10::Error&) {
      trim();  // out of memory: give the cached blocks back and try once more
      p = c10::alloc_cpu(n);
    }
    std::lock_guard<std::mutex> lock(mutex_);
    live_[p] = n;
    return p;
  }

  // The deleter of every block this allocator handed out (its DataPtr context is the block itself).
  static void release(void* p) {
    if (p == nullptr) return;
    instance->give_back(p);
  }

  void give_back(void* p) const {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = live_.find(p);
      if (it != live_.end()) {
        size_t n = it->second;
        live_.erase(it);
        if (n <= limit_) {
          // Make room by giving back blocks of other sizes: sizes that stopped
          // recurring (a last, smaller batch; an evaluation) must not fill the cache for good.
          for (auto f = free_.begin(); cached_ + n > limit_ && f != free_.end(); ++f) {
            while (cached_ + n > limit_ && !f->second.empty()) {
              c10::free_cpu(f->second.back());
              f->second.pop_back();
              cached_ -= f->first;
            }
          }
          free_[n].push_back(p);
          cached_ += n;
          return;
        }
      }
    }
    c10::free_cpu(p);
  }

  void trim() const {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [n, blocks] : free_) {
      for (void* p : blocks) c10::free_cpu(p);
      blocks.clear();
    }
    cached_ = 0;
  }

  const size_t limit_;
  mutable std::mutex mutex_;
  mutable std::unordered_map<size_t, std::vector<void*>> free_;
  mutable std::unordered_map<void*, size_t> live_;
  mutable size_t cached_ = 0;
};

CachingCpuAllocator* CachingCpuAllocator::instance = nullptr;

size_t cacheLimit() {
  if (const char* v = std::getenv("FLATDIST_CPU_CACHE_MB")) return static_cast<size_t>(std::strtoull(v, nullptr, 10)) << 20;
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  size_t physical = pages > 0 && page > 0 ? static_cast<size_t>(pages) * static_cast<size_t>(page) : (size_t{8} << 30);
  return std::min(physical / 8, size_t{4} << 30);
}

}  // namespace

void initAllocator() {
  size_t limit = cacheLimit();
  if (limit == 0 || CachingCpuAllocator::instance != nullptr) return;
  // Never destroyed: tensors may outlive the addon's environment and still need their deleter.
  CachingCpuAllocator::instance = new CachingCpuAllocator(limit);
  c10::SetCPUAllocator(CachingCpuAllocator::instance, /*priority=*/1);
}

}  // namespace flatdist
