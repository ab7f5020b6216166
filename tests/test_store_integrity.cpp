// Result stores that detect their own damage, through the real binary: a flipped byte in a done chunk's data or in
// the metadata makes `run --resume` and `merge` exit 2 naming the file (never a signal, never exit 1); a run killed
// at any moment, from before its first chunk on, resumes to a store equal to an uninterrupted run; a complete store
// on a read-only mount resumes to "nothing to do"; a full disk is exit 2 with the system's message.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <hdf5.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "batch_jobs.hpp"
#include "cli_support.hpp"
#include "hessa/errors.hpp"
#include "hessa/result_store.hpp"
#include "store_reader.hpp"

namespace {

namespace fs = std::filesystem;
using hessa::test::CliRun;
using hessa::test::run_command;
using hessa::test::run_hessa;

class StoreIntegrity : public hessa::test::ScratchDirTest {
 protected:
  // 300 Himmelblau points in 8 chunks of 40, every optional array stored: a store of a few tens of KiB.
  std::string small_job(const std::string& name, const std::string& output) const {
    return write(name, hessa::test::job_text(hessa::test::GridJob{output}));
  }
  // 30 points in 4 chunks of 8: a store that is mostly metadata, for flipping its bytes one by one.
  std::string tiny_job(const std::string& name, const std::string& output) const {
    hessa::test::GridJob job{output};
    job.nx = 6, job.ny = 5, job.chunk = 8;
    return write(name, hessa::test::job_text(job));
  }
  // About half a second on two cores: 3600 points of the slow function, 20 chunks.
  std::string slow_job(const std::string& name, const std::string& output) const {
    return write(name,
                 hessa::test::job_text({output, hessa::test::kSlowFunction, "-2.0, -2.0", "2.0, 2.0", 60, 60, 180}));
  }
  static std::vector<char> bytes_of(const std::string& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
  }
  static std::string text_of(const std::string& file) {
    const std::vector<char> bytes = bytes_of(file);
    return {bytes.begin(), bytes.end()};
  }
  static void put_bytes(const std::string& file, const std::vector<char>& bytes) {
    std::ofstream(file, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
  }
  // Where a dataset's contiguous data starts in the file, and how many bytes it holds.
  static std::pair<haddr_t, hsize_t> extent(const std::string& file, const std::string& name) {
    const hid_t f = hessa::test::open_unlocked(file);
    const hid_t ds = H5Dopen2(f, name.c_str(), H5P_DEFAULT);
    const std::pair<haddr_t, hsize_t> e{H5Dget_offset(ds), H5Dget_storage_size(ds)};
    H5Dclose(ds);
    H5Fclose(f);
    return e;
  }
  static bool mounts_allowed() {
    return run_command("unshare -m sh -c 'mount -t tmpfs -o size=64k tmpfs /mnt' ").exit_code == 0;
  }
};

const std::vector<std::string>& all_datasets() {
  static const std::vector<std::string> names = hessa::test::per_point_datasets(true);
  return names;
}

TEST_F(StoreIntegrity, AFlippedByteInADoneChunkIsReportedByResumeAndMerge) {
  const std::string job = small_job("job.toml", "scan.h5");
  ASSERT_EQ(run_hessa("run " + job + " --quiet").exit_code, 0);
  const auto [offset, size] = extent(path("scan.h5"), "f");
  ASSERT_NE(offset, HADDR_UNDEF);
  ASSERT_EQ(size, 300u * 8u);
  std::vector<char> bytes = bytes_of(path("scan.h5"));
  bytes.at(offset + 3 * 40 * 8 + 5) ^= 0x10;  // /f of a point of chunk 3
  put_bytes(path("scan.h5"), bytes);

  const CliRun resumed = run_hessa("run " + job + " --resume");
  EXPECT_EQ(resumed.exit_code, 2) << resumed.output;
  EXPECT_NE(resumed.output.find(path("scan.h5") + ": damaged: chunk 3's data (points 120 to 159) does not match its "
                                                  "checksum"),
            std::string::npos)
      << resumed.output;
  EXPECT_EQ(resumed.output.find("delete"), std::string::npos) << resumed.output;
  const CliRun merged = run_hessa("merge " + path("scan.h5") + " -o " + path("merged.h5"));
  EXPECT_EQ(merged.exit_code, 2) << merged.output;
  EXPECT_NE(merged.output.find("chunk 3's data"), std::string::npos) << merged.output;
  EXPECT_FALSE(fs::exists(path("merged.h5")));
}

// About 100 bytes outside the datasets' data (every 4th of the superblock, then evenly over the object headers and
// attributes), flipped one at a time: each outcome is exit 2 naming the file, or exit 0 with every dataset unchanged.
TEST_F(StoreIntegrity, FlippedMetadataBytesAreExit2OrHarmlessNeverACrash) {
  const std::string job = tiny_job("job.toml", "scan.h5");
  ASSERT_EQ(run_hessa("run " + job + " --quiet").exit_code, 0);
  const auto reference = hessa::test::read_file(path("scan.h5"), all_datasets());
  ASSERT_TRUE(reference);
  const std::vector<char> original = bytes_of(path("scan.h5"));
  std::vector<std::pair<haddr_t, hsize_t>> data;
  for (const std::string& name : all_datasets()) data.push_back(extent(path("scan.h5"), name));
  data.push_back(extent(path("scan.h5"), "done"));
  data.push_back(extent(path("scan.h5"), "checksum"));
  const auto in_data = [&](std::size_t at) {
    return std::any_of(data.begin(), data.end(),
                       [&](const auto& e) { return at >= e.first && at < e.first + e.second; });
  };
  std::vector<std::size_t> metadata;
  for (std::size_t at = 48; at < original.size(); ++at)
    if (!in_data(at)) metadata.push_back(at);
  std::vector<std::size_t> offsets;
  for (std::size_t at = 0; at < 48; at += 4) offsets.push_back(at);
  for (std::size_t k = 0; k < 90; ++k) offsets.push_back(metadata[k * metadata.size() / 90]);
  int reported = 0, harmless = 0;
  for (const std::size_t at : offsets) {
    std::vector<char> bytes = original;
    bytes[at] = char(~bytes[at]);
    put_bytes(path("scan.h5"), bytes);
    for (const std::string& command :
         {"run " + job + " --resume -q", "merge " + path("scan.h5") + " -o " + path("merged.h5") + " -q"}) {
      fs::remove(path("merged.h5"));
      const CliRun r = run_hessa(command);
      ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 2) << "byte " << at << ": " << command << ": " << r.output;
      if (r.exit_code == 2) {
        EXPECT_NE(r.output.find(path("scan.h5")), std::string::npos) << "byte " << at << ": " << r.output;
        EXPECT_EQ(r.output.find("internal error"), std::string::npos) << "byte " << at << ": " << r.output;
        ++reported;
      } else {
        const auto now = hessa::test::read_file(path(command[0] == 'r' ? "scan.h5" : "merged.h5"), all_datasets());
        ASSERT_TRUE(now) << "byte " << at;
        hessa::test::expect_same_per_point_data(*now, *reference, all_datasets());
        ++harmless;
      }
    }
  }
  EXPECT_GT(reported, 100) << harmless << " harmless";  // of 2 x 102 runs
  // The superblock's root-header address (bytes 36..43) is checksummed: a flip there is always reported.
  std::vector<char> bytes = original;
  bytes[40] ^= 0x01;
  put_bytes(path("scan.h5"), bytes);
  const CliRun r = run_hessa("run " + job + " --resume");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("metadata checksum failed"), std::string::npos) << r.output;
}

// SIGKILL after 0, 2, 5, ... ms, the earliest before the store exists, then --resume: always the uninterrupted
// run's store. A kill before set-up ends leaves no store under its name, so --resume starts the job afresh.
TEST_F(StoreIntegrity, KilledAtAnyMomentThenResumedEqualsAnUninterruptedRun) {
  const std::string reference_job = slow_job("reference.toml", "reference.h5");
  ASSERT_EQ(run_hessa("run " + reference_job + " --quiet").exit_code, 0);
  const auto reference = hessa::test::read_file(path("reference.h5"), all_datasets());
  ASSERT_TRUE(reference);
  const std::string job = slow_job("job.toml", "killed.h5");
  int killed_before_store = 0;
  for (const int ms : {0, 2, 5, 10, 20, 40, 80, 160, 320, 640}) {
    fs::remove(path("killed.h5"));
    const pid_t child = hessa::test::spawn_hessa({"run", job, "--quiet"});
    ASSERT_GE(child, 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    killed_before_store += !fs::exists(path("killed.h5"));
    // A requeued job: --resume until it succeeds; one attempt must do.
    const CliRun resumed = run_hessa("run " + job + " --resume --quiet");
    ASSERT_EQ(resumed.exit_code, 0) << "killed after " << ms << " ms: " << resumed.output;
    const auto after = hessa::test::read_file(path("killed.h5"), all_datasets());
    ASSERT_TRUE(after) << ms;
    hessa::test::expect_same_per_point_data(*after, *reference, all_datasets());
    EXPECT_EQ(after->complete, 1) << ms;
    for (const fs::directory_entry& e : fs::directory_iterator(dir_))
      EXPECT_EQ(e.path().filename().string().find(".partial"), std::string::npos) << "left behind: " << e.path();
  }
  EXPECT_GE(killed_before_store, 1) << "no kill came before the store existed";
}

TEST_F(StoreIntegrity, ResumeOfAMissingStoreStartsTheJob) {
  const std::string job = small_job("job.toml", "scan.h5");
  const CliRun r = run_hessa("run " + job + " --resume");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("8 computed, 0 already done"), std::string::npos) << r.output;
}

// A read-only bind mount in a private mount namespace (root in the test container; skipped where not allowed).
TEST_F(StoreIntegrity, ResumeOnAReadOnlyMountSaysCompleteOrCannotWriteNeverDelete) {
  if (!mounts_allowed()) GTEST_SKIP() << "no private mount namespace here";
  fs::create_directories(dir_ / "ro");
  const std::string job = small_job("ro/job.toml", "scan.h5");
  ASSERT_EQ(run_hessa("run " + job + " --quiet").exit_code, 0);
  const std::string d = (dir_ / "ro").string();
  const auto read_only = [&](const std::string& args) {
    return run_command("unshare -m sh -c 'mount --bind " + d + " " + d + " && mount -o remount,bind,ro " + d + " && " +
                       HESSA_EXE + " " + args + "'");
  };
  const CliRun complete = read_only("run " + job + " --resume");
  EXPECT_EQ(complete.exit_code, 0) << complete.output;
  EXPECT_NE(complete.output.find("is complete (every chunk verified): nothing to do"), std::string::npos)
      << complete.output;

  // Chunk 2 not done: now the store must be written, and the message says why it cannot be.
  const hid_t f = H5Fopen(path("ro/scan.h5").c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  const hid_t done = H5Dopen2(f, "done", H5P_DEFAULT);
  std::vector<std::uint8_t> flags(8, 1);
  flags[2] = 0;
  ASSERT_GE(H5Dwrite(done, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, flags.data()), 0);
  H5Dclose(done);
  H5Fclose(f);
  const CliRun incomplete = read_only("run " + job + " --resume");
  EXPECT_EQ(incomplete.exit_code, 2) << incomplete.output;
  EXPECT_NE(incomplete.output.find("cannot be opened for writing: Read-only file system"), std::string::npos)
      << incomplete.output;
  EXPECT_EQ(incomplete.output.find("delete"), std::string::npos) << incomplete.output;
}

// A 3 MiB tmpfs that the store (2.1 MiB) fits when the run starts - so the up-front space check lets it through -
// is filled by another writer once the store exists: a later chunk's write meets ENOSPC. Exit 2 with its text;
// resumed elsewhere, the store is whole and equal. The job takes seconds, the filler milliseconds.
TEST_F(StoreIntegrity, AFullDiskIsExit2AndTheStoreResumesElsewhere) {
  if (!mounts_allowed()) GTEST_SKIP() << "no private mount namespace here";
  fs::create_directories(dir_ / "tiny");
  hessa::test::GridJob spec{(dir_ / "tiny" / "scan.h5").string(),
                            "expression = \"sum(i, 1, 2000, sin(i*x0)*cos(i*x1))/2000 + x0^2 + x1^2\""};
  spec.nx = spec.ny = 100, spec.chunk = 500;
  const std::string job = write("job.toml", hessa::test::job_text(spec));
  const std::string t = (dir_ / "tiny").string();
  const CliRun full = run_command("unshare -m sh -c 'mount -t tmpfs -o size=3m tmpfs " + t + " && (" + HESSA_EXE +
                                  " run " + job + " --quiet & pid=$!; for i in $(seq 1000); do [ -e " + t +
                                  "/scan.h5 ] && break; sleep 0.01; done; "
                                  "dd if=/dev/zero of=" +
                                  t + "/fill bs=64k 2>/dev/null; wait $pid); rc=$?; cp --sparse=always " + t +
                                  "/scan.h5 " + path("scan.h5") + "; exit $rc'");
  EXPECT_EQ(full.exit_code, 2) << full.output;
  EXPECT_NE(full.output.find("scan.h5: writing chunk "), std::string::npos) << full.output;
  EXPECT_NE(full.output.find("No space left on device (free space, then continue with --resume)"), std::string::npos)
      << full.output;
  ASSERT_TRUE(fs::exists(path("scan.h5")));
  const auto partial = hessa::test::read_file(path("scan.h5"), all_datasets());
  ASSERT_TRUE(partial);
  EXPECT_EQ(partial->complete, 0);

  std::string text = text_of(job);
  text.replace(text.find(t + "/scan.h5"), t.size() + 8, "scan.h5");
  const std::string moved = write("moved.toml", text);
  const CliRun resumed = run_hessa("run " + moved + " --resume");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find(std::to_string(hessa::test::count_done(*partial)) + " already done"), std::string::npos)
      << resumed.output;
  std::string whole = text;
  whole.replace(whole.find("\"scan.h5\""), 9, "\"whole.h5\"");
  ASSERT_EQ(run_hessa("run " + write("whole.toml", whole) + " --quiet").exit_code, 0);
  const auto a = hessa::test::read_file(path("scan.h5"), all_datasets());
  const auto b = hessa::test::read_file(path("whole.h5"), all_datasets());
  ASSERT_TRUE(a && b);
  hessa::test::expect_same_per_point_data(*a, *b, all_datasets());
}

// Stores of HDF5's earliest format (superblock v0: what hessa wrote before store format 2) are refused before
// libhdf5 parses them, with a message that says so; the refusal never suggests deleting them.
TEST_F(StoreIntegrity, AStoreWithoutChecksumsIsRefusedWithAClearMessage) {
  const hid_t f = H5Fcreate(path("old.h5").c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  H5Fclose(f);
  try {
    hessa::ResultStore::open(path("old.h5"), false);
    FAIL() << "opened";
  } catch (const hessa::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("superblock of version 0, without checksums"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("delete"), std::string::npos) << e.what();
  }
}

}  // namespace
