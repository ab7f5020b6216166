// Stopping a long run cleanly on SIGINT / SIGTERM / SIGHUP: the handler only records the signal; every chunk
// loop calls throw_if_stop_requested() at its chunk boundaries, so the exception unwinds through the writers
// (whose temporary files are removed by their destructors) and leaves result stores resumable.
#pragma once

#include <stdexcept>
#include <string>

namespace hessa {

// Thrown at a chunk boundary after a stop signal. `kept()` says what the run leaves behind (set by the command
// that knows: "nothing was written", "out.h5 holds 12 of 40 chunks; continue with --resume").
class StopRequested : public std::runtime_error {
 public:
  explicit StopRequested(int signal_number, std::string kept = "");
  int signal_number() const { return signal_; }
  const std::string& kept() const { return kept_; }
  // The conventional exit status of a process ended by the signal: 128 + its number (130, 143, 129).
  int exit_code() const { return 128 + signal_; }

 private:
  int signal_;
  std::string kept_;
};

// Installs the handlers (idempotent). A second stop signal while the first is still being honoured ends the
// process at once with the signal's default action: the user insisted, and that is what a second Ctrl-C means.
void install_stop_handlers();
// For a library inside a host program (Python): while alive, SIGINT is recorded as a stop request, and the chunk
// loops stop at their next boundary, instead of going to the host's handler, which is put back at the end. No
// escalation: a second SIGINT is recorded as the first was. The record is cleared on entry and on exit. Install it
// from the thread the host's signal handlers serve (Python's main thread).
class SigintStopScope {
 public:
  SigintStopScope();
  ~SigintStopScope();
  SigintStopScope(const SigintStopScope&) = delete;
  SigintStopScope& operator=(const SigintStopScope&) = delete;

 private:
  struct Saved;
  Saved* saved_;
};

// The first stop signal received, or 0.
int stop_signal_received();
// Throws StopRequested when a stop signal has arrived.
void throw_if_stop_requested();
// "SIGTERM" for 15, etc.
std::string signal_name(int signal_number);

}  // namespace hessa
