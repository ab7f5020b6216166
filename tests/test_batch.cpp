// Batch jobs: a run killed with SIGKILL and resumed equals an uninterrupted run bit for bit; shards + merge equal
// one run; resume refuses a changed job; bad job files exit 2 with the key path and line. What needs a process
// (a kill, MPI, exit codes, printed summaries) runs the `hessa` binary; the rest calls the job runner in-process.
// The HDF5 files are read back with the HDF5 C API directly, not through hessa's own store code.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "batch_jobs.hpp"
#include "cli_support.hpp"
#include "hessa/errors.hpp"
#include "hessa/io.hpp"
#include "jobs/job_runner.hpp"
#include "jobs/merge_stores.hpp"
#include "store_reader.hpp"

namespace {

namespace fs = std::filesystem;

using hessa::test::CliRun;
using hessa::test::run_hessa;

using hessa::test::count_done;
using hessa::test::expect_same_per_point_data;
using hessa::test::per_point_datasets;
using hessa::test::read_file;
using hessa::test::StoredFile;

class Batch : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("hessa_batch_" + std::to_string(getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    const fs::path p = dir_ / name;
    std::ofstream(p) << text;
    return p.string();
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // The job runner in-process, on the CPU, as `hessa run JOB [--shard K/N] [--resume] --backend cpu` runs it.
  static hessa::jobs::JobRunOutcome run_here(const std::string& job, const std::string& shard = "",
                                             bool resume = false) {
    hessa::jobs::JobRunRequest request;
    request.job = job;
    request.shard = shard;
    request.resume = resume;
    request.backend = "cpu";
    hessa::jobs::JobRunOutcome outcome;
    EXPECT_EQ(hessa::jobs::run_job(request, outcome, nullptr, nullptr), 0);
    return outcome;
  }
  // The InputError's message that the job runner (or merge) throws, "" when it throws none.
  template <class Run>
  static std::string input_error_of(Run run) {
    try {
      run();
    } catch (const hessa::InputError& e) {
      return e.what();
    }
    return "";
  }

  // A job that takes a few seconds on two cores: 300 x 300 points of the slow function, 90 chunks, every optional
  // array on so that all datasets are compared.
  std::string slow_job(const std::string& name, const std::string& output, const std::string& gtol = "1e-4") {
    hessa::test::GridJob job{output, hessa::test::kSlowFunction, "-2.0, -2.0", "2.0, 2.0", 300, 300, 1000};
    job.analysis = "gtol = " + gtol + "\n" + job.analysis;
    return write(name, hessa::test::job_text(job));
  }
  std::string small_job(const std::string& name, const std::string& output) {
    hessa::test::GridJob job{output};
    job.nx = 41, job.ny = 37, job.chunk = 100, job.run = "";
    return write(name, hessa::test::job_text(job));
  }

  fs::path dir_;
};

TEST_F(Batch, KilledRunResumedEqualsAnUninterruptedRunBitForBit) {
  const std::vector<std::string> names = per_point_datasets(true);
  const std::string job = slow_job("job.toml", "killed.h5");
  const std::string out = path("killed.h5");

  const pid_t child = hessa::test::spawn_hessa({"run", job, "--quiet"});
  ASSERT_GE(child, 0);
  // Wait until some chunks are done, then kill -9 while the rest are being computed.
  std::size_t done_before_kill = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    if (fs::exists(out)) {
      if (const auto f = read_file(out, {})) {
        done_before_kill = count_done(*f);
        if (done_before_kill >= 3) break;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the run finished before it could be killed: make the job bigger";
  EXPECT_EQ(WTERMSIG(status), SIGKILL);

  const auto killed = read_file(out, names);
  ASSERT_TRUE(killed.has_value()) << "the killed run left an unreadable file";
  const std::size_t done_at_kill = count_done(*killed);
  EXPECT_GE(done_at_kill, 3u);
  EXPECT_LT(done_at_kill, killed->done().size()) << "killed after the last chunk: nothing left to resume";
  EXPECT_EQ(killed->complete, 0);

  const CliRun again = run_hessa("run " + job + " --backend cpu");
  EXPECT_EQ(again.exit_code, 2) << again.output;
  EXPECT_NE(again.output.find("exists; use --resume to continue it"), std::string::npos) << again.output;

  const CliRun resumed = run_hessa("run " + job + " --resume --backend cpu");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find(std::to_string(done_at_kill) + " already done"), std::string::npos) << resumed.output;

  const std::string reference_job = slow_job("reference.toml", "reference.h5");
  const CliRun whole = run_hessa("run " + reference_job + " --quiet");
  ASSERT_EQ(whole.exit_code, 0) << whole.output;

  const auto a = read_file(out, names);
  const auto b = read_file(path("reference.h5"), names);
  ASSERT_TRUE(a && b);
  expect_same_per_point_data(*a, *b, names);
  EXPECT_EQ(count_done(*a), a->done().size());
  EXPECT_EQ(a->complete, 1);
  EXPECT_EQ(b->complete, 1);
}

TEST_F(Batch, ThreeShardsMergedEqualOneRun) {
  const std::vector<std::string> names = per_point_datasets(true);
  const std::string job = small_job("job.toml", "scan.h5");
  for (int k = 1; k <= 3; ++k) {
    const hessa::jobs::JobRunOutcome r = run_here(job, std::to_string(k) + "/3");
    EXPECT_EQ(r.out, path("scan.shard-" + std::to_string(k) + "-of-3.h5"));
    EXPECT_EQ(r.chunks_in_shard, k == 1 ? 6u : 5u);  // 16 chunks: 0, 3, ..., 15 / 1, 4, ..., 13 / 2, ..., 14
    EXPECT_EQ(r.summary.chunks, r.chunks_in_shard);
    ASSERT_TRUE(fs::exists(path("scan.shard-" + std::to_string(k) + "-of-3.h5")));
  }
  const auto shard1 = read_file(path("scan.shard-1-of-3.h5"), names);
  ASSERT_TRUE(shard1);
  const std::vector<unsigned char> done1 = shard1->done();  // 1517 points / 100 = 16 chunks: 0, 3, 6, ...
  ASSERT_EQ(done1.size(), 16u);
  for (std::size_t c = 0; c < done1.size(); ++c) EXPECT_EQ(done1[c] != 0, c % 3 == 0) << c;

  const std::string s1 = path("scan.shard-1-of-3.h5"), s2 = path("scan.shard-2-of-3.h5"),
                    s3 = path("scan.shard-3-of-3.h5");
  const std::string partial = input_error_of([&] { hessa::jobs::merge_stores({{s1, s2}, path("partial.h5"), false}); });
  EXPECT_NE(partial.find("chunks are done in none of the inputs: 2, 5, 8"), std::string::npos) << partial;
  EXPECT_FALSE(fs::exists(path("partial.h5")));

  // Overlapping inputs (shard 1 twice) are fine when they agree.
  const hessa::jobs::MergeOutcome merged = hessa::jobs::merge_stores({{s1, s2, s3, s1}, path("merged.h5"), false});
  EXPECT_EQ(merged.chunks, 16u);
  EXPECT_EQ(merged.overlaps, 6u);  // shard 1's chunks, given twice
  EXPECT_TRUE(merged.missing.empty());
  const hessa::jobs::JobRunOutcome single = run_here(job);
  EXPECT_EQ(single.summary.points, 41u * 37u);

  const auto a = read_file(path("merged.h5"), names);
  const auto b = read_file(path("scan.h5"), names);
  ASSERT_TRUE(a && b);
  expect_same_per_point_data(*a, *b, names);
  EXPECT_EQ(a->done(), b->done());
  EXPECT_EQ(a->complete, 1);
}

TEST_F(Batch, MergeRefusesShardsOfDifferentJobs) {
  const std::string job = small_job("job.toml", "scan.h5");
  run_here(job, "1/2");
  std::string text;
  {
    std::ifstream in(job);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  write("other.toml", text.replace(text.find("counts = [41, 37]"), 17, "counts = [41, 38]"));
  // Same chunk count (16), different grid: the settings tell them apart.
  run_here(path("other.toml"), "2/2");
  const std::string error = input_error_of([&] {
    hessa::jobs::merge_stores({{path("scan.shard-1-of-2.h5"), path("scan.shard-2-of-2.h5")}, path("merged.h5"), false});
  });
  EXPECT_NE(error.find("points.counts"), std::string::npos) << error;
  EXPECT_FALSE(fs::exists(path("merged.h5")));
}

TEST_F(Batch, ResumeRefusesAJobThatChangesResults) {
  const std::string job = small_job("job.toml", "scan.h5");
  run_here(job);
  std::string text;
  {
    std::ifstream in(job);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  text.replace(text.find("chunk = 100"), 11, "chunk = 50");
  text.replace(text.find("[analysis]\n"), 11, "[analysis]\ngtol = 1e-3\n");
  write("job.toml", text);
  const std::string error = input_error_of([&] { run_here(job, "", true); });
  EXPECT_NE(error.find("analysis.gtol, output.chunk"), std::string::npos) << error;
  // The backend is not a result setting: resuming under another [run] section is allowed.
  text.replace(text.find("chunk = 50"), 10, "chunk = 100");
  text.replace(text.find("gtol = 1e-3\n"), 12, "");
  write("job.toml", text + "[run]\nbackend = \"cpu\"\n");
  const hessa::jobs::JobRunOutcome ok = run_here(job, "", true);
  EXPECT_EQ(ok.summary.chunks, 0u);
  EXPECT_EQ(ok.chunks_done_before, 16u);
  EXPECT_TRUE(ok.already_complete);
}

// [output] columns: the store keeps those analysis fields (and points, done, checksum, the [analysis] arrays), with
// the values a full store has; resume, shards and merge work as ever; changing the columns is a result change.
TEST_F(Batch, OutputColumnsStoreOnlyThoseFieldsWithTheSameValues) {
  const std::string full = small_job("full.toml", "full.h5");
  run_here(full);
  std::string text;
  {
    std::ifstream in(full);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  text.replace(text.find("full.h5"), 7, "some.h5");
  text.insert(text.find("chunk = 100") + 11, "\ncolumns = [\"lambda_min\", \"f\", \"class\"]");
  const std::string some = write("some.toml", text);
  for (int k = 1; k <= 2; ++k) run_here(some, std::to_string(k) + "/2");
  hessa::jobs::merge_stores({{path("some.shard-1-of-2.h5"), path("some.shard-2-of-2.h5")}, path("some.h5"), false});
  const std::vector<std::string> kept = {"points",   "f",       "lambda_min",  "class",
                                         "gradient", "hessian", "eigenvalues", "eigenvectors"};
  const auto a = read_file(path("full.h5"), kept);
  const auto b = read_file(path("some.h5"), kept);
  ASSERT_TRUE(a && b);
  expect_same_per_point_data(*a, *b, kept);
  EXPECT_EQ(b->complete, 1);
  EXPECT_FALSE(read_file(path("some.h5"), {"lambda_max"}));  // not stored
  EXPECT_FALSE(read_file(path("some.h5"), {"status"}));
  // 3 of the 17 scalar fields are kept.
  EXPECT_LT(fs::file_size(path("some.h5")), fs::file_size(path("full.h5")));
  EXPECT_TRUE(run_here(some, "", true).already_complete);  // the merged store is the whole job's, complete
  // Other columns: a result change that resume refuses, naming the setting.
  text.replace(text.find("\"class\"]"), 8, "\"status\"]");
  write("some.toml", text);
  const std::string error = input_error_of([&] { run_here(some, "", true); });
  EXPECT_NE(error.find("output.columns"), std::string::npos) << error;
}

struct BadJob {
  const char* name;
  const char* text;
  const char* expected;  // in the message, after "job.toml:"
};

TEST_F(Batch, BadJobFilesExitWithCode2AndTheKeyPathAndLine) {
  const BadJob cases[] = {
      {"syntax error", "[function]\ncatalogue = \"himmelblau\"\n[points\nkind = \"grid\"\n", "job.toml:3:"},
      {"unknown key", "[function]\ncatalogue = \"himmelblau\"\ncolour = 3\n",
       "job.toml:3:1: function.colour: unknown key"},
      {"wrong type",
       "[function]\ncatalogue = \"himmelblau\"\n[points]\nkind = \"grid\"\nlower = [0, 0]\nupper = [1, 1]\n"
       "counts = [2, \"3\"]\n[output]\npath = \"o.h5\"\n",
       "job.toml:7:14: points.counts[1]: expected an integer, found string"},
      {"missing points file",
       "[function]\ncatalogue = \"himmelblau\"\n[points]\nkind = \"file\"\nfile = \"nowhere.csv\"\n[output]\n"
       "path = \"o.h5\"\n",
       "job.toml:5:8: points.file: no such file"},
      {"missing function",
       "[points]\nkind = \"grid\"\nlower = [0]\nupper = [1]\ncounts = [2]\n[output]\npath = \"o.h5\"\n",
       "job.toml:1: function: missing"},
      {"function without expression or catalogue", "[function]\nvars = [\"x\"]\n",
       "job.toml:1: function.expression: missing"},
      {"wrong analysis type",
       "[function]\ncatalogue = \"booth\"\n[points]\nkind = \"grid\"\nlower = [0, 0]\nupper = [1, 1]\n"
       "counts = [2, 2]\n[analysis]\ngtol = \"small\"\n[output]\npath = \"o.h5\"\n",
       "job.toml:9:8: analysis.gtol: expected a number, found string"},
      {"dimension",
       "[function]\ncatalogue = \"himmelblau\"\n[points]\nkind = \"grid\"\nlower = [0]\nupper = [1]\n"
       "counts = [2]\n[output]\npath = \"o.h5\"\n",
       "job.toml:1: himmelblau takes 2 coordinates"},
      {"unknown column",
       "[function]\ncatalogue = \"booth\"\n[points]\nkind = \"grid\"\nlower = [0, 0]\nupper = [1, 1]\n"
       "counts = [2, 2]\n[output]\npath = \"o.h5\"\ncolumns = [\"f\", \"H_0_0\"]\n",
       "job.toml:10:11: output.columns: 'H_0_0' is not a field the store can leave out"},
      {"repeated column",
       "[function]\ncatalogue = \"booth\"\n[points]\nkind = \"grid\"\nlower = [0, 0]\nupper = [1, 1]\n"
       "counts = [2, 2]\n[output]\npath = \"o.h5\"\ncolumns = [\"f\", \"f\"]\n",
       "job.toml:10:11: output.columns: 'f' is named twice"},
      {"zero threads",
       "[function]\ncatalogue = \"booth\"\n[points]\nkind = \"grid\"\nlower = [0, 0]\nupper = [1, 1]\n"
       "counts = [2, 2]\n[output]\npath = \"o.h5\"\n[run]\nthreads = 0\n",
       "job.toml:11:11: run.threads: must be between 1 and 4096"},
  };
  for (const BadJob& c : cases) {
    const std::string job = write("job.toml", c.text);
    const CliRun r = run_hessa("run " + job + " --backend cpu");
    EXPECT_EQ(r.exit_code, 2) << c.name << ": " << r.output;
    EXPECT_NE(r.output.find(c.expected), std::string::npos) << c.name << ": " << r.output;
    EXPECT_FALSE(fs::exists(path("o.h5"))) << c.name;
  }
}

// [run] threads sets the CPU threads of the run, and --threads overrides it; the summary names the count.
TEST_F(Batch, ThreadsComeFromTheJobOrTheCommandLine) {
  const std::string job = write("job.toml",
                                "[function]\ncatalogue = \"booth\"\n[points]\nkind = \"grid\"\nlower = [0, 0]\n"
                                "upper = [1, 1]\ncounts = [3, 3]\n[output]\npath = \"o.h5\"\n[run]\nthreads = 1\n");
  const CliRun one = run_hessa("run " + job + " --backend cpu");
  ASSERT_EQ(one.exit_code, 0) << one.output;
  EXPECT_NE(one.output.find("OpenMP, 1 thread;"), std::string::npos) << one.output;
  fs::remove(path("o.h5"));
  const CliRun two = run_hessa("run " + job + " --backend cpu --threads 2");
  ASSERT_EQ(two.exit_code, 0) << two.output;
  EXPECT_NE(two.output.find("OpenMP, 2 threads;"), std::string::npos) << two.output;
}

TEST_F(Batch, RelativePathsAreRelativeToTheJobFile) {
  fs::create_directories(dir_ / "jobs");
  write("jobs/pts.csv", "x,y\n3,2\n-2.805118,3.131312\n0,0\n");
  const std::string job = write("jobs/job.toml",
                                "[function]\nexpression = \"(x^2 + y - 11)^2 + (x + y^2 - 7)^2\"\n[points]\nkind = "
                                "\"file\"\nfile = \"pts.csv\"\n[output]\npath = \"out/r.h5\"\n");
  const hessa::jobs::JobRunOutcome r = run_here(job);
  EXPECT_EQ(r.out, path("jobs/out/r.h5"));
  EXPECT_EQ(r.summary.per_class[std::size_t(hessa::PointClass::Minimum)], 2u);
  const auto f = read_file(path("jobs/out/r.h5"), per_point_datasets(false));
  ASSERT_TRUE(f);
  EXPECT_EQ(f->datasets.at("points").size(), 3u * 2u * 8u);
  EXPECT_EQ(f->complete, 1);
}

#ifdef HESSA_WITH_MPI
// `mpirun -np RANKS hessa ARGS`: as root too (--allow-run-as-root), more ranks than cores (--oversubscribe), one
// OpenMP thread per rank; -q keeps mpirun's own banners ("a process returned a non-zero exit code") out of the
// output, so that what remains is hessa's. OpenMPI needs no other setting in the test container.
CliRun run_mpi(int ranks, const std::string& args) {
  return hessa::test::run_command(std::string("OMP_NUM_THREADS=1 ") + HESSA_MPIEXEC +
                                  " -q --allow-run-as-root --oversubscribe -np " + std::to_string(ranks) + " " +
                                  HESSA_EXE + " " + args);
}

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// 120 x 120 himmelblau points in 29 chunks of 500, every optional array stored.
std::string mpi_job_text(const std::string& output) {
  hessa::test::GridJob job{output};
  job.lower = "-5, -5", job.upper = "5, 5", job.nx = 120, job.ny = 120, job.chunk = 500;
  return hessa::test::job_text(job);
}

// Marks `chunks` not done and overwrites their /f rows, as a run killed before them would have left them.
void undo_chunks(const std::string& path, const std::vector<std::size_t>& chunks, std::size_t chunk_points) {
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  const hid_t done = H5Dopen2(file, "done", H5P_DEFAULT), f = H5Dopen2(file, "f", H5P_DEFAULT);
  ASSERT_GE(done, 0);
  ASSERT_GE(f, 0);
  const hid_t done_space = H5Dget_space(done), f_space = H5Dget_space(f);
  std::vector<std::uint8_t> flags(std::size_t(H5Sget_simple_extent_npoints(done_space)));
  std::vector<double> values(std::size_t(H5Sget_simple_extent_npoints(f_space)));
  ASSERT_GE(H5Dread(done, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, flags.data()), 0);
  ASSERT_GE(H5Dread(f, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), 0);
  for (std::size_t c : chunks) {
    flags.at(c) = 0;
    for (std::size_t p = c * chunk_points; p < std::min(values.size(), (c + 1) * chunk_points); ++p) values[p] = -1.0;
  }
  EXPECT_GE(H5Dwrite(done, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, flags.data()), 0);
  EXPECT_GE(H5Dwrite(f, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), 0);
  H5Sclose(done_space);
  H5Sclose(f_space);
  H5Dclose(done);
  H5Dclose(f);
  H5Fclose(file);
}

TEST_F(Batch, MpiTwoRanksWriteOneFileEqualToOneProcessBitForBit) {
  const std::vector<std::string> names = per_point_datasets(true);
  const CliRun mpi = run_mpi(2, "run " + write("mpi.toml", mpi_job_text("mpi.h5")));
  ASSERT_EQ(mpi.exit_code, 0) << mpi.output;
  // One summary, by rank 0, counting both ranks' points.
  EXPECT_EQ(occurrences(mpi.output, "points computed,"), 1u) << mpi.output;
  EXPECT_NE(mpi.output.find("hessa: 14400 points computed"), std::string::npos) << mpi.output;
  EXPECT_NE(mpi.output.find("2 MPI ranks"), std::string::npos) << mpi.output;
  EXPECT_NE(mpi.output.find("chunks: 29 computed, 0 already done"), std::string::npos) << mpi.output;
  EXPECT_FALSE(fs::exists(path("mpi.shard-1-of-2.h5")));

  const CliRun single = run_hessa("run " + write("single.toml", mpi_job_text("single.h5")) + " --quiet");
  ASSERT_EQ(single.exit_code, 0) << single.output;
  const auto a = read_file(path("mpi.h5"), names);
  const auto b = read_file(path("single.h5"), names);
  ASSERT_TRUE(a && b);
  expect_same_per_point_data(*a, *b, names);
  EXPECT_EQ(a->done(), std::vector<unsigned char>(29, 1));
  EXPECT_EQ(a->complete, 1);
}

TEST_F(Batch, MpiResumesAndShardsLikeOneProcess) {
  const std::vector<std::string> names = per_point_datasets(true);
  const std::string job = write("job.toml", mpi_job_text("scan.h5"));
  ASSERT_EQ(run_hessa("run " + job + " --quiet").exit_code, 0);
  const auto reference = read_file(path("scan.h5"), names);
  ASSERT_TRUE(reference);

  // Three chunks not done (with wrong data), as after a kill: two ranks recompute exactly those.
  undo_chunks(path("scan.h5"), {3, 4, 28}, 500);
  const CliRun resumed = run_mpi(2, "run " + job + " --resume");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("chunks: 3 computed, 26 already done"), std::string::npos) << resumed.output;
  const auto after = read_file(path("scan.h5"), names);
  ASSERT_TRUE(after);
  expect_same_per_point_data(*after, *reference, names);
  EXPECT_EQ(after->done(), reference->done());

  // A shard split over three ranks (more ranks than the shard has chunks to spare) equals the same shard run alone.
  const CliRun shard = run_mpi(3, "run " + job + " --shard 2/3");
  ASSERT_EQ(shard.exit_code, 0) << shard.output;
  EXPECT_NE(shard.output.find("(shard 2/3: 10 of 29)"), std::string::npos) << shard.output;
  const auto mpi_shard = read_file(path("scan.shard-2-of-3.h5"), names);
  ASSERT_TRUE(mpi_shard);
  fs::rename(path("scan.shard-2-of-3.h5"), path("mpi-shard.h5"));
  ASSERT_EQ(run_hessa("run " + job + " --quiet --shard 2/3").exit_code, 0);
  const auto one_shard = read_file(path("scan.shard-2-of-3.h5"), names);
  ASSERT_TRUE(one_shard);
  EXPECT_EQ(mpi_shard->done(), one_shard->done());
  EXPECT_EQ(count_done(*mpi_shard), 10u);
  EXPECT_EQ(mpi_shard->complete, 1);
  // Only the rows of done chunks are defined; compare /points and /f there.
  for (const std::string name : {"points", "f"}) {
    const std::size_t row = name == "points" ? 16 : 8;
    for (std::size_t c = 1; c < 29; c += 3) {
      const std::size_t begin = c * 500 * row, end = std::min((c + 1) * 500 * row, mpi_shard->datasets.at(name).size());
      EXPECT_TRUE(std::equal(mpi_shard->datasets.at(name).begin() + long(begin),
                             mpi_shard->datasets.at(name).begin() + long(end),
                             one_shard->datasets.at(name).begin() + long(begin)))
          << name << " chunk " << c;
    }
  }
}

TEST_F(Batch, MpiBadJobOrExistingOutputExitsWith2AndOneMessage) {
  const CliRun bad = run_mpi(2, "run " + write("bad.toml", "[function]\ncatalogue = \"himmelblau\"\ncolour = 3\n"));
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_EQ(occurrences(bad.output, "hessa: error"), 1u) << bad.output;
  EXPECT_NE(bad.output.find("bad.toml:3:1: function.colour: unknown key"), std::string::npos) << bad.output;

  const std::string job = write("job.toml", mpi_job_text("scan.h5"));
  ASSERT_EQ(run_hessa("run " + job + " --quiet").exit_code, 0);
  const CliRun again = run_mpi(2, "run " + job);
  EXPECT_EQ(again.exit_code, 2) << again.output;
  EXPECT_EQ(occurrences(again.output, "hessa: error"), 1u) << again.output;
  EXPECT_NE(again.output.find("exists; use --resume to continue it"), std::string::npos) << again.output;
}
// A full-space direction scan (Lanczos over HVPs, the bundled two-moons network): each point's row has the scan's 2
// coordinates while its Hessian is of all 337 parameters, so the ranks must send the points by their own width
// (they once read count x 337 values from a count x 2 buffer: an over-read of the sender's memory whose first
// count x 2 values happened to be right). Two ranks equal one process, Lanczos datasets included.
TEST_F(Batch, MpiFullSpaceDirectionScanEqualsOneProcess) {
  const std::string examples = std::string(HESSA_SOURCE_DIR) + "/examples/";
  const auto job = [&](const std::string& out) {
    return write(out + ".toml",
                 "[function]\nmodel = \"mlp\"\nlayers = [2, 16, 16, 1]\nactivation = \"tanh\"\nloss = \"logistic\"\n"
                 "data = \"" +
                     examples + "mlp_moons/moons.csv\"\nparameters = \"" + examples +
                     "mlp_moons/params.npy\"\n[points]\nkind = \"directions\"\nlower = [-1.0, -1.0]\n"
                     "upper = [1.0, 1.0]\ncounts = [6, 5]\nhessian = \"lanczos\"\n[lanczos]\nk = 2\n"
                     "trace_probes = 4\n[output]\npath = \"" +
                     out + ".h5\"\nchunk = 4\n");
  };
  std::vector<std::string> names = per_point_datasets(false);
  names.insert(names.end(), {"lanczos_lowest", "lanczos_highest", "trace", "scan/centre", "scan/directions"});
  const CliRun mpi = run_mpi(2, "run " + job("mpi"));
  ASSERT_EQ(mpi.exit_code, 0) << mpi.output;
  const CliRun one = run_hessa("run " + job("one") + " --quiet");
  ASSERT_EQ(one.exit_code, 0) << one.output;
  const auto a = read_file(path("mpi.h5"), names);
  const auto b = read_file(path("one.h5"), names);
  ASSERT_TRUE(a && b);
  expect_same_per_point_data(*a, *b, names);
  EXPECT_EQ(a->complete, 1);
}

#endif  // HESSA_WITH_MPI

}  // namespace
