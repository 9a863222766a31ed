#include "speakernet/data/data_dir.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <utility>

#include "speakernet/audio/audio_reader.h"
#include "speakernet/common/error.h"
#include "speakernet/common/progress.h"
#include "speakernet/common/text_table.h"

namespace speakernet {

namespace fs = std::filesystem;

namespace {

// fs::exists without the throwing overload: a wav.scp path too long to exist (ENAMETOOLONG) does
// not exist (found by fuzz/data_dir_fuzzer: it escaped as std::filesystem::filesystem_error).
bool Exists(const std::string& path) {
  std::error_code ec;
  return fs::exists(path, ec);
}

// utt2dur files are often written with a few decimals (make_utt2dur.sh: soxi's 6).
constexpr double kRangeDurationTolerance = 0.01;

std::string At(const std::string& file, int line) { return file + ":" + std::to_string(line); }

std::string JoinFields(const std::vector<std::string>& fields) {
  std::string out;
  for (const auto& f : fields) out += (out.empty() ? "" : " ") + f;
  return out;
}

// Parses a finite number; errors name `where` and what the number means.
double ParseSeconds(const std::string& text, const std::string& where, const char* what) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  SN_CHECK(end != text.c_str() && *end == '\0' && std::isfinite(v), "{}: bad {} '{}'", where, what,
           text);
  return v;
}

// Remembers the first line of every key of one table, to report duplicates.
class DuplicateGuard {
 public:
  explicit DuplicateGuard(std::string file) : file_(std::move(file)) {}
  void Add(const TextLine& line) {
    const auto [it, fresh] = first_line_.emplace(line.key, line.line_no);
    SN_CHECK(fresh, "{}: duplicate id '{}' (first on line {})", At(file_, line.line_no), line.key,
             it->second);
  }

 private:
  std::string file_;
  std::unordered_map<std::string, int> first_line_;
};

}  // namespace

// Builds a DataDir step by step; keeps where each utterance was defined for error messages.
class DataDirLoader {
 public:
  explicit DataDirLoader(const std::string& dir) { d_.dir_ = dir; }

  DataDir Load() {
    SN_CHECK(fs::is_directory(d_.dir_), "data directory not found: {}", d_.dir_);
    ReadWavScp();
    if (fs::exists(File("segments"))) {
      ReadSegments();
    } else {
      UtterancesFromRecordings();
    }
    ReadSpeakers();
    ReadDurations();
    ReadLanguages();
    return std::move(d_);
  }

 private:
  struct Recording {
    std::string spec;
    int line_no;
    double range_seconds = -1;  // `path start end`: (end - start) / the file's rate
  };

  std::string File(const char* name) const { return (fs::path(d_.dir_) / name).string(); }

  void ReadWavScp() {
    const std::string path = File("wav.scp");
    SN_CHECK(fs::exists(path), "{} is missing (required in a data directory)", path);
    DuplicateGuard guard(path);
    for (const auto& line : ReadTextTable(path, 1)) {
      guard.Add(line);
      const std::string where = At(path, line.line_no);
      Recording rec{JoinFields(line.fields), line.line_no};
      try {
        CheckAudioSpec(line, rec);
      } catch (const Error& e) {
        Fail(fmt::format("{}: recording '{}': {}", where, line.key, e.what()));
      }
      rec_order_.push_back(line.key);
      recordings_.emplace(line.key, std::move(rec));
    }
  }

  // Checks one wav.scp entry's form and that its files exist; a sample range's header is read
  // so that its end is checked here and its duration is known without probing later.
  static void CheckAudioSpec(const TextLine& line, Recording& rec) {
    const AudioSpec spec = ParseAudioSpec(rec.spec);
    switch (spec.kind) {
      case AudioSpec::Kind::kPipe:
        return;
      case AudioSpec::Kind::kConcat:
        for (const auto& f : spec.files) {
          SN_CHECK(Exists(f), "audio file '{}' (in its sox file list) does not exist", f);
        }
        return;
      case AudioSpec::Kind::kFile:
        SN_CHECK(line.fields.size() == 1,
                 "expected `id path`, `id path start end` (sample indices) or `id command ... |` "
                 "(a pipe must end with '|'), got '{}'",
                 rec.spec);
        SN_CHECK(Exists(rec.spec), "audio file '{}' does not exist", rec.spec);
        return;
      case AudioSpec::Kind::kRange: {
        SN_CHECK(Exists(spec.files[0]), "audio file '{}' does not exist", spec.files[0]);
        const AudioInfo info = ProbeAudio(rec.spec);  // checks end <= the file's length
        rec.range_seconds = info.Seconds();
        return;
      }
    }
  }

  void AddUtterance(Utterance u, std::string origin) {
    d_.utt_index_.emplace(u.id, d_.utts_.size());
    d_.utts_.push_back(std::move(u));
    origin_.push_back(std::move(origin));
  }

  void UtterancesFromRecordings() {
    for (const auto& id : rec_order_) {
      const Recording& rec = recordings_.at(id);
      Utterance u;
      u.id = u.recording = id;
      u.wav = rec.spec;
      u.duration = rec.range_seconds;
      AddUtterance(std::move(u), At(File("wav.scp"), rec.line_no));
    }
  }

  void ReadSegments() {
    const std::string path = File("segments");
    DuplicateGuard guard(path);
    for (const auto& line : ReadTextTable(path, 3, 3)) {
      guard.Add(line);
      const std::string where = At(path, line.line_no);
      const auto rec = recordings_.find(line.fields[0]);
      SN_CHECK(rec != recordings_.end(), "{}: unknown recording '{}' (not in wav.scp)", where,
               line.fields[0]);
      // Both cut the same recording; composing them (segment times inside the sample range) is
      // easy to misread, so one utterance has one cut.
      SN_CHECK(rec->second.range_seconds < 0,
               "{}: recording '{}' is a sample range `path start end` ({}); segments of a sample "
               "range are not supported: give the file path in wav.scp and the cut in segments",
               where, line.fields[0], At(File("wav.scp"), rec->second.line_no));
      Utterance u;
      u.id = line.key;
      u.recording = line.fields[0];
      u.wav = rec->second.spec;
      u.start = ParseSeconds(line.fields[1], where, "start time");
      u.end = ParseSeconds(line.fields[2], where, "end time");
      SN_CHECK(u.start >= 0, "{}: negative start time {}", where, u.start);
      SN_CHECK(u.end > u.start, "{}: end time {} is not after start time {}", where, u.end,
               u.start);
      u.duration = u.end - u.start;
      AddUtterance(std::move(u), where);
    }
  }

  // Index of a known utterance, or an error naming where it was referenced.
  size_t UttIndex(const std::string& utt, const std::string& where) const {
    const auto it = d_.utt_index_.find(utt);
    SN_CHECK(it != d_.utt_index_.end(), "{}: utterance '{}' is not in {}", where, utt,
             OriginFileName());
    return it->second;
  }

  std::string OriginFileName() const {
    return fs::exists(File("segments")) ? std::string("segments") : std::string("wav.scp");
  }

  void ReadSpeakers() {
    const bool has_u2s = fs::exists(File("utt2spk")), has_s2u = fs::exists(File("spk2utt"));
    d_.has_speaker_labels_ = has_u2s || has_s2u;
    if (!d_.has_speaker_labels_) {
      spdlog::info("{}: no utt2spk or spk2utt; every utterance is its own speaker", d_.dir_);
      for (auto& u : d_.utts_) u.speaker = u.id;
    }
    if (has_u2s) ReadUtt2Spk();
    if (has_s2u) ReadSpk2Utt(has_u2s);
    std::set<std::string> speakers;
    for (const auto& u : d_.utts_) speakers.insert(u.speaker);
    d_.speakers_.assign(speakers.begin(), speakers.end());
    for (size_t i = 0; i < d_.speakers_.size(); ++i) d_.spk_index_[d_.speakers_[i]] = int(i);
  }

  // Reads a `utt value` table that must name every utterance exactly once; returns the line
  // number of each utterance's entry after `set(utterance index, value)` stored the values.
  template <class Set>
  std::vector<int> ReadPerUtterance(const std::string& path, Set set) {
    DuplicateGuard guard(path);
    std::vector<int> line_of(d_.utts_.size(), 0);
    for (const auto& line : ReadTextTable(path, 1, 1)) {
      guard.Add(line);
      const size_t i = UttIndex(line.key, At(path, line.line_no));
      set(i, line.fields[0]);
      line_of[i] = line.line_no;
    }
    for (size_t i = 0; i < d_.utts_.size(); ++i) {
      SN_CHECK(line_of[i] > 0, "{}: utterance '{}' has no entry in {}", origin_[i], d_.utts_[i].id,
               path);
    }
    return line_of;
  }

  void ReadUtt2Spk() {
    utt2spk_line_ = ReadPerUtterance(
        File("utt2spk"), [this](size_t i, const std::string& spk) { d_.utts_[i].speaker = spk; });
  }

  // With utt2spk: checks agreement. Without: takes the speakers from spk2utt.
  void ReadSpk2Utt(bool has_u2s) {
    const std::string path = File("spk2utt");
    DuplicateGuard guard(path);
    std::vector<int> listed_on(d_.utts_.size(), 0);
    for (const auto& line : ReadTextTable(path, 1)) {
      guard.Add(line);
      const std::string where = At(path, line.line_no);
      for (const auto& utt : line.fields) {
        const size_t i = UttIndex(utt, where);
        SN_CHECK(listed_on[i] == 0, "{}: utterance '{}' is already listed on line {}", where, utt,
                 listed_on[i]);
        listed_on[i] = line.line_no;
        Utterance& u = d_.utts_[i];
        SN_CHECK(!has_u2s || u.speaker == line.key,
                 "{}: utterance '{}' is listed under speaker '{}' but {} says '{}'", where, utt,
                 line.key, At(File("utt2spk"), utt2spk_line_[i]), u.speaker);
        u.speaker = line.key;
      }
    }
    for (size_t i = 0; i < d_.utts_.size(); ++i) {
      if (listed_on[i] > 0) continue;
      SN_CHECK(!has_u2s, "{}: utterance '{}' (speaker '{}') is missing from {}",
               At(File("utt2spk"), utt2spk_line_[i]), d_.utts_[i].id, d_.utts_[i].speaker, path);
      Fail(fmt::format("{}: utterance '{}' has no entry in {}", origin_[i], d_.utts_[i].id, path));
    }
  }

  void ReadDurations() {
    const std::string path = File("utt2dur");
    if (!fs::exists(path)) return;
    DuplicateGuard guard(path);
    for (const auto& line : ReadTextTable(path, 1, 1)) {
      guard.Add(line);
      const std::string where = At(path, line.line_no);
      const double dur = ParseSeconds(line.fields[0], where, "duration");
      SN_CHECK(dur >= 0, "{}: negative duration {}", where, dur);
      Utterance& u = d_.utts_[UttIndex(line.key, where)];
      if (recordings_.at(u.recording).range_seconds >= 0 && !u.IsSegment()) {
        // A sample range's length is exact (end - start); a table that disagrees is stale.
        SN_CHECK(std::abs(dur - u.duration) <= kRangeDurationTolerance,
                 "{}: duration {} of '{}' disagrees with its sample range {} ({} s)", where, dur,
                 u.id, u.wav, u.duration);
        continue;
      }
      u.duration = dur;
    }
  }

  // utt2lang: exactly one `utt language` line per utterance.
  void ReadLanguages() {
    const std::string path = File("utt2lang");
    if (!fs::exists(path)) return;
    ReadPerUtterance(path,
                     [this](size_t i, const std::string& lang) { d_.utts_[i].language = lang; });
    d_.has_languages_ = true;
  }

  DataDir d_;
  std::vector<std::string> rec_order_;
  std::unordered_map<std::string, Recording> recordings_;
  std::vector<std::string> origin_;  // "file:line" that defined each utterance
  std::vector<int> utt2spk_line_;
};

DataDir DataDir::Load(const std::string& dir) { return DataDirLoader(dir).Load(); }

int DataDir::SpeakerIndex(const std::string& spk) const {
  const auto it = spk_index_.find(spk);
  SN_CHECK(it != spk_index_.end(), "unknown speaker '{}' in data directory {}", spk, dir_);
  return it->second;
}

const Utterance& DataDir::Find(const std::string& utt_id) const {
  const auto it = utt_index_.find(utt_id);
  SN_CHECK(it != utt_index_.end(), "unknown utterance '{}' in data directory {}", utt_id, dir_);
  return utts_[it->second];
}

std::map<std::string, std::vector<std::string>> DataDir::Spk2Utt() const {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& u : utts_) out[u.speaker].push_back(u.id);
  return out;
}

void DataDir::EnsureDurations() {
  int64_t missing = 0;
  for (const auto& u : utts_) missing += u.duration < 0;
  if (missing == 0) return;
  ProgressMeter progress("probing audio durations in " + dir_, missing, "files");
  for (auto& u : utts_) {
    if (u.duration >= 0) continue;
    try {
      u.duration = ProbeAudio(u.wav).Seconds();
    } catch (const Error& e) {
      Fail(fmt::format("utterance {}: {}", u.id, e.what()));
    }
    progress.Advance();
  }
  progress.Finish();
}

namespace {
// Segment bounds in samples at `rate`: [begin, begin + length).
std::pair<int64_t, int64_t> SegmentSamples(const Utterance& u, int rate) {
  const int64_t begin = std::llround(u.start * rate);
  return {begin, std::llround(u.end * rate) - begin};
}
}  // namespace

int64_t UtteranceSamples(const Utterance& u, int rate) {
  if (u.IsSegment()) return SegmentSamples(u, rate).second;
  SN_CHECK(u.duration >= 0,
           "utterance {}: duration unknown (no utt2dur entry and DataDir::EnsureDurations() was "
           "not called)",
           u.id);
  return std::llround(u.duration * rate);
}

std::vector<float> LoadUtteranceAudio(const Utterance& u, int rate, int64_t offset, int64_t num) {
  try {
    if (!u.IsSegment()) return ReadAudio(u.wav, rate, offset, num);
    const auto [begin, length] = SegmentSamples(u, rate);
    if (num < 0) num = length - offset;
    SN_CHECK(offset >= 0 && num >= 0 && offset + num <= length,
             "requested samples [{}, {}) of a {}-sample segment of {}", offset, offset + num,
             length, u.recording);
    return ReadAudio(u.wav, rate, begin + offset, num);
  } catch (const Error& e) {
    Fail(fmt::format("utterance {}: {}", u.id, e.what()));
  }
}

}  // namespace speakernet
