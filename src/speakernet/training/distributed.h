// Multi-process data parallelism on c10d (Gloo on CPU, NCCL on CUDA when the LibTorch build has
// it): rendezvous from torchrun-style environment variables, parameter/buffer broadcast from
// rank 0, flattened and bucketed gradient all-reduce (averaging), and a few helpers the trainer
// needs (rank-consistency check, gathering per-rank RNG states for checkpoints).
//
// Design (docs/training.md): loader.batch_size is the GLOBAL batch. Rank r of W takes rows
// [r*B/W, (r+1)*B/W) of every global batch k, so the sequence of global batches does not depend
// on W, and averaging the W per-rank mean-loss gradients gives the gradient of the global mean
// loss (exactly, up to float summation order, for models whose forward is per-sample, i.e. BN in
// eval mode). With trainer.sync_bn (DistributedBatchNormSync installed) every BatchNorm uses
// the global batch's statistics, so the W-rank step equals the 1-process step in train mode too.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "speakernet/models/sync_batch_norm.h"

namespace speakernet {

// Rendezvous settings, normally read from RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT.
struct DistEnv {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  std::string file_store;  // if set, a c10d::FileStore at this path instead of TCP (tests)
  double timeout_seconds = 1800;

  // World size 1 when WORLD_SIZE is unset. Malformed values are errors naming the variable.
  static DistEnv FromEnvironment();
};

// The collective operations the trainer uses. World size 1 needs no process group: every call
// is then a no-op (so single-process training is unchanged). Tensors on another device than the
// backend's (e.g. CPU counters under NCCL) are staged through the backend device.
class Distributed {
 public:
  // Connects to the others (blocking until all world_size ranks joined). `device` picks the
  // backend: Gloo for CPU tensors, NCCL for CUDA ones (an error if the build has no NCCL).
  Distributed(const DistEnv& env, const torch::Device& device);
  ~Distributed();
  Distributed(const Distributed&) = delete;
  Distributed& operator=(const Distributed&) = delete;

  int rank() const { return env_.rank; }
  int world_size() const { return env_.world_size; }
  bool enabled() const { return env_.world_size > 1; }
  bool is_main() const { return env_.rank == 0; }
  std::string backend() const;

  // Rank 0's values into every rank's tensors (in place), flattened per dtype.
  void Broadcast(const std::vector<torch::Tensor>& tensors);
  // Sums the gradients of `params` over ranks and divides by the world size, in flattened
  // buckets of about bucket_mb MB (one collective per bucket instead of one per tensor).
  // Parameters without a gradient get a zero one, so every rank sends the same layout.
  void AverageGradients(const std::vector<torch::Tensor>& params, double bucket_mb = 25.0);
  // Element-wise sum over ranks, in place.
  void AllReduceSum(torch::Tensor& t);
  // Every rank's copy of `t` (same shape and dtype on all ranks), in rank order.
  std::vector<torch::Tensor> AllGather(const torch::Tensor& t);
  void Barrier();
  // Max |difference| between this rank's tensors and rank 0's (0 on every rank when in sync).
  double MaxDifferenceFromRank0(const std::vector<torch::Tensor>& tensors);

  struct Impl;  // the backend's process group (public so that the .cpp can derive from it)

 private:
  DistEnv env_;
  torch::Device device_{torch::kCPU};  // where the backend's tensors must live
  std::unique_ptr<Impl> impl_;
};

// The models' SyncBatchNorm hook on this process group: one all-reduce per tensor, i.e. two
// small ones ([sum, sum of squares, count] and [sum dy, sum dy*xhat] per channel) per BN layer
// per training step. Install with ScopedBatchNormSync on the thread that runs the forward.
class DistributedBatchNormSync : public BatchNormSync {
 public:
  explicit DistributedBatchNormSync(Distributed& dist) : dist_(dist) {}
  void AllReduceSum(std::vector<torch::Tensor>& tensors) override;

 private:
  Distributed& dist_;
};

}  // namespace speakernet
