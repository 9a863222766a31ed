#include "speakernet/training/distributed.h"

#include <spdlog/spdlog.h>
#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef USE_C10D_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef USE_C10D_NCCL
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <chrono>
#include <cstdlib>
#include <map>

#include "speakernet/common/error.h"

namespace speakernet {

namespace {

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  try {
    size_t used = 0;
    const int x = std::stoi(v, &used);
    SN_CHECK(used == std::string(v).size(), "trailing characters");
    return x;
  } catch (const std::exception&) {
    Fail(fmt::format("environment variable {}='{}' is not an integer", name, v));
  }
}

}  // namespace

DistEnv DistEnv::FromEnvironment() {
  DistEnv e;
  e.world_size = EnvInt("WORLD_SIZE", 1);
  e.rank = EnvInt("RANK", 0);
  e.local_rank = EnvInt("LOCAL_RANK", e.rank);
  e.master_port = EnvInt("MASTER_PORT", 29500);
  if (const char* a = std::getenv("MASTER_ADDR"); a != nullptr && *a != '\0') e.master_addr = a;
  if (const char* f = std::getenv("SPEAKERNET_FILE_STORE"); f != nullptr) e.file_store = f;
  SN_CHECK(e.world_size >= 1, "WORLD_SIZE must be >= 1, got {}", e.world_size);
  SN_CHECK(e.rank >= 0 && e.rank < e.world_size, "RANK {} outside [0, WORLD_SIZE={})", e.rank,
           e.world_size);
  SN_CHECK(e.master_port > 0 && e.master_port < 65536, "MASTER_PORT {} is not a port",
           e.master_port);
  return e;
}

// Type-erased process group: ProcessGroupGloo/NCCL derive from ProcessGroup in LibTorch 1.13 but
// from c10d::Backend in 2.x; both have the same allreduce/broadcast/allgather/barrier methods,
// so the concrete type is held and called through a template.
struct Distributed::Impl {
  virtual ~Impl() = default;
  virtual void AllReduce(std::vector<at::Tensor>& t) = 0;
  virtual c10::intrusive_ptr<c10d::Work> AllReduceAsync(std::vector<at::Tensor>& t) = 0;
  virtual void Broadcast(std::vector<at::Tensor>& t) = 0;
  virtual void AllGather(std::vector<std::vector<at::Tensor>>& out, std::vector<at::Tensor>& in) = 0;
  virtual void Barrier() = 0;
  std::string name;
};

namespace {

template <class PG>
struct PgImpl : Distributed::Impl {
  c10::intrusive_ptr<PG> pg;
  void AllReduce(std::vector<at::Tensor>& t) override { pg->allreduce(t)->wait(); }
  c10::intrusive_ptr<c10d::Work> AllReduceAsync(std::vector<at::Tensor>& t) override {
    return pg->allreduce(t);
  }
  void Broadcast(std::vector<at::Tensor>& t) override { pg->broadcast(t)->wait(); }
  void AllGather(std::vector<std::vector<at::Tensor>>& out, std::vector<at::Tensor>& in) override {
    pg->allgather(out, in)->wait();
  }
  void Barrier() override { pg->barrier()->wait(); }
};

}  // namespace

Distributed::Distributed(const DistEnv& env, const torch::Device& device)
    : env_(env), device_(device) {
  if (env_.world_size <= 1) return;
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(env_.timeout_seconds * 1000));
  c10::intrusive_ptr<c10d::Store> store;
  if (!env_.file_store.empty()) {
    store = c10::make_intrusive<c10d::FileStore>(env_.file_store, env_.world_size);
  } else {
    c10d::TCPStoreOptions o;
    o.port = static_cast<std::uint16_t>(env_.master_port);
    o.isServer = env_.rank == 0;
    o.numWorkers = env_.world_size;
    o.waitWorkers = true;
    o.timeout = timeout;
    try {
      store = c10::make_intrusive<c10d::TCPStore>(env_.master_addr, o);
    } catch (const std::exception& e) {
      Fail(fmt::format("rank {}: rendezvous at MASTER_ADDR={} MASTER_PORT={} failed: {}",
                       env_.rank, env_.master_addr, env_.master_port, e.what()));
    }
  }
  store->setTimeout(timeout);
  store = c10::make_intrusive<c10d::PrefixStore>("speakernet", store);
  if (device.is_cuda()) {
#ifdef USE_C10D_NCCL
    // NCCL needs the rank's own GPU current before the first collective.
    c10::cuda::set_device(static_cast<c10::DeviceIndex>(device.index()));
    auto opts = c10d::ProcessGroupNCCL::Options::create();
    opts->timeout = timeout;
    auto impl = std::make_unique<PgImpl<c10d::ProcessGroupNCCL>>();
    impl->pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, env_.rank, env_.world_size, opts);
    impl->name = "nccl";
    impl_ = std::move(impl);
#else
    Fail("multi-process training on CUDA needs a LibTorch built with NCCL (USE_C10D_NCCL); "
         "this build has none (use runtime.device=cpu for Gloo)");
#endif
  } else {
#ifdef USE_C10D_GLOO
    auto opts = c10d::ProcessGroupGloo::Options::create();
    // Loopback for a local run; otherwise the interface that resolves to this host's name.
    const bool local = env_.master_addr == "127.0.0.1" || env_.master_addr == "localhost";
    opts->devices.push_back(local ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                  : c10d::ProcessGroupGloo::createDefaultDevice());
    opts->timeout = timeout;
    auto impl = std::make_unique<PgImpl<c10d::ProcessGroupGloo>>();
    impl->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(store, env_.rank, env_.world_size, opts);
    impl->name = "gloo";
    impl_ = std::move(impl);
#else
    Fail("multi-process training on CPU needs a LibTorch built with Gloo (USE_C10D_GLOO)");
#endif
  }
  spdlog::info("distributed: rank {} of {} (local rank {}), backend {}", env_.rank,
               env_.world_size, env_.local_rank, impl_->name);
}

Distributed::~Distributed() = default;

std::string Distributed::backend() const { return impl_ ? impl_->name : "none"; }

namespace {

// Consecutive runs of tensors with the same dtype and device, each at most `max_bytes`
// (a single larger tensor is a bucket of its own).
std::vector<std::vector<size_t>> Buckets(const std::vector<torch::Tensor>& ts, double max_bytes) {
  std::vector<std::vector<size_t>> out;
  double bytes = 0;
  for (size_t i = 0; i < ts.size(); ++i) {
    const double b = static_cast<double>(ts[i].numel() * ts[i].element_size());
    const bool same = !out.empty() && ts[out.back().back()].dtype() == ts[i].dtype() &&
                      ts[out.back().back()].device() == ts[i].device();
    if (!same || bytes + b > max_bytes) {
      out.emplace_back();
      bytes = 0;
    }
    out.back().push_back(i);
    bytes += b;
  }
  return out;
}

torch::Tensor Flatten(const std::vector<torch::Tensor>& ts, const std::vector<size_t>& idx) {
  std::vector<torch::Tensor> flat;
  flat.reserve(idx.size());
  for (size_t i : idx) flat.push_back(ts[i].reshape({-1}));
  return torch::cat(flat);
}

void Unflatten(const torch::Tensor& flat, const std::vector<torch::Tensor>& ts,
               const std::vector<size_t>& idx) {
  int64_t pos = 0;
  for (size_t i : idx) {
    const int64_t n = ts[i].numel();
    ts[i].copy_(flat.narrow(0, pos, n).view_as(ts[i]));
    pos += n;
  }
}

}  // namespace

void Distributed::Broadcast(const std::vector<torch::Tensor>& tensors) {
  if (!enabled() || tensors.empty()) return;
  torch::NoGradGuard no_grad;
  for (const auto& bucket : Buckets(tensors, 1e30)) {
    std::vector<at::Tensor> v{Flatten(tensors, bucket).to(device_)};
    impl_->Broadcast(v);
    Unflatten(v[0], tensors, bucket);
  }
}

void Distributed::AverageGradients(const std::vector<torch::Tensor>& params, double bucket_mb) {
  if (!enabled()) return;
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> grads;
  grads.reserve(params.size());
  for (const auto& p : params) {
    if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
    grads.push_back(p.grad());
  }
  const auto buckets = Buckets(grads, bucket_mb * 1e6);
  // All buckets in flight at once: the backend overlaps their transfers.
  std::vector<std::vector<at::Tensor>> flats(buckets.size());
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  for (size_t b = 0; b < buckets.size(); ++b) {
    flats[b] = {Flatten(grads, buckets[b]).to(device_)};
    works.push_back(impl_->AllReduceAsync(flats[b]));
  }
  const double inv = 1.0 / world_size();
  for (size_t b = 0; b < buckets.size(); ++b) {
    works[b]->wait();
    flats[b][0].mul_(inv);
    Unflatten(flats[b][0], grads, buckets[b]);
  }
}

void Distributed::AllReduceSum(torch::Tensor& t) {
  if (!enabled()) return;
  std::vector<at::Tensor> v{t.to(device_)};
  impl_->AllReduce(v);
  if (!v[0].is_same(t)) t.copy_(v[0]);
}

std::vector<torch::Tensor> Distributed::AllGather(const torch::Tensor& t) {
  if (!enabled()) return {t.clone()};
  std::vector<at::Tensor> in{t.contiguous().to(device_)};
  std::vector<std::vector<at::Tensor>> out(1);
  for (int r = 0; r < world_size(); ++r) out[0].push_back(torch::empty_like(in[0]));
  impl_->AllGather(out, in);
  for (auto& x : out[0]) x = x.to(t.device());
  return out[0];
}

void Distributed::Barrier() {
  if (enabled()) impl_->Barrier();
}

double Distributed::MaxDifferenceFromRank0(const std::vector<torch::Tensor>& tensors) {
  if (!enabled() || tensors.empty()) return 0.0;
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> flat;
  for (const auto& t : tensors) {
    flat.push_back(t.detach().to(device_, torch::kFloat64).reshape({-1}));
  }
  const torch::Tensor mine = torch::cat(flat);
  std::vector<at::Tensor> v{mine.clone()};
  impl_->Broadcast(v);
  auto diff = (v[0] - mine).abs().max().reshape({1});
  // Max over ranks via sum of a one-hot of each rank's value (Gloo's MAX works too, but SUM keeps
  // this to the default reduce op that every backend has).
  auto all = torch::zeros({world_size()}, diff.options());
  all[rank()] = diff[0];
  AllReduceSum(all);
  return all.max().item<double>();
}

void DistributedBatchNormSync::AllReduceSum(std::vector<torch::Tensor>& tensors) {
  for (auto& t : tensors) dist_.AllReduceSum(t);
}

}  // namespace speakernet
