// The overlapped chunk loop (see chunk_stages.hpp): three threads handing slots on through two queues under one
// mutex. The hand-offs cost microseconds; a chunk costs milliseconds or more.
#include "engine/chunk_stages.hpp"

#include <omp.h>

#include <chrono>
#include <condition_variable>
#include <ctime>
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

// The compute stage's OpenMP team. With every core in it, the fill and drain threads' work (parsing, formatting,
// the kernel's copies into the page cache) preempts team members, and a parallel region waits for its slowest
// member, so on a machine with few cores a heavy writer stalls the whole team (n = 2, .npy out, 2 cores: 0.22 s
// with a team of 2, 0.14 s with 1). So while the I/O threads' CPU time for a chunk exceeds the chunk's compute
// time, the team leaves them one core; it gets the core back once that falls under a quarter of the compute time
// (the gap keeps it from flipping every chunk). Results do not depend on the team's size: every stage works per
// point. The caller's setting is restored after.
class ComputeTeam {
 public:
  ComputeTeam() : full_(omp_get_max_threads()), current_(full_), adapts_(full_ > 1 && full_ >= omp_get_num_procs()) {}
  ~ComputeTeam() {
    if (current_ != full_) omp_set_num_threads(full_);
  }
  ComputeTeam(const ComputeTeam&) = delete;
  ComputeTeam& operator=(const ComputeTeam&) = delete;

  void after_chunk(double io_cpu_seconds, double compute_seconds) {
    if (!adapts_) return;
    int team = current_;
    if (io_cpu_seconds > compute_seconds) team = full_ - 1;
    if (io_cpu_seconds < 0.25 * compute_seconds) team = full_;
    if (team != current_) omp_set_num_threads(team);
    current_ = team;
  }

 private:
  int full_, current_;
  bool adapts_;
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// CPU time of the calling thread, in seconds.
double thread_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

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
      const double cpu = thread_cpu_seconds();
      try {
        more = stages_.fill(slot);
      } catch (...) {
        fail(chunk, kFill, std::current_exception());
        break;
      }
      const double used = thread_cpu_seconds() - cpu;
      std::lock_guard<std::mutex> lock(mutex_);
      fill_cpu_ = used;
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
    ComputeTeam team;
    for (std::size_t chunk = 0;; ++chunk) {
      Queued item{};
      {
        std::unique_lock<std::mutex> lock(mutex_);
        changed_.wait(lock, [&] { return !filled_.empty() || fill_done_ || stopped(chunk, kCompute); });
        if (stopped(chunk, kCompute) || filled_.empty()) break;  // a failure, or every chunk done
        item = filled_.front();
        filled_.pop_front();
      }
      const auto compute_start = std::chrono::steady_clock::now();
      try {
        stages_.compute(item.slot);
      } catch (...) {
        fail(chunk, kCompute, std::current_exception());
        break;
      }
      const double computed = seconds_since(compute_start);
      double io_cpu = 0.0;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        io_cpu = fill_cpu_ + drain_cpu_;
      }
      team.after_chunk(io_cpu, computed);
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
      const double cpu = thread_cpu_seconds();
      try {
        stages_.drain(item.slot);
      } catch (...) {
        fail(item.chunk, kDrain, std::current_exception());
        continue;  // the rest is dropped by stopped()
      }
      const double used = thread_cpu_seconds() - cpu;
      std::lock_guard<std::mutex> lock(mutex_);
      drain_cpu_ = used;
      free_.push_back(item.slot);
      changed_.notify_all();
    }
  }

  const ChunkStages& stages_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::size_t> free_;
  std::deque<Queued> filled_, computed_;
  double fill_cpu_ = 0.0, drain_cpu_ = 0.0;  // CPU seconds of the latest chunk's fill and drain (ComputeTeam)
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
