// `speakernet make-calib-trials`: QMF calibration trials from a training data dir (speaker-net
// local/make_calib_trials.py + filter_data_dir.sh, spec §7.2 item 4), written as a data dir of
// the utterances used (wav.scp, utt2spk, spk2utt, utt2dur filtered from the source) with the
// trial list `cali_trials`, ready for `speakernet extract` and `speakernet score --calib-trials`.
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>

#include "speakernet/scoring/calibration_trials.h"
#include "speakernet/scoring/score_norm.h"
#include "speakernet/cli/commands.h"
#include "speakernet/common/atomic_file.h"
#include "speakernet/common/error.h"
#include "speakernet/common/logging.h"

namespace speakernet {

namespace {

// Copies the lines of `from` whose first token is in `keep` (lines kept verbatim, so wav.scp
// pipes survive); returns false when `from` does not exist.
bool FilterTable(const std::string& from, const std::string& to, const std::set<std::string>& keep) {
  std::ifstream in(from);
  if (!in) return false;
  std::string line, out;
  while (std::getline(in, line)) {
    const size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos) continue;
    const size_t end = line.find_first_of(" \t", start);
    if (keep.count(line.substr(start, end - start))) out += line + "\n";
  }
  WriteTextAtomically(to, out);
  return true;
}

}  // namespace

void AddMakeCalibTrialsCommand(CLI::App& app) {
  struct Args {
    std::string data_dir, out_dir, utt2dur;
    CalibrationTrialsOptions options;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "make-calib-trials",
      "QMF calibration trials (short/long x 3 conditions) from a training data dir");
  cmd->add_option("--data-dir", args->data_dir,
                  "training data dir with utt2spk (or spk2utt) and utt2dur, e.g. voxceleb2_dev")
      ->required();
  cmd->add_option("--out-dir", args->out_dir,
                  "output data dir: cali_trials plus wav.scp/utt2spk/spk2utt/utt2dur of the "
                  "utterances used")
      ->required();
  cmd->add_option("--utt2dur", args->utt2dur, "durations (default: DATA_DIR/utt2dur)");
  cmd->add_option("--per-condition", args->options.per_condition,
                  "target and non-target trials per condition (short-short, short-long, "
                  "long-long)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--short-min", args->options.short_min, "shortest 'short' utterance, s")
      ->capture_default_str();
  cmd->add_option("--short-max", args->options.short_max, "'short' means shorter than this, s")
      ->capture_default_str();
  cmd->add_option("--long-min", args->options.long_min, "shortest 'long' utterance, s")
      ->capture_default_str();
  cmd->add_option("--seed", args->options.seed, "random seed")->capture_default_str();
  cmd->callback([args] {
    const std::string utt2dur =
        args->utt2dur.empty() ? args->data_dir + "/utt2dur" : args->utt2dur;
    SN_CHECK(std::filesystem::exists(utt2dur),
             "make-calib-trials: '{}' does not exist (write durations first, or pass --utt2dur)",
             utt2dur);
    const auto utt2spk = ReadUtt2Spk(args->data_dir);
    const Durations durations = ReadUtt2Dur(utt2dur);
    const std::vector<Trial> trials = MakeCalibrationTrials(utt2spk, durations, args->options);
    MakeDirs(args->out_dir);
    std::string text;
    std::set<std::string> used;
    size_t targets = 0;
    for (const Trial& t : trials) {
      text += t.enroll + " " + t.test + (t.target ? " target\n" : " nontarget\n");
      used.insert(t.enroll);
      used.insert(t.test);
      targets += t.target;
    }
    WriteTextAtomically(args->out_dir + "/cali_trials", text);
    std::string u2s, u2d;
    std::map<std::string, std::vector<std::string>> s2u;
    for (const auto& [utt, spk] : utt2spk) {
      if (!used.count(utt)) continue;
      u2s += utt + " " + spk + "\n";
      u2d += fmt::format("{} {:.3f}\n", utt, durations.at(utt));
      s2u[spk].push_back(utt);
    }
    std::string spk2utt;
    for (const auto& [spk, utts] : s2u) {
      spk2utt += spk;
      for (const std::string& u : utts) spk2utt += " " + u;
      spk2utt += "\n";
    }
    WriteTextAtomically(args->out_dir + "/utt2spk", u2s);
    WriteTextAtomically(args->out_dir + "/spk2utt", spk2utt);
    WriteTextAtomically(args->out_dir + "/utt2dur", u2d);
    const bool wav = FilterTable(args->data_dir + "/wav.scp", args->out_dir + "/wav.scp", used);
    spdlog::info("{} calibration trials ({} target, {} non-target) over {} utterances of {} "
                 "speakers in {}{}",
                 trials.size(), targets, trials.size() - targets, used.size(), s2u.size(),
                 args->out_dir, wav ? "" : " (no wav.scp in the source dir)");
  });
}

SPEAKERNET_REGISTER_COMMAND(56, AddMakeCalibTrialsCommand);

}  // namespace speakernet
