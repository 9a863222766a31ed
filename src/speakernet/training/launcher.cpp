#include "speakernet/training/launcher.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <map>

#include "speakernet/common/error.h"

extern char** environ;

namespace speakernet {

namespace {

// A port the kernel considers free right now (bind to port 0, read it back, release it).
int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  SN_CHECK(fd >= 0, "launcher: socket(): {}", std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  ::close(fd);
  SN_CHECK(ok, "launcher: could not find a free port: {}", std::strerror(errno));
  return ntohs(addr.sin_port);
}

std::string DescribeStatus(int status) {
  if (WIFEXITED(status)) return fmt::format("exit status {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return fmt::format("killed by signal {}", WTERMSIG(status));
  return fmt::format("wait status {}", status);
}

}  // namespace

std::vector<std::string> OwnCommandLine() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  const std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  std::string cur;
  for (char ch : all) {
    if (ch == '\0') {
      args.push_back(cur);
      cur.clear();
    } else {
      cur += ch;
    }
  }
  if (!cur.empty()) args.push_back(cur);
  return args;
}

int LaunchLocalWorkers(int nproc, const std::vector<std::string>& argv, int master_port) {
  SN_CHECK(nproc >= 1, "--nproc must be >= 1, got {}", nproc);
  SN_CHECK(!argv.empty(), "launcher: empty worker command line");
  const int port = master_port > 0 ? master_port : FreePort();
  spdlog::info("launcher: {} worker processes, MASTER_ADDR=127.0.0.1 MASTER_PORT={}", nproc, port);

  // Everything execve needs is built before fork: the child may only call async-signal-safe
  // functions (the parent can have other threads).
  std::vector<std::string> base_env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string kv = *e;
    const std::string key = kv.substr(0, kv.find('='));
    if (key == "RANK" || key == "LOCAL_RANK" || key == "WORLD_SIZE" || key == "LOCAL_WORLD_SIZE" ||
        key == "MASTER_ADDR" || key == "MASTER_PORT")
      continue;
    base_env.push_back(kv);
  }
  std::vector<std::vector<std::string>> envs(nproc, base_env);
  for (int r = 0; r < nproc; ++r) {
    envs[r].push_back("RANK=" + std::to_string(r));
    envs[r].push_back("LOCAL_RANK=" + std::to_string(r));
    envs[r].push_back("WORLD_SIZE=" + std::to_string(nproc));
    envs[r].push_back("LOCAL_WORLD_SIZE=" + std::to_string(nproc));
    envs[r].push_back("MASTER_ADDR=127.0.0.1");
    envs[r].push_back("MASTER_PORT=" + std::to_string(port));
  }
  auto to_ptrs = [](std::vector<std::string>& v) {
    std::vector<char*> p;
    for (auto& s : v) p.push_back(s.data());
    p.push_back(nullptr);
    return p;
  };
  std::vector<std::string> args = argv;
  std::vector<char*> arg_ptrs = to_ptrs(args);
  std::vector<std::vector<char*>> env_ptrs;
  for (auto& e : envs) env_ptrs.push_back(to_ptrs(e));
  static const char kExe[] = "/proc/self/exe";

  std::map<pid_t, int> running;  // pid -> rank
  for (int r = 0; r < nproc; ++r) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      // A worker must not outlive a killed launcher (it would hold the port and the GPU).
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      ::execve(kExe, arg_ptrs.data(), env_ptrs[r].data());
      static const char msg[] = "launcher: execve of /proc/self/exe failed\n";
      (void)!::write(2, msg, sizeof(msg) - 1);
      ::_exit(127);
    }
    if (pid < 0) {
      spdlog::error("launcher: fork() for rank {} failed: {}", r, std::strerror(errno));
      for (const auto& [p, rank] : running) ::kill(p, SIGTERM);
      for (const auto& [p, rank] : running) ::waitpid(p, nullptr, 0);
      return 1;
    }
    running[pid] = r;
  }

  int failed_rank = -1;
  std::string failure;
  while (!running.empty()) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      break;
    }
    auto it = running.find(pid);
    if (it == running.end()) continue;
    const int r = it->second;
    running.erase(it);
    const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!ok && failed_rank < 0) {
      failed_rank = r;
      failure = DescribeStatus(status);
      spdlog::error("launcher: worker rank {} failed ({}); terminating the other {} worker(s)", r,
                    failure, running.size());
      for (const auto& [p, rank] : running) ::kill(p, SIGTERM);
    }
  }
  if (failed_rank >= 0) {
    spdlog::error("launcher: training failed: rank {} of {} ({}), see its messages above and "
                  "train.rank<r>.log in the experiment dir",
                  failed_rank, nproc, failure);
    return 1;
  }
  spdlog::info("launcher: all {} workers finished", nproc);
  return 0;
}

}  // namespace speakernet
