// The batch-job runner: a job file read and checked, its store created or resumed (settings compared, done chunks
// verified), this shard's chunks still to do computed on this process's backend (or split over MPI ranks), each
// chunk written with its checksum and marked done, and the summary. `hessa run` is a thin front end over it.
#include "jobs/job_runner.hpp"

#include <omp.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <memory>
#include <regex>

#include "engine/backend_choice.hpp"
#include "engine/chunk_stages.hpp"
#include "engine/function_spec.hpp"
#include "engine/metadata.hpp"
#include "hessa/backend.hpp"
#include "hessa/errors.hpp"
#include "hessa/memory_budget.hpp"
#include "hessa/result_store.hpp"
#include "hessa/stop_signals.hpp"
#include "jobs/chunk_team.hpp"
#include "jobs/job_file.hpp"
#include "lanczos/lanczos_chunk.hpp"

namespace hessa::jobs {

namespace fs = std::filesystem;

Shard parse_shard(const std::string& text) {
  static const std::regex form("([0-9]+)/([0-9]+)");
  std::smatch m;
  if (!std::regex_match(text, m, form)) throw InputError("--shard " + text + ": expected K/N, e.g. --shard 3/16");
  const Shard s{std::stoul(m[1]), std::stoul(m[2])};
  if (s.n < 1 || s.k < 1 || s.k > s.n) throw InputError("--shard " + text + ": need 1 <= K <= N");
  return s;
}

// out/scan.h5 -> out/scan.shard-3-of-16.h5
std::string shard_path(const std::string& path, const Shard& s) {
  std::string stem = path;
  for (const char* ext : {".h5", ".hdf5"}) {
    const std::string e(ext);
    if (stem.size() > e.size() && stem.compare(stem.size() - e.size(), e.size(), e) == 0) {
      stem.resize(stem.size() - e.size());
      break;
    }
  }
  return stem + ".shard-" + std::to_string(s.k) + "-of-" + std::to_string(s.n) + ".h5";
}

namespace {

// Appends `part` (a sub-batch) to `whole`: a job chunk larger than the backend's capacity runs in pieces.
void append(ChunkResult& whole, const ChunkResult& part) {
  whole.count += part.count;
  whole.n = part.n;
  whole.points.insert(whole.points.end(), part.points.begin(), part.points.end());
  whole.gradient.insert(whole.gradient.end(), part.gradient.begin(), part.gradient.end());
  whole.hessian.insert(whole.hessian.end(), part.hessian.begin(), part.hessian.end());
  whole.eigenvalues.insert(whole.eigenvalues.end(), part.eigenvalues.begin(), part.eigenvalues.end());
  whole.eigenvectors.insert(whole.eigenvectors.end(), part.eigenvectors.begin(), part.eigenvectors.end());
  whole.extra_columns.resize(part.extra_columns.size());
  for (std::size_t k = 0; k < part.extra_columns.size(); ++k) {
    whole.extra_columns[k].insert(whole.extra_columns[k].end(), part.extra_columns[k].begin(),
                                  part.extra_columns[k].end());
  }
}

void compile_function(const JobSpec& job, CompiledFunction& f) {
  ExpressionOptions expression_options;
  expression_options.dimension = job.function_n;
  expression_options.parameters = job.parameters;
  expression_options.source_name = job.function.source_name;
  expression_options.variable_names = job.variable_names;
  if (job.variable_names.empty() && !job.file_columns.empty() && job.function.user_expression &&
      usable_as_variable_names(job.file_columns)) {
    expression_options.variable_names = job.file_columns;  // as `hessa analyze` does with a CSV header
  }
  f = compile_expression(job.function.expression, expression_options);
}

// Everything a run needs before its first chunk. The output file is opened (or created) only by the process that
// writes it: under MPI, rank 0.
struct PreparedRun {
  JobSpec job;
  Shard shard;
  std::string out;
  nlohmann::json settings;
  CompiledFunction f;                              // an expression job's function
  std::unique_ptr<BatchFunction> caller_function;  // a job of the caller's own function (JobRunRequest)
  StoreLayout layout;
  std::unique_ptr<ResultStore> store;  // writer only
  bool already_complete = false;       // --resume of a complete store: held read-only, nothing to compute
  std::string memory;                  // the memory limit text: --memory, else [run] memory, else ""
  std::unique_ptr<Backend> backend;

  // What the backend analyzes: f or the model loss; a restricted direction scan analyzes (alpha, beta) ->
  // f(centre + alpha d1 + beta d2), a full one f itself at the mapped points. (Pointers into this object.)
  Objective objective() const {
    Objective o;
    o.expression = job.model || job.caller_function ? nullptr : &f;
    o.model = job.model ? &job.mlp : nullptr;
    o.batch = caller_function.get();
    o.subspace = job.directions_scan && job.restricted_hessian ? &job.subspace : nullptr;
    return o;
  }
};

// Refuses a run whose store would outgrow its disk: datasets are allocated (sparse) up front, so without this a
// run would fail with ENOSPC only when the disk fills, hours in. `points` are those still to be written.
void check_disk_space(const std::string& out, const StoreLayout& layout, std::size_t points) {
  const fs::path dir = fs::path(out).has_parent_path() ? fs::path(out).parent_path() : fs::path(".");
  struct statvfs disk {};
  if (::statvfs(dir.c_str(), &disk) != 0) return;  // unknown: the writes will tell
  const double free_bytes = double(disk.f_bavail) * double(disk.f_frsize);
  const double needed = double(points) * double(layout.bytes_per_point());
  if (needed > free_bytes) {
    throw InputError(out, 0, 0,
                     "the store needs " + format_bytes(needed) + " for " + std::to_string(points) + " points (" +
                         format_bytes(double(layout.bytes_per_point())) + " each) and '" + dir.string() + "' has " +
                         format_bytes(free_bytes) +
                         " free: free space, write elsewhere, or store fewer outputs "
                         "(gradient, hessian, eigenvectors)");
  }
}

// The memory one point of a job's chunk holds while the chunk is in memory (its sub-batches run meanwhile): the
// points, the mapped points and its share of the whole ChunkResult (Lanczos: the gradient when kept and the Lanczos
// columns).
std::size_t job_chunk_bytes_per_point(const JobSpec& job) {
  const int n = job.analysis_n();
  const LanczosOptions& lz = job.lanczos_options;
  const std::size_t lanczos_doubles = std::size_t(job.n + 2 * n + 8 * lz.k + 16) +
                                      (lz.ritz_vectors ? 2 * std::size_t(lz.k) * std::size_t(n) : 0) +
                                      2 * std::size_t(lz.density_probes) * std::size_t(std::min(lz.density_steps, n));
  return job.lanczos ? lanczos_doubles * sizeof(double) + sizeof(PointAnalysis)
                     : std::size_t(job.n + n) * sizeof(double) + host_bytes_per_point(n, job.options) -
                           bytes_per_point(n, job.options) + sizeof(PointAnalysis);
}

void check_job_chunk_fits(const JobSpec& job, const std::string& memory) {
  const std::size_t held = job_chunk_bytes_per_point(job);
  const MemoryBudget budget = host_memory_budget(memory_limit_bytes(memory));
  if (double(held) * double(job.chunk_points) > double(budget.chunk_bytes)) {
    throw InputError(job.job_path, 0, 0,
                     "[output] chunk = " + std::to_string(job.chunk_points) + " holds " +
                         format_bytes(double(held) * double(job.chunk_points)) + " in memory, more than the budget (" +
                         format_bytes(double(budget.chunk_bytes)) + " of the " + budget.source +
                         "): choose a chunk of at most " +
                         std::to_string(std::max<std::size_t>(1, budget.chunk_bytes / held)) + " points");
  }
}

// Job chunks held at once by the overlapped loop: up to kOverlappedSlots while they fit the budget together, down to
// 1 (in turn, as before) when only one does.
std::size_t job_chunks_in_flight(const JobSpec& job, const std::string& memory) {
  const double chunk_bytes = double(job_chunk_bytes_per_point(job)) * double(job.chunk_points);
  const MemoryBudget budget = host_memory_budget(memory_limit_bytes(memory));
  std::size_t slots = kOverlappedSlots;
  while (slots > 1 && double(slots) * chunk_bytes > double(budget.chunk_bytes)) --slots;
  return slots;
}

PreparedRun prepare_run(const JobRunRequest& args, ChunkTeam& team, const NoticeSink& notice) {
  PreparedRun run;
  CallerFunction caller;
  caller.has_gradient = args.function_has_gradient;
  run.job =
      read_job(args.job, args.job_text.empty() ? nullptr : &args.job_text, args.make_function ? &caller : nullptr);
  const JobSpec& job = run.job;
  if (args.make_function && !job.caller_function)
    throw InputError(args.job, 0, 0, "a function was given, but the job's [function] does not say python = \"name\"");
  run.memory = args.memory.empty() ? job.memory : args.memory;
  check_job_chunk_fits(job, run.memory);
  run.shard = args.shard.empty() ? Shard{} : parse_shard(args.shard);
  const Shard& shard = run.shard;
  run.out = args.shard.empty() ? job.output_path : shard_path(job.output_path, shard);
  const std::string& out = run.out;
  run.settings = job.settings();
  const nlohmann::json& settings = run.settings;

  if (job.caller_function) {
    run.caller_function = args.make_function(job.function_n);
  } else if (!job.model) {
    compile_function(job, run.f);
  }

  StoreLayout& layout = run.layout;
  layout.total_points = job.total_points;
  layout.n = job.analysis_n();
  layout.coordinates = job.n;
  if (job.directions_scan) {
    layout.scan_centre = job.subspace.origin;
    layout.scan_directions = job.subspace.directions;
  }
  layout.chunk_points = job.chunk_points;
  layout.coordinate_names = job.coordinate_names();
  layout.gradient = job.options.keep_gradient;
  layout.hessian = job.options.keep_hessian;
  layout.eigenvalues = job.options.keep_eigenvalues;
  layout.eigenvectors = job.options.eigenvectors;
  layout.fields = job.output_columns;
  if (job.lanczos) layout.extras = lanczos_datasets(job.lanczos_options, job.analysis_n());
  if (const int m = job.probe_directions.count(); m > 0) {
    layout.extras.push_back(
        {"direction_curvature", m, "[p, k]: d_k'H d_k / d_k'd_k at point p, d_k the job's kth [analysis] direction"});
    layout.extras.push_back({"direction_taylor", m, "[p, k]: f + g'd_k + d_k'H d_k / 2 at point p"});
  }
  layout.settings_json = dump_json(settings);
  layout.shard = args.shard.empty() ? "" : std::to_string(shard.k) + "/" + std::to_string(shard.n);

  std::unique_ptr<ResultStore>& store = run.store;
  if (!team.writer()) {
    // The writer alone opens the output.
  } else if (fs::exists(out)) {
    if (!args.resume) {
      throw InputError(out, 0, 0, "exists; use --resume to continue it, or write to another output");
    }
    // Opened read-only first: a complete store resumes (to nothing) without write access, e.g. on a read-only mount.
    store = ResultStore::open(out, false);
    const auto stored = nlohmann::json::parse(store->layout().settings_json, nullptr, false);
    if (stored.is_discarded()) throw InputError(out, 0, 0, "its 'settings' attribute is not JSON");
    const std::vector<std::string> differing = result_setting_differences(stored, settings);
    if (!differing.empty()) {
      throw InputError(args.job, 0, 0,
                       "the job differs from the one that wrote " + out + " in: " + join_names(differing) +
                           "; resuming would mix results (restore the job, or write to a new output)");
    }
    if (store->layout().shard != layout.shard) {
      throw InputError(out, 0, 0, "was written as shard '" + store->layout().shard + "', not '" + layout.shard + "'");
    }
    // A done chunk whose data no longer matches its checksum is damage to report, not to recompute silently.
    store->verify_done_chunks();
    const std::vector<std::uint8_t> done = store->done_mask();
    bool all_done = true;
    for (std::size_t c = shard.k - 1; c < done.size(); c += shard.n) all_done = all_done && done[c] != 0;
    run.already_complete = all_done && store->complete();
    if (!run.already_complete) {
      store.reset();  // libhdf5 refuses a second, writable open of a file this process holds read-only
      store = ResultStore::open(out, true);
    }
  } else {
    if (!fs::path(out).parent_path().empty()) fs::create_directories(fs::path(out).parent_path());
    check_disk_space(out, layout, layout.total_points);
    store = ResultStore::create(out, layout);
  }

  // CPU threads for this process (each MPI rank: its own), before the backend sizes anything from them.
  const int threads = args.threads > 0 ? args.threads : job.threads;
  if (threads > 0) omp_set_num_threads(threads);
  std::string wanted = args.backend.empty() ? job.backend : args.backend;
  if (job.caller_function && wanted == "auto") wanted = "cpu";  // its values are computed on the host
  team.bind_device(wanted);
  run.backend = choose_backend(wanted, team.writer() ? notice : nullptr);  // one process says it
  return run;
}

}  // namespace

int run_job(const JobRunRequest& args, JobRunOutcome& outcome, const JobProgress& report_progress,
            const NoticeSink& notice) {
  // One process, or MPI ranks when started by mpirun: every rank computes chunks, the writer (rank 0) owns the file.
  const std::unique_ptr<ChunkTeam> team = make_chunk_team();
  PreparedRun run;
  std::exception_ptr setup_error;
  try {
    run = prepare_run(args, *team, notice);
  } catch (...) {
    setup_error = std::current_exception();
  }
  if (const int code = team->agree(setup_error)) return code;  // one process reports the error
  const JobSpec& job = run.job;
  const Shard& shard = run.shard;
  const StoreLayout& layout = run.layout;
  Backend& backend = *run.backend;
  const NoticeSink writer_notice = team->writer() ? notice : nullptr;  // one process says it
  const int analysis_n = job.analysis_n();
  // Sub-batches within the memory budget; the job's chunk itself (the unit of resume) is held whole meanwhile.
  // Lanczos holds its Krylov basis and work vectors per point in flight: O(steps N), the bound the notice states.
  const std::size_t capacity =
      job.lanczos ? plan_chunk_points(0, run.memory, lanczos_bytes_per_point(analysis_n, job.lanczos_options), 64,
                                      "n = " + std::to_string(analysis_n) + ", Lanczos", writer_notice)
                  : plan_chunk_points(
                        0, run.memory, host_bytes_per_point(analysis_n, job.options),
                        backend.chunk_capacity(analysis_n, job.options),
                        "n = " + std::to_string(analysis_n) + ", " + stencil_name(job.options.stencil) + " stencil",
                        writer_notice);
  if (job.lanczos && writer_notice) {
    writer_notice(
        "lanczos: " + format_bytes(double(lanczos_bytes_per_point(analysis_n, job.lanczos_options))) +
        " per point in flight (" + std::to_string(lanczos_vectors_per_point(analysis_n, job.lanczos_options)) +
        " vectors of N = " + std::to_string(analysis_n) + " doubles: the Krylov basis, steps + 1, and work vectors), " +
        std::to_string(capacity) + " point(s) at a time");
  }

  // A full-Hessian direction scan analyzes the mapped points centre + alpha d1 + ..., written out per chunk.
  const bool map_points = job.directions_scan && !job.restricted_hessian;

  // This shard's chunks, and which of them are still to do (known to the writer).
  std::vector<std::size_t> pending;
  std::size_t mine = 0, skipped = 0, points_pending = 0;
  if (run.store) {
    const std::vector<std::uint8_t> done = run.store->done_mask();
    for (std::size_t c = 0; c < layout.chunk_count(); ++c) {
      if (c % shard.n != shard.k - 1) continue;
      ++mine;
      if (done[c]) {
        ++skipped;
      } else {
        pending.push_back(c);
        points_pending += layout.chunk_size(c);
      }
    }
  }

  if (run.store && !pending.empty() && args.resume) check_disk_space(run.out, layout, points_pending);

  SummaryTimer timer;
  RunSummary& summary = timer.summary();
  if (report_progress && team->writer()) report_progress(0, points_pending);
  std::size_t points_written = 0;
  std::size_t delivered = 0;  // chunks of this process's share written (or sent to the writer)
  try {
    const std::vector<std::size_t> my_chunks =
        team->share(pending, [&](std::size_t c, const double* chunk_points, const ChunkResult& result) {
          run.store->write_chunk(c, chunk_points, result);
          points_written += result.count;
          if (report_progress) report_progress(points_written, points_pending);
        });
    const Objective objective = run.objective();
    // The probe directions' columns come from exact Hessian-vector products of the function itself (no subspace),
    // at the points in its own coordinates.
    Objective inner = objective;
    inner.subspace = nullptr;
    const bool probes = job.probe_directions.count() > 0;
    // A chunk in flight: its points (and mapped points) and its whole ChunkResult. While one computes, the next
    // one's points are made and the previous one is written (engine/chunk_stages.hpp), when the team allows it
    // and the memory budget holds the extra chunks.
    struct Slot {
      std::size_t chunk = 0;
      std::vector<double> points, mapped;
      ChunkResult whole;
    };
    const std::size_t slots = team->delivers_on_any_thread() ? job_chunks_in_flight(job, run.memory) : 1;
    std::vector<Slot> slot(slots);
    std::vector<double> probe_points;
    ChunkResult part;
    std::size_t next = 0;
    ChunkStages stages;
    stages.fill = [&](std::size_t s) {
      if (next == my_chunks.size()) return false;
      Slot& c = slot[s];
      c.chunk = my_chunks[next++];
      const std::size_t first = layout.chunk_begin(c.chunk), count = layout.chunk_size(c.chunk);
      job.points(first, count, c.points);
      if (map_points) {
        c.mapped.resize(count * std::size_t(analysis_n));
        for (std::size_t p = 0; p < count; ++p)
          job.subspace.map(c.points.data() + p * std::size_t(job.n), c.mapped.data() + p * std::size_t(analysis_n));
      }
      return true;
    };
    stages.compute = [&](std::size_t s) {
      throw_if_stop_requested();  // between chunks: the store keeps every chunk finished so far
      Slot& c = slot[s];
      const std::size_t first = layout.chunk_begin(c.chunk), count = layout.chunk_size(c.chunk);
      const double* analyzed = map_points ? c.mapped.data() : c.points.data();
      ChunkResult& whole = c.whole;
      whole = ChunkResult{};
      for (std::size_t p = 0; p < count; p += capacity) {
        const std::size_t m = std::min(capacity, count - p);
        if (job.lanczos) {
          lanczos_chunk(backend, inner, analyzed + p * std::size_t(analysis_n), m, first + p, job.lanczos_options,
                        job.options, part);
        } else {
          backend.analyze(objective, job.options, analyzed + p * std::size_t(analysis_n), m, part);
          part.extra_columns.clear();  // (caller-set: left from the previous sub-batch)
        }
        if (probes) {
          const double* at = analyzed + p * std::size_t(analysis_n);
          if (job.directions_scan && !map_points) {  // a restricted scan: its points are (alpha, beta, ...)
            probe_points.resize(m * std::size_t(job.function_n));
            for (std::size_t q = 0; q < m; ++q) {
              job.subspace.map(c.points.data() + (p + q) * std::size_t(job.n),
                               probe_points.data() + q * std::size_t(job.function_n));
            }
            at = probe_points.data();
          }
          add_direction_columns_by_hvp(job.probe_directions, backend, inner, at, part);
        }
        append(whole, part);
      }
      add_to_summary(summary, whole);
    };
    stages.drain = [&](std::size_t s) {
      team->deliver(slot[s].chunk, slot[s].points.data(), job.n, slot[s].whole);
      ++delivered;
    };
    run_chunk_stages(stages, slots);
    summary.chunks = delivered;
    team->finish();
    if (run.store) {
      if (!run.already_complete) run.store->set_complete(true);  // every chunk of this job (or shard) is done
      run.store.reset();
    }
    team->combine(summary);
  } catch (const StopRequested& stop) {
    const std::string kept = run.out + " keeps " + std::to_string(skipped + delivered) + " of " + std::to_string(mine) +
                             " chunks; continue with 'hessa run " + args.job + " --resume'";
    try {
      team->fail();
    } catch (const StopRequested&) {
    }
    run.store.reset();  // closed cleanly before the message
    throw StopRequested(stop.signal_number(), kept);
  } catch (...) {
    team->fail();  // rethrows, or (MPI) reports and aborts every rank
  }
  outcome = JobRunOutcome{};
  outcome.writer = team->writer();
  if (!outcome.writer) return 0;
  outcome.summary = timer.finish();
  outcome.already_complete = run.already_complete;
  outcome.out = run.out;
  outcome.settings_json = dump_json(run.settings);
  outcome.function_label = job.function.label;
  outcome.function_n = job.function_n;
  outcome.analysis_n = analysis_n;
  outcome.directions_scan = job.directions_scan;
  outcome.scan_dimension = job.n;
  outcome.stencil = job.options.stencil;
  outcome.lanczos = job.lanczos;
  outcome.backend_name = backend.name();
  outcome.team = team->describe();
  outcome.chunks_done_before = skipped;
  outcome.chunks_in_shard = mine;
  outcome.chunk_count = layout.chunk_count();
  outcome.shard = shard;
  return 0;
}

}  // namespace hessa::jobs
