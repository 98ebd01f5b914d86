#include "tools/bench/ort_process.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "tools/common/tool_util.h"

#ifndef POCKET_SOURCE_DIR
#define POCKET_SOURCE_DIR "."
#endif

namespace pocket::tools {

namespace {

// Full path of an executable found on $PATH, or "".
std::string find_on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  if (!path) return "";
  std::string p = path;
  for (size_t start = 0; start <= p.size();) {
    size_t colon = p.find(':', start);
    if (colon == std::string::npos) colon = p.size();
    std::string dir = p.substr(start, colon - start);
    if (dir.empty()) dir = ".";
    const std::string full = dir + "/" + name;
    if (::access(full.c_str(), X_OK) == 0) return full;
    start = colon + 1;
  }
  return "";
}

// The value after "key": in a one-line JSON object: a string, or the raw text of a number/array.
bool json_field(const std::string& json, const std::string& key, std::string* out) {
  const std::string k = "\"" + key + "\":";
  size_t at = json.find(k);
  if (at == std::string::npos) return false;
  at += k.size();
  if (at < json.size() && json[at] == '"') {
    size_t end = json.find('"', at + 1);
    if (end == std::string::npos) return false;
    *out = json.substr(at + 1, end - at - 1);
    return true;
  }
  if (at < json.size() && json[at] == '[') {
    size_t end = json.find(']', at);
    if (end == std::string::npos) return false;
    *out = json.substr(at + 1, end - at - 1);
    return true;
  }
  size_t end = json.find_first_of(",}", at);
  *out = json.substr(at, end == std::string::npos ? std::string::npos : end - at);
  return true;
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < s.size()) {
    size_t comma = s.find(',', start);
    if (comma == std::string::npos) comma = s.size();
    std::string item = s.substr(start, comma - start);
    if (item.size() >= 2 && item.front() == '"' && item.back() == '"') item = item.substr(1, item.size() - 2);
    if (!item.empty()) out.push_back(item);
    start = comma + 1;
  }
  return out;
}

}  // namespace

std::string default_ort_script() {
  if (const char* env = std::getenv("POCKET_ORT_BENCH")) return env;
  return std::string(POCKET_SOURCE_DIR) + "/scripts/ort_bench.mjs";
}

bool OrtProcess::start(const OrtOptions& o, const std::string& work_dir, std::string* error) {
  stop();
  const std::string node = find_on_path("node");
  if (node.empty()) {
    *error = "--compare-onnx needs Node.js: 'node' is not on PATH (install Node.js, then run scripts/ort_install.sh "
             "for onnxruntime-node)";
    return false;
  }
  const std::string script = o.script.empty() ? default_ort_script() : o.script;
  if (::access(script.c_str(), R_OK) != 0) {
    *error = "--compare-onnx: cannot find the ONNX Runtime driver '" + script +
             "' (set --ort-script or $POCKET_ORT_BENCH to scripts/ort_bench.mjs)";
    return false;
  }
  if (::access(o.onnx_path.c_str(), R_OK) != 0) {
    *error = "--compare-onnx: cannot open '" + o.onnx_path + "': " + std::strerror(errno);
    return false;
  }
  std::vector<std::string> args = {node, script, o.onnx_path, "--serve", "--threads", std::to_string(o.threads)};
  for (const auto& [name, file] : o.inputs) {
    args.push_back("--input");
    args.push_back(name + "=" + file);
  }
  stderr_path_ = work_dir + "/ort_stderr.txt";

  int in_pipe[2], out_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0 || ::pipe2(out_pipe, O_CLOEXEC) != 0) {
    *error = std::string("cannot create pipes for node: ") + std::strerror(errno);
    return false;
  }
  std::vector<char*> argv;  // built before fork: the child only calls async-signal-safe functions
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  ::signal(SIGPIPE, SIG_IGN);  // a dead child shows as a write error, not a dead benchmark
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    *error = std::string("cannot start node: ") + std::strerror(errno);
    return false;
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) _exit(127);
    const int err = ::open(stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(in_pipe[0], 0);
    ::dup2(out_pipe[1], 1);
    if (err >= 0) ::dup2(err, 2);
    ::execv(node.c_str(), argv.data());
    _exit(127);
  }
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  pid_ = pid;
  to_child_ = in_pipe[1];
  from_child_ = ::fdopen(out_pipe[0], "r");
  if (!from_child_) {
    ::close(out_pipe[0]);
    *error = "cannot read from node";
    stop();
    return false;
  }
  std::string line;
  for (;;) {
    if (!read_line(&line)) {
      *error = "ONNX Runtime did not start: " + child_error();
      stop();
      return false;
    }
    if (!line.empty() && line[0] == '{') break;
  }
  std::string v;
  if (line.find("\"ready\":true") == std::string::npos) {
    *error = "ONNX Runtime driver answered '" + line.substr(0, 80) + "' instead of ready";
    stop();
    return false;
  }
  if (json_field(line, "ort_version", &v)) version_ = v;
  if (json_field(line, "init_ms", &v)) init_ms_ = std::strtod(v.c_str(), nullptr);
  return true;
}

bool OrtProcess::read_line(std::string* line) {
  line->clear();
  char buf[4096];
  while (std::fgets(buf, sizeof buf, from_child_)) {
    *line += buf;
    if (!line->empty() && line->back() == '\n') {
      line->pop_back();
      return true;
    }
  }
  return !line->empty();
}

std::string OrtProcess::child_error() {
  int status = 0;
  std::string how;
  if (pid_ > 0) {
    pid_t r;
    while ((r = ::waitpid(pid_, &status, 0)) < 0 && errno == EINTR) {
    }
    if (r == pid_) {
      pid_ = -1;
      if (WIFEXITED(status)) how = "node exited with code " + std::to_string(WEXITSTATUS(status));
      else if (WIFSIGNALED(status)) how = "node was killed by signal " + std::to_string(WTERMSIG(status));
    }
  }
  std::vector<uint8_t> bytes;
  std::string err, last;
  if (read_file(stderr_path_, &bytes, &err)) {
    std::string text(bytes.begin(), bytes.end());
    size_t end = text.find_last_not_of(" \n\r\t");
    if (end != std::string::npos) {
      size_t start = text.rfind('\n', end);
      last = text.substr(start == std::string::npos ? 0 : start + 1, end + 1 - (start == std::string::npos ? 0 : start + 1));
    }
  }
  if (last.empty()) return how.empty() ? "no message" : how;
  return last + (how.empty() ? "" : " (" + how + ")");
}

bool OrtProcess::command(const std::string& line, std::string* reply, std::string* error) {
  if (pid_ < 0) {
    *error = "ONNX Runtime is not running";
    return false;
  }
  const std::string text = line + "\n";
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(to_child_, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *error = "ONNX Runtime stopped: " + child_error();
      return false;
    }
    done += static_cast<size_t>(n);
  }
  for (;;) {
    if (!read_line(reply)) {
      *error = "ONNX Runtime stopped: " + child_error();
      return false;
    }
    if (!reply->empty() && (*reply)[0] == '{') return true;
  }
}

bool OrtProcess::run(int warmup, int iterations, std::vector<double>* times, std::string* error) {
  std::string reply, list;
  if (!command("run " + std::to_string(warmup) + " " + std::to_string(iterations), &reply, error)) return false;
  if (!json_field(reply, "times_ms", &list)) {
    *error = "ONNX Runtime driver answered '" + reply.substr(0, 80) + "' to run";
    return false;
  }
  for (const std::string& item : split_list(list)) times->push_back(std::strtod(item.c_str(), nullptr));
  return true;
}

bool OrtProcess::dump(const std::string& dir, std::vector<std::string>* names, std::string* error) {
  std::string reply, list;
  if (!command("dump " + dir, &reply, error)) return false;
  if (!json_field(reply, "dumped", &list)) {
    *error = "ONNX Runtime driver answered '" + reply.substr(0, 80) + "' to dump";
    return false;
  }
  *names = split_list(list);
  return true;
}

void OrtProcess::stop() {
  if (to_child_ >= 0) {
    if (pid_ > 0) {
      const char quit[] = "quit\n";
      (void)!::write(to_child_, quit, sizeof quit - 1);
    }
    ::close(to_child_);
    to_child_ = -1;
  }
  if (from_child_) {
    std::fclose(from_child_);
    from_child_ = nullptr;
  }
  if (pid_ > 0) {
    // node exits at end of input; give it a moment, then make sure.
    for (int i = 0; i < 200; ++i) {
      pid_t r = ::waitpid(pid_, nullptr, WNOHANG);
      if (r == pid_ || (r < 0 && errno != EINTR)) {
        pid_ = -1;
        break;
      }
      ::usleep(10000);
    }
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
      }
      pid_ = -1;
    }
  }
}

}  // namespace pocket::tools
