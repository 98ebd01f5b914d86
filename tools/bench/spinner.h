// A busy background process for the busy-core benchmark (pocket-bench --spinner): it spins on
// one core for as long as the object lives, like another app holding a core of the phone.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace pocket::tools {

class Spinner {
 public:
  Spinner() = default;
  ~Spinner() { stop(); }
  Spinner(const Spinner&) = delete;
  Spinner& operator=(const Spinner&) = delete;

  // Forks `count` child processes that loop until stopped (or until this process dies: they get
  // SIGKILL with their parent). Call before creating thread pools. False with error on failure.
  bool start(int count, std::string* error);
  void stop();
  int count() const { return static_cast<int>(pids_.size()); }

 private:
  std::vector<pid_t> pids_;
};

}  // namespace pocket::tools
