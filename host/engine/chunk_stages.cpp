// The overlapped chunk loop (see chunk_stages.hpp): three threads handing slots on through two queues under one
// mutex. The hand-offs cost microseconds; a chunk costs milliseconds or more.
#include "engine/chunk_stages.hpp"

#include <condition_variable>
#include <deque>
#include <exception>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>

namespace hessa {
namespace {

constexpr std::size_t kNone = std::numeric_limits<std::size_t>::max();

struct Queued {
  std::size_t slot;
  std::size_t chunk;
};

class Overlap {
 public:
  Overlap(const ChunkStages& stages, std::size_t slots) : stages_(stages) {
    for (std::size_t s = 0; s < slots; ++s) free_.push_back(s);
  }

  void run() {
    std::thread filler([this] { fill_loop(); });
    std::thread drainer([this] { drain_loop(); });
    compute_loop();
    filler.join();
    drainer.join();
    if (error_) std::rethrow_exception(error_);
  }

 private:
  enum Stage : int { kFill = 0, kCompute = 1, kDrain = 2 };

  // Keeps the failure first in serial order: (chunk, stage) lexicographically smallest.
  void fail(std::size_t chunk, Stage stage, std::exception_ptr error) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (chunk < failed_chunk_ || (chunk == failed_chunk_ && stage < failed_stage_)) {
      failed_chunk_ = chunk;
      failed_stage_ = stage;
      error_ = std::move(error);
    }
    changed_.notify_all();
  }

  // Whether (chunk, stage) comes at or after the failure in serial order: it must not run. Under the lock.
  bool stopped(std::size_t chunk, Stage stage) const {
    return chunk > failed_chunk_ || (chunk == failed_chunk_ && stage >= failed_stage_);
  }

  void fill_loop() {
    for (std::size_t chunk = 0;; ++chunk) {
      std::size_t slot;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        changed_.wait(lock, [&] { return !free_.empty() || stopped(chunk, kFill); });
        if (stopped(chunk, kFill)) break;
        slot = free_.front();
        free_.pop_front();
      }
      bool more = false;
      try {
        more = stages_.fill(slot);
      } catch (...) {
        fail(chunk, kFill, std::current_exception());
        break;
      }
      std::lock_guard<std::mutex> lock(mutex_);
      if (!more) {
        free_.push_back(slot);
        break;
      }
      filled_.push_back({slot, chunk});
      changed_.notify_all();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    fill_done_ = true;  // no more chunks: the last one, a failure, or a stop
    changed_.notify_all();
  }

  void compute_loop() {
    for (std::size_t chunk = 0;; ++chunk) {
      Queued item{};
      {
        std::unique_lock<std::mutex> lock(mutex_);
        changed_.wait(lock, [&] { return !filled_.empty() || fill_done_ || stopped(chunk, kCompute); });
        if (stopped(chunk, kCompute) || filled_.empty()) break;  // a failure, or every chunk done
        item = filled_.front();
        filled_.pop_front();
      }
      try {
        stages_.compute(item.slot);
      } catch (...) {
        fail(chunk, kCompute, std::current_exception());
        break;
      }
      std::lock_guard<std::mutex> lock(mutex_);
      computed_.push_back(item);
      changed_.notify_all();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    compute_done_ = true;
    changed_.notify_all();
  }

  void drain_loop() {
    for (;;) {
      Queued item{};
      {
        std::unique_lock<std::mutex> lock(mutex_);
        changed_.wait(lock, [&] { return !computed_.empty() || compute_done_; });
        if (computed_.empty()) break;  // compute_done_: nothing more comes
        item = computed_.front();
        computed_.pop_front();
        if (stopped(item.chunk, kDrain)) continue;  // after a failure in serial order: dropped
      }
      try {
        stages_.drain(item.slot);
      } catch (...) {
        fail(item.chunk, kDrain, std::current_exception());
        continue;  // the rest is dropped by stopped()
      }
      std::lock_guard<std::mutex> lock(mutex_);
      free_.push_back(item.slot);
      changed_.notify_all();
    }
  }

  const ChunkStages& stages_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::size_t> free_;
  std::deque<Queued> filled_, computed_;
  bool fill_done_ = false, compute_done_ = false;
  std::size_t failed_chunk_ = kNone;
  Stage failed_stage_ = kDrain;
  std::exception_ptr error_;
};

}  // namespace

void run_chunk_stages(const ChunkStages& stages, std::size_t slots) {
  if (slots == 0) throw std::invalid_argument("run_chunk_stages needs at least one slot");
  if (slots == 1) {
    for (;;) {
      if (!stages.fill(0)) return;
      stages.compute(0);
      stages.drain(0);
    }
  }
  Overlap(stages, slots).run();
}

}  // namespace hessa
