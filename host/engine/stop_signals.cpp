// Stop signals: an async-signal-safe handler that records the first signal, checked at chunk boundaries.
#include "hessa/stop_signals.hpp"

#include <signal.h>

#include <csignal>

namespace hessa {
namespace {

volatile std::sig_atomic_t received_signal = 0;

extern "C" void record_stop_signal(int signal_number) {
  if (received_signal != 0) {
    // The second one: the signal's default action, now.
    ::signal(signal_number, SIG_DFL);
    ::raise(signal_number);
    return;
  }
  received_signal = signal_number;
}

extern "C" void record_library_stop(int signal_number) { received_signal = signal_number; }

}  // namespace

struct SigintStopScope::Saved {
  struct sigaction previous {};
};

SigintStopScope::SigintStopScope() : saved_(new Saved) {
  received_signal = 0;
  struct sigaction action {};
  action.sa_handler = record_library_stop;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  ::sigaction(SIGINT, &action, &saved_->previous);
}

SigintStopScope::~SigintStopScope() {
  ::sigaction(SIGINT, &saved_->previous, nullptr);
  received_signal = 0;
  delete saved_;
}

StopRequested::StopRequested(int signal_number, std::string kept)
    : std::runtime_error("stopped by " + signal_name(signal_number) + (kept.empty() ? "" : ": " + kept)),
      signal_(signal_number),
      kept_(std::move(kept)) {}

void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = record_stop_signal;
  sigemptyset(&action.sa_mask);
  // SA_RESTART: reads and writes in flight carry on; the flag is looked at between chunks.
  action.sa_flags = SA_RESTART;
  for (const int s : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(s, &action, nullptr);
}

int stop_signal_received() { return int(received_signal); }

void throw_if_stop_requested() {
  if (const int s = stop_signal_received(); s != 0) throw StopRequested(s);
}

std::string signal_name(int signal_number) {
  switch (signal_number) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case SIGHUP: return "SIGHUP";
    default: return "signal " + std::to_string(signal_number);
  }
}

}  // namespace hessa
