// Durability of checkpoint writes: a write interrupted at any step (a real abort in a forked
// child) or stopped by a full disk leaves the previous checkpoint loadable.
#include "speakernet/training/checkpointer.h"

#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "speakernet/common/atomic_file.h"
#include "speakernet/common/error.h"
#include "speakernet/common/test_util.h"

namespace speakernet {
namespace {

namespace fs = std::filesystem;

// A model whose weights encode the step, so a loaded checkpoint tells which save it came from.
struct Toy {
  explicit Toy(int64_t width) : linear(width, width), optimizer(linear->parameters(), 0.1) {}
  StateDict State(int64_t step) {
    torch::NoGradGuard no_grad;
    linear->weight.fill_(static_cast<double>(step));
    return GetStateDict(*linear);
  }
  torch::nn::Linear linear;
  torch::optim::SGD optimizer;
};

TrainingPosition At(int64_t step) { return {0, step, step}; }

// Loads the newest checkpoint of `exp` completely (model, optimizer, RNG, position) and returns
// its step; -1 when there is none. Throws when a file is missing or damaged.
int64_t LoadNewest(const std::string& exp) {
  const auto latest = Checkpointer(exp, 1).Latest();
  if (!latest) return -1;
  Toy toy(4);
  StateDict state;
  const TrainingPosition p = Checkpointer(exp, 1).Load(*latest, &state, toy.optimizer);
  SN_CHECK(state.size() == 2 && state[0].second.numel() > 0, "bad model state in {}", *latest);
  SN_CHECK(state[0].second.flatten()[0].item<double>() == static_cast<double>(p.global_step),
           "model of {} does not match its step {}", *latest, p.global_step);
  return p.global_step;
}

// Runs `body` in a forked child (core dumps off, a watchdog alarm) and returns its wait status.
template <class F>
int InChild(F body) {
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const rlimit no_core{0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);
    ::alarm(60);
    ::_exit(body());
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

int CountSteps(const std::string& exp, const std::string& tag) {
  int steps = 0;
  SetWriteStepHookForTesting([&](WriteStep, const std::string&) { ++steps; });
  Toy toy(4);
  Checkpointer(exp, 1).Save(tag, toy.State(20), toy.optimizer, At(20), false);
  SetWriteStepHookForTesting(nullptr);
  return steps;
}

// Saves step 20 over a directory holding step 10 and aborts at every durability step in turn
// (after a file's data is written, after its fsync before the rename, after the rename before the
// directory fsync, and the same for the checkpoint directory). Each time the newest loadable
// checkpoint is step 10 or, once the directory was renamed into place, step 20.
void CheckInterruptedSaves(const std::string& new_tag) {
  test::ScratchDir scratch("sn_ckpt_interrupt");
  Toy toy(4);
  const std::string base = scratch / "base";
  Checkpointer(base, 1).Save("step-10", toy.State(10), toy.optimizer, At(10), false);
  const int total = CountSteps(scratch / "count", new_tag);  // same layout, fresh directory
  ASSERT_GE(total, 10);
  for (int k = 1; k <= total; ++k) {
    const std::string exp = scratch / ("k" + std::to_string(k));
    fs::copy(base, exp, fs::copy_options::recursive);
    const int status = InChild([&] {
      int seen = 0;
      SetWriteStepHookForTesting([&](WriteStep step, const std::string& path) {
        if (++seen == k) {
          std::fprintf(stderr, "abort at step %d: %s %s\n", k, WriteStepName(step), path.c_str());
          std::abort();
        }
      });
      Toy child(4);
      Checkpointer(exp, 1).Save(new_tag, child.State(20), child.optimizer, At(20), false);
      return 3;  // not reached
    });
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT) << "k=" << k << " " << status;
    int64_t step = -2;
    ASSERT_NO_THROW(step = LoadNewest(exp)) << "abort at step " << k;
    EXPECT_TRUE(step == 10 || step == 20) << "abort at step " << k << ": newest is " << step;
    if (k == total) EXPECT_EQ(step, 20) << "aborted after the directory rename";
  }
}

TEST(CheckpointDurability, InterruptedSaveOfNewTagLeavesLoadableCheckpoint) {
  CheckInterruptedSaves("step-20");
}

TEST(CheckpointDurability, InterruptedReplacementOfSameTagLeavesLoadableCheckpoint) {
  CheckInterruptedSaves("step-10");
}

// A file size limit (RLIMIT_FSIZE, SIGXFSZ ignored: write() fails with EFBIG) stands in for a
// full disk: the save fails with an error naming the file, the previous checkpoint stays the
// newest and loads, and no partial directory is left behind.
TEST(CheckpointDurability, FileSizeLimitGivesClearErrorAndKeepsLastGoodCheckpoint) {
  test::ScratchDir scratch("sn_ckpt_fsize");
  const std::string exp = scratch / "exp";
  const std::string message_path = scratch / "message.txt";
  Toy small(4);
  Checkpointer(exp, 1).Save("step-10", small.State(10), small.optimizer, At(10), false);
  const int status = InChild([&] {
    ::signal(SIGXFSZ, SIG_IGN);
    const rlimit limit{64 << 10, 64 << 10};
    ::setrlimit(RLIMIT_FSIZE, &limit);
    Toy big(256);  // 256 KiB of weights
    try {
      Checkpointer(exp, 1).Save("step-20", big.State(20), big.optimizer, At(20), false);
    } catch (const Error& e) {
      FILE* f = std::fopen(message_path.c_str(), "w");
      std::fputs(e.what(), f);
      std::fclose(f);
      return 0;
    }
    return 4;
  });
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  std::ifstream in(message_path);
  const std::string message((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(message.find("step-20"), std::string::npos) << message;
  EXPECT_NE(message.find("model.pt"), std::string::npos) << message;
  EXPECT_NE(message.find(std::strerror(EFBIG)), std::string::npos) << message;
  EXPECT_EQ(LoadNewest(exp), 10);
  for (const auto& entry : fs::directory_iterator(exp + "/checkpoints")) {
    EXPECT_EQ(entry.path().filename(), "step-10") << "left behind: " << entry.path();
  }
}

// A real full disk: a 1 MiB tmpfs mounted in a private mount namespace of a forked child (needs
// root or CAP_SYS_ADMIN; skipped otherwise). The child checks and reports through its exit code.
TEST(CheckpointDurability, FullTmpfsGivesClearErrorAndKeepsLastGoodCheckpoint) {
  test::ScratchDir scratch("sn_ckpt_enospc");
  const std::string mnt = scratch / "mnt";
  const std::string message_path = scratch / "message.txt";
  fs::create_directories(mnt);
  const int status = InChild([&] {
    if (::unshare(CLONE_NEWNS) != 0 ||
        ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        ::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=1m") != 0) {
      return 77;
    }
    const std::string exp = mnt + "/exp";
    Toy small(4);
    Checkpointer(exp, 1).Save("step-10", small.State(10), small.optimizer, At(10), false);
    Toy big(1024);  // 4 MiB of weights
    try {
      Checkpointer(exp, 1).Save("step-20", big.State(20), big.optimizer, At(20), false);
      return 5;
    } catch (const Error& e) {
      FILE* f = std::fopen(message_path.c_str(), "w");
      std::fputs(e.what(), f);
      std::fclose(f);
    }
    try {
      if (LoadNewest(exp) != 10) return 6;
    } catch (const std::exception&) {
      return 7;
    }
    for (const auto& entry : fs::directory_iterator(exp + "/checkpoints")) {
      if (entry.path().filename() != "step-10") return 8;
    }
    return 0;
  });
  ASSERT_TRUE(WIFEXITED(status)) << status;
  if (WEXITSTATUS(status) == 77) GTEST_SKIP() << "cannot mount a tmpfs here";
  ASSERT_EQ(WEXITSTATUS(status), 0);
  std::ifstream in(message_path);
  const std::string message((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(message.find("step-20"), std::string::npos) << message;
  EXPECT_NE(message.find("model.pt"), std::string::npos) << message;
  EXPECT_NE(message.find(std::strerror(ENOSPC)), std::string::npos) << message;
}

}  // namespace
}  // namespace speakernet
