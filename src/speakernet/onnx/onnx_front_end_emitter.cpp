// speakernet's front ends (features/fbank.h, features/kaldi_fbank.h) as ONNX ops on a waveform
// [1, samples]. Frames are gathered with indices built from the dynamic length (Range), the DFT
// is a MatMul with cos/sin tables (computed in double, stored as float), the power spectrum goes
// through the front end's own mel matrix, then the log and the per-utterance normalisation.
#include <cfloat>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "speakernet/common/error.h"
#include "speakernet/features/fbank.h"
#include "speakernet/features/kaldi_fbank.h"
#include "speakernet/onnx/onnx_emitters.h"

namespace speakernet {

namespace {

constexpr float kFbankLogOffset = 1e-6f;  // features/fbank.cpp
constexpr float kVarEps = 1e-8f;          // both front ends' norm_var

class FrontEndEmitter {
 public:
  explicit FrontEndEmitter(OnnxGraph& g) : g_(g) {}

  std::string Slice(const std::string& x, int64_t start, int64_t end, int64_t axis,
                    const std::string& name, int64_t step = 1) {
    return g_.Node("Slice",
                   {x, g_.IntList(name + ".starts", {start}), g_.IntList(name + ".ends", {end}),
                    g_.IntList(name + ".axes", {axis}), g_.IntList(name + ".steps", {step})},
                   name);
  }
  std::string Op(const std::string& op, const std::string& a, const std::string& b,
                 const std::string& name) {
    return g_.Node(op, {a, b}, name);
  }
  std::string Concat(const std::vector<std::string>& xs, int64_t axis, const std::string& name) {
    return g_.Node("Concat", xs, name, {{"axis", axis}});
  }

  // The number of samples of the 1-D signal `x` (int64 scalar).
  std::string Length(const std::string& x, const std::string& name) {
    return g_.Node(
        "Gather", {g_.Node("Shape", {x}, name + ".shape"), g_.IntScalar(name + ".axis0", 0)}, name);
  }

  // Frames [F, width] of the 1-D `source`: frame f is source[f * shift + offset + k],
  // k < width; num_frames is an int64 scalar.
  std::string Frames(const std::string& source, const std::string& num_frames, int64_t shift,
                     int64_t offset, int64_t width, const std::string& name) {
    const std::string f = g_.Node(
        "Range", {g_.IntScalar(name + ".zero", 0), num_frames, g_.IntScalar(name + ".one", 1)},
        name + ".f");
    const std::string starts =
        g_.Node("Unsqueeze",
                {Op("Mul", f, g_.IntScalar(name + ".shift", shift), name + ".start"),
                 g_.IntList(name + ".axes", {1})},
                name + ".start2");
    std::vector<int64_t> k(width);
    for (int64_t i = 0; i < width; ++i) k[i] = offset + i;
    const std::string idx = Op("Add", starts, g_.Ints(name + ".k", {1, width}, k), name + ".idx");
    return g_.Node("Gather", {source, idx}, name, {{"axis", int64_t{0}}});
  }

  // |DFT|^2 of frames [F, width] zero-padded to n: [F, n / 2 + 1]. Sample i of a frame sits at
  // position first + i of the n-point transform.
  std::string PowerSpectrum(const std::string& frames, int64_t width, int64_t first, int64_t n,
                            const std::string& name) {
    const int64_t bins = n / 2 + 1;
    std::vector<float> table(static_cast<size_t>(width * 2 * bins));
    for (int64_t i = 0; i < width; ++i) {
      for (int64_t k = 0; k < bins; ++k) {
        const int64_t phase = ((first + i) * k) % n;  // exact, then one rounding to double
        const double angle = 2.0 * M_PI * static_cast<double>(phase) / static_cast<double>(n);
        table[i * 2 * bins + k] = static_cast<float>(std::cos(angle));
        table[i * 2 * bins + bins + k] = static_cast<float>(-std::sin(angle));
      }
    }
    const std::string spec = g_.Node(
        "MatMul", {frames, g_.Floats(name + ".dft", {width, 2 * bins}, table)}, name + ".dft");
    const std::string re = Slice(spec, 0, bins, 1, name + ".re");
    const std::string im = Slice(spec, bins, 2 * bins, 1, name + ".im");
    return Op("Add", Op("Mul", re, re, name + ".re2"), Op("Mul", im, im, name + ".im2"), name);
  }

  // feats [F, D] (frames major) -> [1, D, F] with per-utterance mean (and variance)
  // normalisation over the frames.
  std::string Normalize(const std::string& feats, bool cmvn, bool norm_var,
                        const std::string& name) {
    std::string x = feats;
    if (cmvn || norm_var) {
      const std::string mean =
          g_.Node("ReduceMean", {feats}, name + ".mean",
                  {{"axes", std::vector<int64_t>{0}}, {"keepdims", int64_t{1}}});
      const std::string centred = Op("Sub", feats, mean, name + ".centred");
      if (cmvn) x = centred;
      if (norm_var) {
        const std::string var =
            g_.Node("ReduceMean", {Op("Mul", centred, centred, name + ".sq")}, name + ".var",
                    {{"axes", std::vector<int64_t>{0}}, {"keepdims", int64_t{1}}});
        x = Op(
            "Div", x,
            g_.Node("Sqrt", {Op("Add", var, g_.Scalar(name + ".eps", kVarEps), name + ".var_eps")},
                    name + ".std"),
            name + ".scaled");
      }
    }
    x = g_.Node("Transpose", {x}, name + ".t", {{"perm", std::vector<int64_t>{1, 0}}});
    return g_.Node("Unsqueeze", {x, g_.IntList(name + ".axes", {0})}, name);
  }

  std::string Fbank(const FbankOptions& o, const std::string& wave);
  std::string KaldiFbank(const KaldiFbankOptions& o, const std::string& wave);

 private:
  OnnxGraph& g_;
};

std::vector<float> ToVector(const torch::Tensor& t) {
  const torch::Tensor c = t.detach().to(torch::kCPU, torch::kFloat).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

std::string FrontEndEmitter::Fbank(const FbankOptions& o, const std::string& wave) {
  const speakernet::Fbank fbank(o);
  const std::string n = "fbank";
  std::string x = g_.Node("Reshape", {wave, g_.IntList(n + ".flat", {-1})}, n + ".signal");
  if (o.preemph > 0) {
    // y[0] = x[0]; y[t] = x[t] - (p * x[t-1]).
    const std::string rest =
        Op("Sub", Slice(x, 1, std::numeric_limits<int64_t>::max(), 0, n + ".next"),
           Op("Mul", Slice(x, 0, -1, 0, n + ".prev"),
              g_.Scalar(n + ".preemph", static_cast<float>(o.preemph)), n + ".prev_p"),
           n + ".preemph_rest");
    x = Concat({Slice(x, 0, 1, 0, n + ".first"), rest}, 0, n + ".preemphasised");
  }
  const int64_t pad = o.n_fft / 2, hop = o.HopLength(), win = o.WinLength();
  const std::string length = Length(x, n + ".length");
  x = g_.Node("Pad", {x, g_.IntList(n + ".pads", {pad, pad})}, n + ".padded",
              {{"mode", std::string("reflect")}});
  // NumFrames = 1 + samples / hop; frame t covers padded[t * hop, t * hop + n_fft), the window
  // is non-zero on [(n_fft - win) / 2, + win).
  const std::string frames_count =
      Op("Add", Op("Div", length, g_.IntScalar(n + ".hop", hop), n + ".frames_m1"),
         g_.IntScalar(n + ".one", 1), n + ".num_frames");
  const int64_t offset = (o.n_fft - win) / 2;
  std::string frames = Frames(x, frames_count, hop, offset, win, n + ".frames");
  const torch::Tensor window = fbank.Window().narrow(0, offset, win);
  frames = Op("Mul", frames, g_.Floats(n + ".window", {win}, ToVector(window)), n + ".windowed");
  const std::string power = PowerSpectrum(frames, win, offset, o.n_fft, n + ".power");
  const torch::Tensor mel = fbank.MelMatrix();  // [n_fft / 2 + 1, bins]
  std::string feats =
      g_.Node("MatMul", {power, EmitTensor(g_, n + ".mel_matrix", mel)}, n + ".mel");
  if (o.log) {
    feats = g_.Node(
        "Log", {Op("Add", feats, g_.Scalar(n + ".log_offset", kFbankLogOffset), n + ".mel_offset")},
        n + ".log");
  }
  return Normalize(feats, o.cmvn, o.norm_var, n + ".normalized");
}

std::string FrontEndEmitter::KaldiFbank(const KaldiFbankOptions& o, const std::string& wave) {
  const speakernet::KaldiFbank kaldi(o);
  const std::string n = "kaldi_fbank";
  std::string x = g_.Node("Reshape", {wave, g_.IntList(n + ".flat", {-1})}, n + ".signal");
  if (o.scale_to_int16) x = Op("Mul", x, g_.Scalar(n + ".int16", 32768.f), n + ".int16_scaled");
  const int64_t size = o.WindowSize(), shift = o.WindowShift(), padded = o.PaddedWindowSize();
  const std::string length = Length(x, n + ".length");
  std::string frames_count;
  if (o.snip_edges) {
    frames_count = Op("Add",
                      Op("Div", Op("Sub", length, g_.IntScalar(n + ".size", size), n + ".rest"),
                         g_.IntScalar(n + ".shift", shift), n + ".frames_m1"),
                      g_.IntScalar(n + ".one", 1), n + ".num_frames");
  } else {
    // Kaldi's reflected edges: x[p-1] .. x[0] x[0] .. x[T-1] x[T-1] .. x[0], p = size/2 - shift/2.
    const int64_t pad = size / 2 - shift / 2;
    const int64_t kBegin = std::numeric_limits<int64_t>::min();
    const std::string reversed = Slice(x, -1, kBegin, 0, n + ".reversed", -1);
    const std::string head = pad > 0 ? Slice(x, pad - 1, kBegin, 0, n + ".head", -1) : "";
    const std::string body =
        pad >= 0 ? x : Slice(x, -pad, std::numeric_limits<int64_t>::max(), 0, n + ".body");
    x = pad > 0 ? Concat({head, body, reversed}, 0, n + ".source")
                : Concat({body, reversed}, 0, n + ".source");
    frames_count =
        Op("Div", Op("Add", length, g_.IntScalar(n + ".half_shift", shift / 2), n + ".len_h"),
           g_.IntScalar(n + ".shift", shift), n + ".num_frames");
  }
  std::string frames = Frames(x, frames_count, shift, 0, size, n + ".frames");  // [F, size]
  if (o.remove_dc_offset) {
    frames = Op("Sub", frames,
                g_.Node("ReduceMean", {frames}, n + ".dc",
                        {{"axes", std::vector<int64_t>{1}}, {"keepdims", int64_t{1}}}),
                n + ".dc_removed");
  }
  const auto log_energy = [&](const std::string& f, const std::string& name) {
    std::string e =
        g_.Node("ReduceSum", {Op("Mul", f, f, name + ".sq"), g_.IntList(name + ".axes", {1})},
                name + ".sum", {{"keepdims", int64_t{1}}});
    e = g_.Node("Log", {Op("Max", e, g_.Scalar(name + ".eps", FLT_EPSILON), name + ".floored")},
                name);
    if (o.energy_floor > 0) {
      e = Op("Max", e, g_.Scalar(name + ".floor", static_cast<float>(std::log(o.energy_floor))),
             name + ".energy_floor");
    }
    return e;  // [F, 1]
  };
  std::string energy;
  if (o.use_energy && o.raw_energy) energy = log_energy(frames, n + ".energy");
  if (o.preemph_coeff != 0) {
    // previous sample, the first one replicated: x[t] - p * x[t-1], x[-1] = x[0].
    const std::string previous =
        Concat({Slice(frames, 0, 1, 1, n + ".first"), Slice(frames, 0, size - 1, 1, n + ".prev")},
               1, n + ".previous");
    frames = Op("Sub", frames,
                Op("Mul", previous, g_.Scalar(n + ".preemph", static_cast<float>(o.preemph_coeff)),
                   n + ".prev_p"),
                n + ".preemphasised");
  }
  frames = Op("Mul", frames, g_.Floats(n + ".window", {size}, ToVector(kaldi.Window())),
              n + ".windowed");
  if (o.use_energy && !o.raw_energy) energy = log_energy(frames, n + ".energy");
  std::string power = PowerSpectrum(frames, size, 0, padded, n + ".power");
  if (!o.use_power) power = g_.Node("Sqrt", {power}, n + ".magnitude");
  std::string feats = g_.Node(
      "MatMul", {power, EmitTensor(g_, n + ".mel_banks", kaldi.MelBanks().t())}, n + ".mel");
  if (o.use_log_fbank) {
    feats =
        g_.Node("Log", {Op("Max", feats, g_.Scalar(n + ".eps", FLT_EPSILON), n + ".mel_floored")},
                n + ".log");
  }
  if (o.use_energy) feats = Concat({energy, feats}, 1, n + ".with_energy");
  return Normalize(feats, o.cmvn, o.norm_var, n + ".normalized");
}

}  // namespace

std::string EmitFrontEnd(OnnxGraph& g, const FrontEndConfig& config, const std::string& wave) {
  config.Validate();
  FrontEndEmitter e(g);
  return config.IsKaldi() ? e.KaldiFbank(config.kaldi, wave) : e.Fbank(config.fbank, wave);
}

}  // namespace speakernet
