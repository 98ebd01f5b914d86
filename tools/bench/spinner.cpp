#include "tools/bench/spinner.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace pocket::tools {

namespace {

[[noreturn]] void spin_forever(pid_t parent) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(0);  // the parent died before prctl took effect
  volatile unsigned long counter = 0;
  for (;;) counter = counter + 1;
}

}  // namespace

bool Spinner::start(int count, std::string* error) {
  const pid_t self = getpid();
  for (int i = 0; i < count; ++i) {
    const pid_t pid = fork();
    if (pid < 0) {
      *error = std::string("cannot start a spinner process: ") + std::strerror(errno);
      stop();
      return false;
    }
    if (pid == 0) spin_forever(self);
    pids_.push_back(pid);
  }
  return true;
}

void Spinner::stop() {
  for (pid_t pid : pids_) kill(pid, SIGKILL);
  for (pid_t pid : pids_) {
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  pids_.clear();
}

}  // namespace pocket::tools
