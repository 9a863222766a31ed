#include "speakernet/backend/qmf_calibration.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "speakernet/backend/cosine_scoring.h"
#include "speakernet/common/atomic_file.h"
#include "speakernet/common/text_table.h"

namespace speakernet {

namespace {

double ParseDouble(const std::string& s, const std::string& where) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  SN_CHECK(used == s.size() && std::isfinite(v), "{}: '{}' is not a finite number", where, s);
  return v;
}

void CheckColumns(const std::vector<std::vector<double>>& systems, const QualityFeatures& quality,
                  size_t n, const char* who) {
  SN_CHECK(!systems.empty(), "{}: no score systems", who);
  for (size_t s = 0; s < systems.size(); ++s) {
    SN_CHECK(systems[s].size() == n, "{}: system #{} has {} scores for {} trials", who, s + 1,
             systems[s].size(), n);
    for (size_t t = 0; t < n; ++t) {
      SN_CHECK(std::isfinite(systems[s][t]), "{}: system #{} trial #{} has score {}", who, s + 1,
               t + 1, systems[s][t]);
    }
  }
  SN_CHECK(quality.names.size() == quality.columns.size(), "{}: {} quality names for {} columns",
           who, quality.names.size(), quality.columns.size());
  for (size_t j = 0; j < quality.columns.size(); ++j) {
    SN_CHECK(quality.columns[j].size() == n, "{}: quality '{}' has {} values for {} trials", who,
             quality.names[j], quality.columns[j].size(), n);
    for (size_t t = 0; t < n; ++t) {
      SN_CHECK(std::isfinite(quality.columns[j][t]), "{}: quality '{}' trial #{} is {}", who,
               quality.names[j], t + 1, quality.columns[j][t]);
    }
  }
}

// [n, k] float64 tensor holding the columns.
torch::Tensor Stack(const std::vector<std::vector<double>>& cols, size_t n) {
  torch::Tensor x = torch::empty({static_cast<int64_t>(n), static_cast<int64_t>(cols.size())},
                                 torch::kDouble);
  double* p = x.data_ptr<double>();
  for (size_t j = 0; j < cols.size(); ++j) {
    for (size_t t = 0; t < n; ++t) p[t * cols.size() + j] = cols[j][t];
  }
  return x;
}

// torch.optim.LBFGS without line search (speaker-net's setting), transcribed for a parameter
// vector of a handful of doubles: the torch version spends milliseconds per iteration in tiny
// tensor ops of its two-loop recursion (history 100), which made a 30k-trial fit take seconds.
// Same state across step() calls, same defaults: tolerance_grad 1e-7, tolerance_change 1e-9,
// history_size 100, max_eval = max_iter * 5 / 4, first step scaled by min(1, 1/|g|_1).
class PlainLbfgs {
 public:
  using Eval = std::function<double(const std::vector<double>&, std::vector<double>*)>;
  PlainLbfgs(double lr, int64_t max_iter) : lr_(lr), max_iter_(max_iter) {}

  void Step(std::vector<double>& x, const Eval& f) {
    const size_t k = x.size();
    std::vector<double> g(k);
    double loss = f(x, &g);
    int64_t evals = 1;
    auto max_abs = [](const std::vector<double>& v) {
      double m = 0;
      for (double e : v) m = std::max(m, std::abs(e));
      return m;
    };
    auto dot = [k](const std::vector<double>& a, const std::vector<double>& b) {
      double s = 0;
      for (size_t i = 0; i < k; ++i) s += a[i] * b[i];
      return s;
    };
    if (max_abs(g) <= kToleranceGrad) return;
    const int64_t max_eval = max_iter_ * 5 / 4;
    for (int64_t n_iter = 1; n_iter <= max_iter_; ++n_iter) {
      ++state_iter_;
      if (state_iter_ == 1) {
        d_.assign(k, 0);
        for (size_t i = 0; i < k; ++i) d_[i] = -g[i];
        dirs_.clear();
        stps_.clear();
        ro_.clear();
        h_diag_ = 1;
      } else {
        std::vector<double> y(k), st(k);
        for (size_t i = 0; i < k; ++i) {
          y[i] = g[i] - prev_g_[i];
          st[i] = d_[i] * t_;
        }
        const double ys = dot(y, st);
        if (ys > 1e-10) {
          if (dirs_.size() == kHistory) {
            dirs_.erase(dirs_.begin());
            stps_.erase(stps_.begin());
            ro_.erase(ro_.begin());
          }
          dirs_.push_back(y);
          stps_.push_back(st);
          ro_.push_back(1.0 / ys);
          h_diag_ = ys / dot(y, y);
        }
        const size_t m = dirs_.size();
        std::vector<double> al(m), q(k);
        for (size_t i = 0; i < k; ++i) q[i] = -g[i];
        for (size_t j = m; j-- > 0;) {
          al[j] = dot(stps_[j], q) * ro_[j];
          for (size_t i = 0; i < k; ++i) q[i] -= al[j] * dirs_[j][i];
        }
        for (size_t i = 0; i < k; ++i) d_[i] = q[i] * h_diag_;
        for (size_t j = 0; j < m; ++j) {
          const double be = dot(dirs_[j], d_) * ro_[j];
          for (size_t i = 0; i < k; ++i) d_[i] += stps_[j][i] * (al[j] - be);
        }
      }
      prev_g_ = g;
      const double prev_loss = loss;
      if (state_iter_ == 1) {
        double l1 = 0;
        for (double e : g) l1 += std::abs(e);
        t_ = std::min(1.0, 1.0 / l1) * lr_;
      } else {
        t_ = lr_;
      }
      if (dot(g, d_) > -kToleranceChange) break;
      for (size_t i = 0; i < k; ++i) x[i] += t_ * d_[i];
      if (n_iter == max_iter_) break;  // torch does not re-evaluate after the last iteration
      loss = f(x, &g);
      ++evals;
      if (evals >= max_eval) break;
      if (max_abs(g) <= kToleranceGrad) break;
      if (t_ * max_abs(d_) <= kToleranceChange) break;
      if (std::abs(loss - prev_loss) < kToleranceChange) break;
    }
  }

 private:
  static constexpr double kToleranceGrad = 1e-7, kToleranceChange = 1e-9;
  static constexpr size_t kHistory = 100;
  double lr_;
  int64_t max_iter_;
  int64_t state_iter_ = 0;
  double t_ = 0, h_diag_ = 1;
  std::vector<double> d_, prev_g_;
  std::vector<std::vector<double>> dirs_, stps_;
  std::vector<double> ro_;
};

}  // namespace

void QualityFeatures::Append(const QualityFeatures& other) {
  SN_CHECK(columns.empty() || other.columns.empty() || other.trials() == trials(),
           "quality features: {} trials cannot be joined with {}", other.trials(), trials());
  names.insert(names.end(), other.names.begin(), other.names.end());
  columns.insert(columns.end(), other.columns.begin(), other.columns.end());
}

std::vector<std::string> ParseQualityMeasures(const std::string& list) {
  std::string s = list;
  std::replace(s.begin(), s.end(), ',', ' ');
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const std::string& name : SplitWhitespace(s)) {
    SN_CHECK(name == "duration" || name == "embedding" || name == "imposter",
             "unknown quality measure '{}' (expected duration, embedding or imposter)", name);
    SN_CHECK(seen.insert(name).second, "quality measure '{}' is listed twice in '{}'", name, list);
    out.push_back(name);
  }
  return out;
}

Durations ReadUtt2Dur(const std::string& path) {
  Durations d;
  for (const TextLine& line : ReadTextTable(path, 1, 1)) {
    const std::string where = fmt::format("{}:{}", path, line.line_no);
    const double v = ParseDouble(line.fields[0], where);
    SN_CHECK(v >= 0, "{}: negative duration {}", where, v);
    SN_CHECK(d.emplace(line.key, v).second, "{}: utterance '{}' is listed twice", where, line.key);
  }
  return d;
}

QualityFeatures DurationQuality(const std::vector<Trial>& trials, const Durations& durations,
                                const std::string& source) {
  QualityFeatures q;
  q.names = {"duration_short", "duration_long"};
  q.columns.assign(2, std::vector<double>(trials.size()));
  auto get = [&](const std::string& utt, size_t t) {
    const auto it = durations.find(utt);
    SN_CHECK(it != durations.end(), "trial #{} ('{}' '{}'): no duration for '{}' in {}", t + 1,
             trials[t].enroll, trials[t].test, utt, source);
    return it->second;
  };
  for (size_t t = 0; t < trials.size(); ++t) {
    const double a = get(trials[t].enroll, t), b = get(trials[t].test, t);
    q.columns[0][t] = std::min(a, b);
    q.columns[1][t] = std::max(a, b);
  }
  return q;
}

QualityFeatures EmbeddingQuality(const EmbeddingTable& table, const std::vector<Trial>& trials,
                                 const std::vector<float>* mean) {
  SN_CHECK(mean == nullptr || static_cast<int64_t>(mean->size()) == table.dim(),
           "embedding quality: mean of dimension {} for embeddings of dimension {} in {}",
           mean ? mean->size() : 0, table.dim(), table.source());
  std::vector<double> norm(table.size(), -1.0);
  auto norm_of = [&](const std::string& id, size_t t) {
    const int64_t i = table.IndexOf(id);
    SN_CHECK(i >= 0, "trial #{} ('{}' '{}'): no embedding for '{}' in {}", t + 1,
             trials[t].enroll, trials[t].test, id, table.source());
    double& n = norm[static_cast<size_t>(i)];
    if (n < 0) {
      const std::vector<float>& e = table.Row(static_cast<size_t>(i));
      double sq = 0;
      for (int64_t j = 0; j < table.dim(); ++j) {
        const double v = static_cast<double>(e[j]) - (mean ? (*mean)[j] : 0.0f);
        sq += v * v;
      }
      n = std::sqrt(sq);
    }
    return n;
  };
  QualityFeatures q;
  q.names = {"embedding_min_norm", "embedding_max_norm"};
  q.columns.assign(2, std::vector<double>(trials.size()));
  for (size_t t = 0; t < trials.size(); ++t) {
    const double a = norm_of(trials[t].enroll, t), b = norm_of(trials[t].test, t);
    q.columns[0][t] = std::min(a, b);
    q.columns[1][t] = std::max(a, b);
  }
  return q;
}

QualityFeatures ImposterQuality(const NormalizedScores& normalized) {
  const size_t n = normalized.enroll_imposter.size();
  SN_CHECK(normalized.test_imposter.size() == n,
           "imposter quality: {} enroll but {} test values", n, normalized.test_imposter.size());
  QualityFeatures q;
  q.names = {"imposter_max", "imposter_min"};
  q.columns.assign(2, std::vector<double>(n));
  for (size_t t = 0; t < n; ++t) {
    q.columns[0][t] = std::max(normalized.enroll_imposter[t], normalized.test_imposter[t]);
    q.columns[1][t] = std::min(normalized.enroll_imposter[t], normalized.test_imposter[t]);
  }
  return q;
}

void WriteQuality(const std::string& path, const std::vector<Trial>& trials,
                  const QualityFeatures& quality) {
  SN_CHECK(quality.columns.empty() || quality.trials() == trials.size(),
           "{}: {} quality rows for {} trials", path, quality.trials(), trials.size());
  std::string out;
  out.reserve(trials.size() * 48);
  for (size_t t = 0; t < trials.size(); ++t) {
    out += trials[t].enroll;
    out += ' ';
    out += trials[t].test;
    for (const auto& col : quality.columns) out += fmt::format(" {:.6g}", col[t]);
    out += '\n';
  }
  WriteTextAtomically(path, out);
}

QualityFeatures ReadQuality(const std::string& path, const std::vector<Trial>& trials) {
  std::unordered_map<std::string, std::vector<double>> rows;
  int64_t width = -1;
  for (const TextLine& line : ReadTextTable(path, 2)) {
    const std::string where = fmt::format("{}:{}", path, line.line_no);
    const int64_t k = static_cast<int64_t>(line.fields.size()) - 1;
    SN_CHECK(width < 0 || k == width, "{}: {} quality values, earlier lines have {}", where, k,
             width);
    width = k;
    std::vector<double> v(static_cast<size_t>(k));
    for (int64_t j = 0; j < k; ++j) v[j] = ParseDouble(line.fields[j + 1], where);
    rows[ScoreKey(line.key, line.fields[0])] = std::move(v);
  }
  QualityFeatures q;
  for (int64_t j = 0; j < width; ++j) {
    q.names.push_back(fmt::format("{}:{}", path, j + 1));
    q.columns.emplace_back(trials.size());
  }
  for (size_t t = 0; t < trials.size(); ++t) {
    const auto it = rows.find(ScoreKey(trials[t].enroll, trials[t].test));
    SN_CHECK(it != rows.end(), "trial #{} ('{}' '{}') has no quality values in {}", t + 1,
             trials[t].enroll, trials[t].test, path);
    for (int64_t j = 0; j < width; ++j) q.columns[j][t] = it->second[j];
  }
  return q;
}

std::vector<double> Calibrator::Apply(const std::vector<std::vector<double>>& systems,
                                      const QualityFeatures& quality) const {
  SN_CHECK(systems.size() == weights.size(), "calibration: model has {} systems, got {}",
           weights.size(), systems.size());
  SN_CHECK(quality.columns.size() == quality_weights.size(),
           "calibration: model has {} quality features, got {}", quality_weights.size(),
           quality.columns.size());
  const size_t n = systems[0].size();
  CheckColumns(systems, quality, n, "calibration");
  std::vector<double> llr(n, bias);
  for (size_t s = 0; s < systems.size(); ++s) {
    for (size_t t = 0; t < n; ++t) llr[t] += weights[s] * systems[s][t];
  }
  for (size_t j = 0; j < quality.columns.size(); ++j) {
    for (size_t t = 0; t < n; ++t) llr[t] += quality_weights[j] * quality.columns[j][t];
  }
  return llr;
}

std::string Calibrator::Describe() const {
  std::string s = "llr =";
  for (size_t i = 0; i < weights.size(); ++i) s += fmt::format(" {:+.6g}*score{}", weights[i], i + 1);
  s += fmt::format(" {:+.6g}", bias);
  for (size_t j = 0; j < quality_weights.size(); ++j) {
    s += fmt::format(" {:+.6g}*{}", quality_weights[j],
                     j < quality_names.size() ? quality_names[j] : fmt::format("q{}", j + 1));
  }
  return s + fmt::format(" (training Cllr {:.4f}, {} LBFGS steps)", loss, steps);
}

Calibrator TrainCalibrator(const std::vector<std::vector<double>>& systems,
                           const QualityFeatures& quality, const std::vector<int>& labels,
                           const CalibrationOptions& options) {
  options.Validate();
  const size_t n = labels.size();
  CheckColumns(systems, quality, n, "calibration training");
  std::vector<int64_t> tar, non;
  for (size_t t = 0; t < n; ++t) {
    SN_CHECK(labels[t] == 0 || labels[t] == 1, "calibration training: trial #{} has label {}",
             t + 1, labels[t]);
    (labels[t] ? tar : non).push_back(static_cast<int64_t>(t));
  }
  SN_CHECK(!tar.empty() && !non.empty(),
           "calibration training needs target and non-target trials, got {} and {}", tar.size(),
           non.size());
  // The loss and its gradient are written out by hand (no autograd graph): LBFGS evaluates them
  // up to 2000 times, and the closed form is several times cheaper per evaluation.
  //   Cllr = sum_t c_t softplus(-y_t llr_t), y = +1 target / -1 non-target,
  //   c_t = 0.5 / (N_class(t) ln 2);  d Cllr / d llr_t = -c_t y_t sigmoid(-y_t llr_t).
  torch::NoGradGuard no_grad;
  const int64_t ns = static_cast<int64_t>(systems.size());
  const int64_t nq = static_cast<int64_t>(quality.columns.size());
  std::vector<std::vector<double>> cols = systems;
  cols.emplace_back(n, 1.0);  // bias
  cols.insert(cols.end(), quality.columns.begin(), quality.columns.end());
  const torch::Tensor xall = Stack(cols, n);  // [n, ns + 1 + nq]
  std::vector<double> yv(n), cv(n);
  for (size_t t = 0; t < n; ++t) {
    yv[t] = labels[t] ? 1.0 : -1.0;
    cv[t] = 0.5 / (static_cast<double>(labels[t] ? tar.size() : non.size()) * std::log(2.0));
  }
  const torch::Tensor y = torch::tensor(yv, torch::kDouble), c = torch::tensor(cv, torch::kDouble);
  // One parameter vector theta = [w, b, v]; w starts at 1/#systems, b and v at 0.
  torch::Tensor theta = torch::zeros({ns + 1 + nq}, torch::kDouble);
  theta.narrow(0, 0, ns).fill_(1.0 / static_cast<double>(ns));
  theta.set_requires_grad(true);
  // llr = X theta and X^T r as plain loops over the (few) columns: BLAS gemv on [30000, 5] goes
  // multi-threaded, and thread hand-offs dominate a product this small (badly so on a shared
  // machine); the element-wise softplus/sigmoid stay vectorised torch ops.
  const int64_t kcols = ns + 1 + nq;
  torch::Tensor llr_t = torch::empty({static_cast<int64_t>(n)}, torch::kDouble);
  const double* px = xall.data_ptr<double>();
  auto loss_and_grad = [&](bool grad) {
    const double* th = theta.data_ptr<double>();
    double* pl = llr_t.data_ptr<double>();
    for (size_t t = 0; t < n; ++t) {
      double v = 0;
      for (int64_t j = 0; j < kcols; ++j) v += px[t * kcols + j] * th[j];
      pl[t] = v;
    }
    const torch::Tensor z = -y * llr_t;
    const torch::Tensor loss = (c * torch::softplus(z)).sum();
    if (grad) {
      const torch::Tensor r = (-c * y * torch::sigmoid(z)).contiguous();
      const double* pr = r.data_ptr<double>();
      torch::Tensor g = torch::zeros({kcols}, torch::kDouble);
      double* pg = g.data_ptr<double>();
      for (size_t t = 0; t < n; ++t) {
        for (int64_t j = 0; j < kcols; ++j) pg[j] += px[t * kcols + j] * pr[t];
      }
      theta.mutable_grad() = g;
    }
    return loss;
  };
  auto loss_of = [&]() { return loss_and_grad(false); };
  Calibrator cal;
  double prev = loss_of().item<double>();
  auto run_steps = [&](const std::function<void()>& step) {
    for (int64_t i = 0; i < options.max_steps; ++i) {
      step();
      const double cur = loss_of().item<double>();
      cal.steps = i + 1;
      SN_CHECK(std::isfinite(cur), "calibration training diverged (loss {}) at step {}", cur,
               i + 1);
      const bool done = prev - cur < options.tolerance;
      prev = cur;
      if (done) break;
    }
  };
  if (options.line_search || options.torch_lbfgs) {
    std::vector<torch::Tensor> params = {theta};
    torch::optim::LBFGSOptions lbfgs(options.lr);
    lbfgs.max_iter(options.max_iter);
    if (options.line_search) lbfgs.line_search_fn("strong_wolfe");
    torch::optim::LBFGS optimizer(params, lbfgs);
    auto closure = [&]() { return loss_and_grad(true); };
    run_steps([&] { optimizer.step(closure); });
  } else {
    PlainLbfgs optimizer(options.lr, options.max_iter);
    const int64_t k = theta.numel();
    std::vector<double> x(theta.data_ptr<double>(), theta.data_ptr<double>() + k);
    auto eval = [&](const std::vector<double>& at, std::vector<double>* grad) {
      std::copy(at.begin(), at.end(), theta.data_ptr<double>());
      const double loss = loss_and_grad(true).item<double>();
      const double* pg = theta.grad().data_ptr<double>();
      grad->assign(pg, pg + k);
      return loss;
    };
    run_steps([&] {
      optimizer.Step(x, eval);
      std::copy(x.begin(), x.end(), theta.data_ptr<double>());
    });
  }
  cal.loss = prev;
  const double* p = theta.data_ptr<double>();
  cal.weights.assign(p, p + ns);
  cal.bias = p[ns];
  cal.quality_weights.assign(p + ns + 1, p + ns + 1 + nq);
  cal.quality_names = quality.names;
  return cal;
}

}  // namespace speakernet
