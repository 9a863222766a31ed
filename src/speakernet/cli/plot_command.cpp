// `speakernet plot`: DET curves of one or more score files on one trial list, or their
// target/non-target score histograms (spec §7.2 item 7), as SVG or PNG (by the extension).
#include <spdlog/spdlog.h>

#include <filesystem>
#include <memory>

#include "speakernet/cli/commands.h"
#include "speakernet/common/error.h"
#include "speakernet/scoring/cosine_scoring.h"
#include "speakernet/scoring/det_plot.h"
#include "speakernet/scoring/trials.h"

namespace speakernet {

namespace {

std::vector<std::string> SplitComma(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    const size_t end = std::min(s.find(',', start), s.size());
    out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

}  // namespace

void AddPlotCommand(CLI::App& app) {
  struct Args {
    std::string scores, trials, out, hist, names;
    PlotConfig plot;
  };
  auto args = std::make_shared<Args>();
  auto* cmd =
      app.add_subcommand("plot", "DET curves (and score histograms) of score files as SVG or PNG");
  cmd->add_option("--scores", args->scores,
                  "score file(s), comma-separated: one DET curve each ('enroll test score' lines)")
      ->required();
  cmd->add_option("--trials", args->trials,
                  "labelled trial list: '1|0 enroll test' or 'enroll test target|nontarget'")
      ->required();
  cmd->add_option("--out", args->out, "DET plot to write: *.svg or *.png")->required();
  cmd->add_option("--hist", args->hist,
                  "also write target/non-target score histograms (one panel per score file) "
                  "to this *.svg or *.png");
  cmd->add_option("--names", args->names,
                  "legend names, comma-separated (default: the score files' base names)");
  cmd->add_option("--title", args->plot.title, "plot title");
  cmd->add_option("--p-target", args->plot.p_target, "target prior of the marked minDCF point")
      ->capture_default_str();
  cmd->add_option("--c-miss", args->plot.c_miss, "cost of a miss")->capture_default_str();
  cmd->add_option("--c-fa", args->plot.c_fa, "cost of a false alarm")->capture_default_str();
  cmd->add_option("--min-prob", args->plot.min_prob, "lower end of the DET axes (probability)")
      ->capture_default_str();
  cmd->add_option("--max-prob", args->plot.max_prob, "upper end of the DET axes (probability)")
      ->capture_default_str();
  cmd->add_option("--width", args->plot.width, "image width (pixels for PNG, points for SVG)")
      ->capture_default_str();
  cmd->add_option("--height", args->plot.height, "image height (per panel for --hist)")
      ->capture_default_str();
  cmd->add_option("--bins", args->plot.hist_bins, "histogram bins")->capture_default_str();
  cmd->callback([args] {
    args->plot.Validate();
    // Fail on a bad extension before reading anything.
    PlotFormatOf(args->out);
    if (!args->hist.empty()) PlotFormatOf(args->hist);
    const std::vector<std::string> files = SplitComma(args->scores);
    std::vector<std::string> names;
    if (!args->names.empty()) {
      names = SplitComma(args->names);
      SN_CHECK(names.size() == files.size(), "--names gives {} names for {} score files",
               names.size(), files.size());
    }
    const std::vector<Trial> trials = ReadTrials(args->trials);
    const std::vector<int> labels = TrialLabels(trials, args->trials);
    std::vector<PlotSystem> systems;
    for (size_t k = 0; k < files.size(); ++k) {
      SN_CHECK(!files[k].empty(), "--scores '{}' has an empty file name", args->scores);
      PlotSystem s;
      s.name = names.empty() ? std::filesystem::path(files[k]).stem().string() : names[k];
      s.scores = LookupScores(ReadScores(files[k]), trials, files[k]);
      s.labels = labels;
      systems.push_back(std::move(s));
    }
    PlotDet(systems, args->out, args->plot);
    spdlog::info("plot: DET of {} system(s) written to {}", systems.size(), args->out);
    if (!args->hist.empty()) {
      PlotScoreHistograms(systems, args->hist, args->plot);
      spdlog::info("plot: score histograms written to {}", args->hist);
    }
  });
}

SPEAKERNET_REGISTER_COMMAND(65, AddPlotCommand);

}  // namespace speakernet
