// `hessa run JOB.toml` (a batch job into an HDF5 store: resumable, shardable) and `hessa merge` (shards -> one file).
#include <omp.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <limits>
#include <memory>
#include <optional>
#include <regex>

#include "cli/chunk_options.hpp"
#include "cli/chunk_team.hpp"
#include "cli/commands.hpp"
#include "cli/function_options.hpp"
#include "cli/job_file.hpp"
#include "hessa/backend.hpp"
#include "hessa/errors.hpp"
#include "hessa/memory_budget.hpp"
#include "hessa/pipeline.hpp"
#include "hessa/result_store.hpp"
#include "hessa/stop_signals.hpp"

namespace hessa::cli {
namespace {

namespace fs = std::filesystem;

struct RunArgs {
  std::string job;
  bool resume = false;
  std::string shard;
  std::string backend;  // overrides [run] backend when given
  int threads = 0;      // overrides [run] threads when > 0
  std::string memory;   // overrides [run] memory when given
  bool quiet = false;
};

struct MergeArgs {
  std::vector<std::string> inputs;
  std::string out;
  bool allow_incomplete = false;
  bool quiet = false;
};

// On a terminal: a bar-less progress line redrawn a few times a second (as `hessa analyze`). Otherwise (batch
// logs): a plain line every 10 s with points done, rate and ETA.
class BatchProgress {
 public:
  BatchProgress(bool enabled, std::size_t total)
      : enabled_(enabled), terminal_(isatty(STDERR_FILENO) != 0), total_(total) {}
  void update(std::size_t done) {
    if (!enabled_) return;
    const double elapsed = seconds();
    const double interval = terminal_ ? 0.25 : 10.0;
    if (elapsed < 1.0 || elapsed - last_ < interval) return;
    last_ = elapsed;
    const double rate = double(done) / elapsed;
    const double eta = rate > 0 ? double(total_ - done) / rate : 0.0;
    std::fprintf(stderr, "%s%zu / %zu points (%.0f%%), %.3g points/s, ETA %.0f s%s", terminal_ ? "\r" : "hessa: ", done,
                 total_, total_ ? 100.0 * double(done) / double(total_) : 100.0, rate, eta, terminal_ ? "   " : "\n");
    std::fflush(stderr);
    shown_ = terminal_;
  }
  ~BatchProgress() {
    if (shown_) std::fprintf(stderr, "\n");
  }

 private:
  double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }
  bool enabled_;
  bool terminal_;
  std::size_t total_;
  bool shown_ = false;
  double last_ = 0.0;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

struct Shard {
  std::size_t k = 1, n = 1;  // 1-based k of n
};

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

std::string join(const std::vector<std::string>& items, std::size_t limit = 20) {
  std::string text;
  for (std::size_t i = 0; i < items.size() && i < limit; ++i) text += (i ? ", " : "") + items[i];
  if (items.size() > limit) text += ", ... (" + std::to_string(items.size()) + " in all)";
  return text;
}

// Appends `part` (a sub-batch) to `whole`: a job chunk larger than the backend's capacity runs in pieces.
void append(ChunkResult& whole, const ChunkResult& part) {
  whole.count += part.count;
  whole.n = part.n;
  whole.points.insert(whole.points.end(), part.points.begin(), part.points.end());
  whole.gradient.insert(whole.gradient.end(), part.gradient.begin(), part.gradient.end());
  whole.hessian.insert(whole.hessian.end(), part.hessian.begin(), part.hessian.end());
  whole.eigenvalues.insert(whole.eigenvalues.end(), part.eigenvalues.begin(), part.eigenvalues.end());
  whole.eigenvectors.insert(whole.eigenvectors.end(), part.eigenvectors.begin(), part.eigenvectors.end());
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
  CompiledFunction f;  // an expression job's function
  StoreLayout layout;
  std::unique_ptr<ResultStore> store;  // writer only
  bool already_complete = false;       // --resume of a complete store: held read-only, nothing to compute
  std::string memory;                  // the memory limit text: --memory, else [run] memory, else ""
  std::unique_ptr<Backend> backend;

  // What the backend analyzes: f or the model loss; a restricted direction scan analyzes (alpha, beta) ->
  // f(centre + alpha d1 + beta d2), a full one f itself at the mapped points. (Pointers into this object.)
  Objective objective() const {
    Objective o;
    o.expression = job.model ? nullptr : &f;
    o.model = job.model ? &job.mlp : nullptr;
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

// The job's chunk (points, mapped points and the whole ChunkResult) stays in memory while its sub-batches run.
void check_job_chunk_fits(const JobSpec& job, const std::string& memory) {
  const int n = job.analysis_n();
  const std::size_t held = std::size_t(job.n + n) * sizeof(double) + host_bytes_per_point(n, job.options) -
                           bytes_per_point(n, job.options) + sizeof(PointAnalysis);
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

PreparedRun prepare_run(const RunArgs& args, ChunkTeam& team) {
  PreparedRun run;
  run.job = read_job(args.job);
  const JobSpec& job = run.job;
  run.memory = args.memory.empty() ? job.memory : args.memory;
  check_job_chunk_fits(job, run.memory);
  run.shard = args.shard.empty() ? Shard{} : parse_shard(args.shard);
  const Shard& shard = run.shard;
  run.out = args.shard.empty() ? job.output_path : shard_path(job.output_path, shard);
  const std::string& out = run.out;
  run.settings = job.settings();
  const nlohmann::json& settings = run.settings;

  if (!job.model) compile_function(job, run.f);

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
                       "the job differs from the one that wrote " + out + " in: " + join(differing) +
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
  const std::string wanted = args.backend.empty() ? job.backend : args.backend;
  team.bind_device(wanted);
  run.backend = choose_backend(wanted, args.quiet || !team.writer());
  return run;
}

int run_job(const RunArgs& args) {
  // One process, or MPI ranks when started by mpirun: every rank computes chunks, the writer (rank 0) owns the file.
  const std::unique_ptr<ChunkTeam> team = make_chunk_team();
  PreparedRun run;
  std::exception_ptr setup_error;
  try {
    run = prepare_run(args, *team);
  } catch (...) {
    setup_error = std::current_exception();
  }
  if (const int code = team->agree(setup_error)) return code;  // one process reports the error
  const JobSpec& job = run.job;
  const Shard& shard = run.shard;
  const StoreLayout& layout = run.layout;
  Backend& backend = *run.backend;
  const bool quiet = args.quiet || !team->writer();
  const int analysis_n = job.analysis_n();
  // Sub-batches within the memory budget; the job's chunk itself (the unit of resume) is held whole meanwhile.
  const std::size_t capacity = plan_chunk_points(
      0, run.memory, host_bytes_per_point(analysis_n, job.options), backend.chunk_capacity(analysis_n, job.options),
      "n = " + std::to_string(analysis_n) + ", " + stencil_name(job.options.stencil) + " stencil", quiet);

  // A full-Hessian direction scan analyzes the mapped points centre + alpha d1 + ..., written out per chunk.
  const bool map_points = job.directions_scan && !job.restricted_hessian;

  // This shard's chunks, and which of them are still to do (known to the writer).
  std::vector<std::size_t> todo;
  std::size_t mine = 0, skipped = 0, points_todo = 0;
  if (run.store) {
    const std::vector<std::uint8_t> done = run.store->done_mask();
    for (std::size_t c = 0; c < layout.chunk_count(); ++c) {
      if (c % shard.n != shard.k - 1) continue;
      ++mine;
      if (done[c]) {
        ++skipped;
      } else {
        todo.push_back(c);
        points_todo += layout.chunk_size(c);
      }
    }
  }

  if (run.store && !todo.empty() && args.resume) check_disk_space(run.out, layout, points_todo);

  const auto start = std::chrono::steady_clock::now();
  RunSummary summary;
  summary.lambda_min = std::numeric_limits<double>::infinity();
  summary.lambda_max = -std::numeric_limits<double>::infinity();
  BatchProgress progress(!quiet, points_todo);
  std::size_t points_written = 0;
  try {
    const std::vector<std::size_t> my_chunks =
        team->share(todo, [&](std::size_t c, const double* chunk_points, const ChunkResult& result) {
          run.store->write_chunk(c, chunk_points, result);
          points_written += result.count;
          progress.update(points_written);
        });
    const Objective objective = run.objective();
    std::vector<double> points, mapped;
    ChunkResult whole, part;
    for (std::size_t c : my_chunks) {
      throw_if_stop_requested();  // between chunks: the store keeps every chunk finished so far
      const std::size_t first = layout.chunk_begin(c), count = layout.chunk_size(c);
      job.points(first, count, points);
      if (map_points) {
        mapped.resize(count * std::size_t(analysis_n));
        for (std::size_t p = 0; p < count; ++p)
          job.subspace.map(points.data() + p * std::size_t(job.n), mapped.data() + p * std::size_t(analysis_n));
      }
      const double* analyzed = map_points ? mapped.data() : points.data();
      whole = ChunkResult{};
      for (std::size_t p = 0; p < count; p += capacity) {
        const std::size_t m = std::min(capacity, count - p);
        backend.analyze(objective, job.options, analyzed + p * std::size_t(analysis_n), m, part);
        append(whole, part);
      }
      add_to_summary(summary, whole);
      ++summary.chunks;
      team->deliver(c, points.data(), whole);
    }
    team->finish();
    if (run.store) {
      if (!run.already_complete) run.store->set_complete(true);  // every chunk of this job (or shard) is done
      run.store.reset();
    }
    team->combine(summary);
  } catch (const StopRequested& stop) {
    const std::string kept = run.out + " keeps " + std::to_string(skipped + summary.chunks) + " of " +
                             std::to_string(mine) + " chunks; continue with 'hessa run " + args.job + " --resume'";
    try {
      team->fail();
    } catch (const StopRequested&) {
    }
    run.store.reset();  // closed cleanly before the message
    throw StopRequested(stop.signal_number(), kept);
  } catch (...) {
    team->fail();  // rethrows, or (MPI) reports and aborts every rank
  }
  if (!team->writer()) return 0;
  if (summary.points == summary.failed) summary.lambda_min = summary.lambda_max = std::nan("");
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  if (!args.quiet) {
    if (run.already_complete) {
      std::cout << "hessa: " << run.out << " is complete (every chunk verified): nothing to do\n";
    }
    std::cout << "hessa: " << summary.points << " points computed, " << job.function.label << " (n = " << job.function_n
              << (job.directions_scan ? ", " + std::to_string(analysis_n) + "x" + std::to_string(analysis_n) +
                                            " Hessian of a " + std::to_string(job.n) + "-direction scan"
                                      : std::string())
              << "), " << stencil_name(job.options.stencil) << " stencil, " << backend.name();
    if (!team->describe().empty()) std::cout << ", " << team->describe();
    std::cout << '\n';
    std::cout << "  chunks: " << summary.chunks << " computed, " << skipped << " already done";
    if (shard.n > 1)
      std::cout << " (shard " << shard.k << "/" << shard.n << ": " << mine << " of " << layout.chunk_count() << ")";
    std::cout << '\n';
    for (int c = 1; c < 6; ++c) {
      std::cout << "  " << std::left << std::setw(12) << class_name(PointClass(c)) << summary.per_class[std::size_t(c)]
                << '\n';
    }
    std::cout << "  " << std::setw(12) << "failed" << summary.failed << (summary.failed ? "  (see /status)" : "")
              << '\n';
    std::cout << "  eigenvalues in [" << summary.lambda_min << ", " << summary.lambda_max
              << "] (points computed now)\n";
    std::cout << "  " << summary.seconds << " s, "
              << (summary.seconds > 0 ? double(summary.points) / summary.seconds : 0.0) << " points/s\n";
    std::cout << "  wrote " << run.out << "\n  settings: " << dump_json(run.settings) << '\n';
  }
  return 0;
}

int run_merge(const MergeArgs& args) {
  if (fs::exists(args.out)) throw InputError(args.out, 0, 0, "exists; choose another -o");
  std::vector<std::unique_ptr<ResultStore>> inputs;
  for (const std::string& path : args.inputs) inputs.push_back(ResultStore::open(path, false));
  const StoreLayout& ref = inputs.front()->layout();
  const auto ref_settings = nlohmann::json::parse(ref.settings_json, nullptr, false);
  for (std::size_t i = 1; i < inputs.size(); ++i) {
    const StoreLayout& other = inputs[i]->layout();
    const std::vector<std::string> differing =
        result_setting_differences(ref_settings, nlohmann::json::parse(other.settings_json, nullptr, false));
    if (!differing.empty()) {
      throw InputError(args.inputs[i], 0, 0,
                       "its settings differ from " + args.inputs[0] + "'s in: " + join(differing));
    }
    if (other.total_points != ref.total_points || other.n != ref.n || other.coordinates != ref.coordinates ||
        other.scan_centre != ref.scan_centre || other.scan_directions != ref.scan_directions ||
        other.chunk_points != ref.chunk_points || other.gradient != ref.gradient || other.hessian != ref.hessian ||
        other.eigenvalues != ref.eigenvalues || other.eigenvectors != ref.eigenvectors) {
      throw InputError(args.inputs[i], 0, 0, "its datasets do not have the shape of " + args.inputs[0] + "'s");
    }
  }
  // Which input provides each chunk; a chunk done in two inputs must agree byte for byte.
  const std::size_t chunks = ref.chunk_count();
  std::vector<int> source(chunks, -1);
  std::size_t overlaps = 0;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const std::vector<std::uint8_t> done = inputs[i]->done_mask();
    for (std::size_t c = 0; c < chunks; ++c) {
      if (!done[c]) continue;
      if (source[c] < 0) {
        source[c] = int(i);
        continue;
      }
      ++overlaps;
      if (inputs[i]->read_chunk_raw(c) != inputs[std::size_t(source[c])]->read_chunk_raw(c)) {
        throw InputError(
            args.inputs[i], 0, 0,
            "chunk " + std::to_string(c) + " disagrees with the same chunk in " + args.inputs[std::size_t(source[c])]);
      }
    }
  }
  std::vector<std::string> missing;
  for (std::size_t c = 0; c < chunks; ++c)
    if (source[c] < 0) missing.push_back(std::to_string(c));
  if (!missing.empty() && !args.allow_incomplete) {
    throw InputError(args.out, 0, 0,
                     std::to_string(missing.size()) + " of " + std::to_string(chunks) +
                         " chunks are done in none of the inputs: " + join(missing) +
                         " (run the missing shards, or pass --allow-incomplete)");
  }
  // Written under a temporary name and renamed: the merged file appears whole or not at all.
  const std::string partial = args.out + ".partial";
  fs::remove(partial);
  StoreLayout layout = ref;
  layout.shard = "";
  try {
    auto out = ResultStore::create(partial, layout);
    for (std::size_t c = 0; c < chunks; ++c)
      if (source[c] >= 0) out->write_chunk_raw(c, inputs[std::size_t(source[c])]->read_chunk_raw(c));
    out->set_complete(missing.empty());
  } catch (...) {
    fs::remove(partial);
    throw;
  }
  fs::rename(partial, args.out);
  if (!args.quiet) {
    std::cout << "hessa: merged " << inputs.size() << " files into " << args.out << ": " << chunks - missing.size()
              << " of " << chunks << " chunks (" << overlaps << " overlapping, identical)";
    if (!missing.empty()) std::cout << "; missing: " << join(missing);
    std::cout << '\n';
  }
  return 0;
}

}  // namespace

std::function<int()> add_run_command(CLI::App& app) {
  auto args = std::make_shared<RunArgs>();
  CLI::App* cmd = app.add_subcommand("run", "Run a batch job (TOML job file) into an HDF5 result store, resumable");
  cmd->add_option("job", args->job, "The job file (.toml); see README.md, 'Batch jobs'")->required();
  cmd->add_flag("--resume", args->resume, "Continue an existing output: compute only the chunks not marked done");
  cmd->add_option("--shard", args->shard,
                  "K/N: compute chunks c with c % N == K-1 into <output>.shard-K-of-N.h5 (SLURM arrays: "
                  "--shard $((SLURM_ARRAY_TASK_ID+1))/$SLURM_ARRAY_TASK_COUNT)");
  cmd->add_option("--backend", args->backend, "Override the job's [run] backend: auto, cpu or cuda")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  cmd->add_option("--threads", args->threads, "Override the job's [run] threads: CPU threads per process")
      ->check(CLI::Range(1, 4096));
  add_memory_option(cmd, args->memory,
                    "Override the job's [run] memory: a host memory limit such as 768M (default: the cgroup's "
                    "limit, else the available memory)");
  cmd->add_flag("-q,--quiet", args->quiet, "No summary, no progress, no fallback notice");
  return [args]() { return run_job(*args); };
}

std::function<int()> add_merge_command(CLI::App& app) {
  auto args = std::make_shared<MergeArgs>();
  CLI::App* cmd = app.add_subcommand("merge", "Merge shard files of one job (hessa run --shard) into one HDF5 file");
  cmd->add_option("inputs", args->inputs, "The shard files")->required()->check(CLI::ExistingFile);
  cmd->add_option("-o,--out", args->out, "The merged file")->required();
  cmd->add_flag("--allow-incomplete", args->allow_incomplete, "Write the merged file even when chunks are missing");
  cmd->add_flag("-q,--quiet", args->quiet, "No summary");
  return [args]() { return run_merge(*args); };
}

}  // namespace hessa::cli
