#include "speakernet/audio/audio_reader.h"

#include <sndfile.h>
#include <soxr.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <unordered_set>

#include "speakernet/common/atomic_file.h"
#include "speakernet/common/error.h"

namespace speakernet {

namespace {

// is_regular_file without the throwing overload: a spec that is no usable path (too long, ...)
// is simply not a file (found by fuzz/data_dir_fuzzer: ENAMETOOLONG escaped as filesystem_error).
bool IsFile(const std::string& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}

// ---- Pipes ---------------------------------------------------------------------------------

std::string StripPipe(const std::string& spec) {
  std::string cmd = spec;
  while (!cmd.empty() && std::isspace(static_cast<unsigned char>(cmd.back()))) cmd.pop_back();
  cmd.pop_back();  // the '|'
  return cmd;
}

// Runs the command of a pipe spec and returns its whole stdout.
std::string RunPipe(const std::string& spec) {
  const std::string cmd = StripPipe(spec);
  FILE* pipe = ::popen(cmd.c_str(), "r");
  SN_CHECK(pipe != nullptr, "cannot start pipe '{}': {}", spec, std::strerror(errno));
  std::string out;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0) out.append(buf, n);
  const int status = ::pclose(pipe);
  SN_CHECK(status == 0, "pipe '{}' failed (exit status {})", spec,
           WIFEXITED(status) ? WEXITSTATUS(status) : status);
  SN_CHECK(!out.empty(), "pipe '{}' produced no output", spec);
  return out;
}

// ---- libsndfile on memory ------------------------------------------------------------------

struct MemoryFile {
  std::string data;
  sf_count_t pos = 0;
};

sf_count_t MemLength(void* user) { return static_cast<MemoryFile*>(user)->data.size(); }

sf_count_t MemSeek(sf_count_t offset, int whence, void* user) {
  auto* m = static_cast<MemoryFile*>(user);
  const sf_count_t size = m->data.size();
  sf_count_t pos = whence == SEEK_SET   ? offset
                   : whence == SEEK_CUR ? m->pos + offset
                                        : size + offset;
  m->pos = std::clamp<sf_count_t>(pos, 0, size);
  return m->pos;
}

sf_count_t MemRead(void* ptr, sf_count_t count, void* user) {
  auto* m = static_cast<MemoryFile*>(user);
  const sf_count_t n = std::min<sf_count_t>(count, m->data.size() - m->pos);
  std::memcpy(ptr, m->data.data() + m->pos, n);
  m->pos += n;
  return n;
}

sf_count_t MemWrite(const void*, sf_count_t, void*) { return 0; }  // read-only
sf_count_t MemTell(void* user) { return static_cast<MemoryFile*>(user)->pos; }

// An open SNDFILE on a path or on a pipe's captured output; closes on destruction.
class SoundFile {
 public:
  explicit SoundFile(const std::string& spec) : spec_(spec) {
    if (IsPipeSpec(spec)) {
      memory_ = std::make_unique<MemoryFile>();
      memory_->data = RunPipe(spec);
      vio_ = {MemLength, MemSeek, MemRead, MemWrite, MemTell};
      file_ = sf_open_virtual(&vio_, SFM_READ, &info_, memory_.get());
    } else {
      SN_CHECK(IsFile(spec), "audio file not found: {}", spec);
      file_ = sf_open(spec.c_str(), SFM_READ, &info_);
    }
    SN_CHECK(file_ != nullptr, "cannot decode audio {}: {}", spec, sf_strerror(nullptr));
    // The destructor does not run when the constructor throws: close here (found by
    // fuzz/audio_fuzzer under LeakSanitizer).
    const char* problem = nullptr;
    if (info_.channels <= 0 || info_.samplerate <= 0) problem = "has no channels or rate";
    // libsndfile's "unknown length" (e.g. a FLAC stream whose header has no sample count).
    if (info_.frames < 0 || info_.frames == SF_COUNT_MAX) {
      problem =
          "does not state its length (a stream without a sample count); convert it to a "
          "file that does, e.g. with sox";
    }
    if (problem != nullptr) {
      sf_close(file_);
      Fail(fmt::format("audio {} {}", spec, problem));
    }
  }
  ~SoundFile() { sf_close(file_); }
  SoundFile(const SoundFile&) = delete;
  SoundFile& operator=(const SoundFile&) = delete;

  AudioInfo info() const { return {info_.samplerate, info_.channels, info_.frames}; }

  void Seek(int64_t frame) {
    if (frame == pos_) return;
    SN_CHECK(sf_seek(file_, frame, SEEK_SET) == frame, "cannot seek to sample {} in {}: {}", frame,
             spec_, sf_strerror(file_));
    pos_ = frame;
  }

  // Reads `frames` frames from the current position and keeps channel 0. The output grows with
  // the data actually decoded, in blocks, so a header that claims far more samples than the
  // file holds costs no more memory than the file before the short read is reported (found by
  // fuzz/audio_fuzzer: a 2 KB FLAC claiming 2^36 samples allocated them all up front).
  std::vector<float> ReadChannel0(int64_t frames) {
    const int ch = info_.channels;
    const int64_t block = std::max<int64_t>(1, (int64_t{1} << 16) / ch);
    std::vector<float> out;
    out.reserve(static_cast<size_t>(std::min(frames, 16 * block)));
    std::vector<float> interleaved(ch == 1 ? 0 : static_cast<size_t>(std::min(frames, block) * ch));
    pos_ += frames;  // CheckRead throws on a short read, so this is where the file now is
    for (int64_t done = 0; done < frames;) {
      const int64_t want = std::min(block, frames - done);
      if (ch == 1) {
        out.resize(static_cast<size_t>(done + want));
        CheckRead(sf_readf_float(file_, out.data() + done, want), want);
      } else {
        CheckRead(sf_readf_float(file_, interleaved.data(), want), want);
        for (int64_t i = 0; i < want; ++i) out.push_back(interleaved[i * ch]);
      }
      done += want;
    }
    return out;
  }

 private:
  void CheckRead(sf_count_t got, int64_t want) {
    SN_CHECK(got == want, "audio {} is truncated or corrupt: read {} of {} samples ({})", spec_,
             got, want, sf_strerror(file_));
  }

  std::string spec_;
  std::unique_ptr<MemoryFile> memory_;
  SF_VIRTUAL_IO vio_{};
  SF_INFO info_{};
  SNDFILE* file_ = nullptr;
  int64_t pos_ = 0;  // current frame, so that sequential reads need no seek
};

// ---- Spec parsing --------------------------------------------------------------------------

std::vector<std::string> SplitWords(const std::string& text) {
  std::vector<std::string> words;
  size_t i = 0;
  while (true) {
    i = text.find_first_not_of(" \t\r\n", i);
    if (i == std::string::npos) return words;
    const size_t j = std::min(text.find_first_of(" \t\r\n", i), text.size());
    words.push_back(text.substr(i, j - i));
    i = j;
  }
}

// A word the shell passes to sox unchanged and sox reads as an input file name: no option
// (leading '-'), no quoting, globbing, expansion or redirection. Anything else keeps the pipe.
bool IsPlainFileWord(const std::string& w) {
  if (w.empty() || w[0] == '-') return false;
  return std::all_of(w.begin(), w.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x80 || std::isalnum(u) || std::strchr("/._-+,:@%=", c) != nullptr;
  });
}

// `start` / `end` of a `path start end` spec: a non-negative decimal integer.
int64_t ParseSampleIndex(const std::string& word, const char* what, const std::string& spec) {
  const bool negative = !word.empty() && word[0] == '-';
  const std::string digits = negative ? word.substr(1) : word;
  SN_CHECK(!digits.empty() && std::all_of(digits.begin(), digits.end(),
                                          [](char c) { return c >= '0' && c <= '9'; }),
           "audio spec '{}': {} '{}' is not an integer sample index (`path start end` counts "
           "samples of the file at its own rate, not seconds)",
           spec, what, word);
  SN_CHECK(!negative, "audio spec '{}': {} sample index {} is negative", spec, what, word);
  errno = 0;
  const long long v = std::strtoll(digits.c_str(), nullptr, 10);
  SN_CHECK(errno == 0, "audio spec '{}': {} sample index {} is out of range", spec, what, word);
  return v;
}

// The audio behind a spec at its own rate: one file, a range of one file, the concatenation of
// files, or a pipe's output. Reads channel 0.
class AudioSource {
 public:
  explicit AudioSource(const std::string& spec) : spec_(spec) {
    const AudioSpec parsed = ParseAudioSpec(spec);
    if (parsed.kind == AudioSpec::Kind::kConcat && OpenConcat(parsed.files)) return;
    // A plain file, a generic pipe, or a sox concatenation libsndfile cannot decode (run as sox).
    parts_.push_back(std::make_unique<SoundFile>(
        parsed.kind == AudioSpec::Kind::kRange ? parsed.files[0] : spec));
    info_ = parts_[0]->info();
    starts_ = {0};
    if (parsed.kind == AudioSpec::Kind::kRange) {
      SN_CHECK(parsed.end <= info_.frames,
               "audio spec '{}': sample range [{}, {}) ends beyond the end of {} ({} samples at "
               "{} Hz)",
               spec, parsed.begin, parsed.end, parsed.files[0], info_.frames, info_.sample_rate);
      base_ = parsed.begin;
      info_.frames = parsed.end - parsed.begin;
    }
  }

  const AudioInfo& info() const { return info_; }

  // Samples [offset, offset + num) of the source (the caller checked the range).
  std::vector<float> Read(int64_t offset, int64_t num) {
    if (parts_.size() == 1) {
      parts_[0]->Seek(base_ + offset);
      return parts_[0]->ReadChannel0(num);
    }
    std::vector<float> out;
    out.reserve(static_cast<size_t>(std::min<int64_t>(num, int64_t{1} << 20)));  // grows with data
    for (size_t k = 0; k < parts_.size() && num > 0; ++k) {
      const int64_t len = parts_[k]->info().frames;
      const int64_t local = offset - starts_[k];
      if (local >= len) continue;
      const int64_t take = std::min(num, len - local);
      parts_[k]->Seek(local);
      const std::vector<float> piece = parts_[k]->ReadChannel0(take);
      out.insert(out.end(), piece.begin(), piece.end());
      offset += take;
      num -= take;
    }
    return out;
  }

 private:
  // Opens every file of a `sox f1 f2 ... -t wav - |` spec. False (nothing kept) when libsndfile
  // cannot decode one of them: sox may still (e.g. mp3), so the caller runs the pipe.
  bool OpenConcat(const std::vector<std::string>& files) {
    int64_t total = 0;
    for (const auto& f : files) {
      SN_CHECK(IsFile(f), "audio file not found: {} (listed in '{}')", f, spec_);
      try {
        parts_.push_back(std::make_unique<SoundFile>(f));
      } catch (const Error& e) {
        spdlog::debug("{}: running sox ({})", spec_, e.what());
        parts_.clear();
        return false;
      }
      const AudioInfo part = parts_.back()->info();
      const AudioInfo& first = parts_[0]->info();
      // sox refuses these too ("Input files must have the same sample-rate / # channels").
      SN_CHECK(part.sample_rate == first.sample_rate && part.channels == first.channels,
               "audio spec '{}': cannot concatenate {} ({} Hz, {} channels) after {} ({} Hz, {} "
               "channels): the files must share rate and channel count",
               spec_, f, part.sample_rate, part.channels, files[0], first.sample_rate,
               first.channels);
      starts_.push_back(total);
      total += part.frames;
    }
    info_ = parts_[0]->info();
    info_.frames = total;
    return true;
  }

  std::string spec_;
  std::vector<std::unique_ptr<SoundFile>> parts_;
  std::vector<int64_t> starts_;  // first sample of each part within the source
  int64_t base_ = 0;             // a range's first sample within its file
  AudioInfo info_;
};

// ---- Process-wide bookkeeping --------------------------------------------------------------

std::mutex g_seen_mutex;
std::unordered_set<std::string> g_multichannel_warned, g_resampled;
std::atomic<int64_t> g_resampled_count{0};

void NoteMultichannel(const std::string& spec, int channels) {
  std::lock_guard<std::mutex> lock(g_seen_mutex);
  if (g_multichannel_warned.insert(spec).second) {
    spdlog::warn("{} has {} channels; using channel 0", spec, channels);
  }
}

void NoteResampled(const std::string& spec, int from, int to) {
  std::lock_guard<std::mutex> lock(g_seen_mutex);
  if (!g_resampled.insert(spec).second) return;
  // Logged once per process: a whole 8 kHz corpus would otherwise flood the log.
  if (g_resampled_count.fetch_add(1) == 0) {
    spdlog::warn("resampling {} from {} Hz to {} Hz (further files are only counted)", spec, from,
                 to);
  }
}

// Resolves num = -1 and checks that [offset, offset + num) lies within [0, total).
int64_t CheckRange(const std::string& spec, int64_t offset, int64_t num, int64_t total, int rate) {
  if (num < 0) num = total - offset;
  SN_CHECK(offset >= 0 && num >= 0 && offset + num <= total,
           "audio {}: requested samples [{}, {}) but it has {} samples at {} Hz", spec, offset,
           offset + num, total, rate);
  return num;
}

int16_t ToInt16(float x) {
  if (std::isnan(x)) return 0;
  const double v = std::nearbyint(double(x) * 32768.0);
  return static_cast<int16_t>(std::clamp(v, -32768.0, 32767.0));
}

}  // namespace

bool IsPipeSpec(const std::string& spec) {
  const auto last = spec.find_last_not_of(" \t\r\n");
  return last != std::string::npos && spec[last] == '|';
}

AudioSpec ParseAudioSpec(const std::string& spec) {
  AudioSpec out;
  if (IsPipeSpec(spec)) {
    out.kind = AudioSpec::Kind::kPipe;
    // `sox f1 ... fn -t wav - |`, exactly (speaker-net's multi-file utterance).
    const std::vector<std::string> w = SplitWords(StripPipe(spec));
    const size_t n = w.size();
    if (n >= 5 && w[0] == "sox" && w[n - 3] == "-t" && w[n - 2] == "wav" && w[n - 1] == "-" &&
        std::all_of(w.begin() + 1, w.end() - 3, IsPlainFileWord)) {
      out.kind = AudioSpec::Kind::kConcat;
      out.files.assign(w.begin() + 1, w.end() - 3);
    }
    return out;
  }
  const std::vector<std::string> w = SplitWords(spec);
  if (w.size() == 3 && !IsFile(spec)) {
    out.kind = AudioSpec::Kind::kRange;
    out.files = {w[0]};
    out.begin = ParseSampleIndex(w[1], "start", spec);
    out.end = ParseSampleIndex(w[2], "end", spec);
    SN_CHECK(out.end > out.begin,
             "audio spec '{}': end sample {} is not after start sample {} (the range is [start, "
             "end))",
             spec, out.end, out.begin);
    return out;
  }
  out.files = {spec};
  return out;
}

AudioInfo ProbeAudio(const std::string& spec) { return AudioSource(spec).info(); }

int64_t AudioLength(const AudioInfo& info, int target_rate) {
  if (info.sample_rate == target_rate) return info.frames;
  return (info.frames * target_rate + info.sample_rate - 1) / info.sample_rate;
}

std::vector<float> ReadAudio(const std::string& spec, int target_rate, int64_t offset,
                             int64_t num_samples) {
  SN_CHECK(target_rate > 0, "ReadAudio({}): target rate must be > 0, got {}", spec, target_rate);
  AudioSource file(spec);
  const AudioInfo info = file.info();
  if (info.channels > 1) NoteMultichannel(spec, info.channels);
  if (info.sample_rate == target_rate) {
    const int64_t num = CheckRange(spec, offset, num_samples, info.frames, target_rate);
    return file.Read(offset, num);
  }
  // Resampling a slice would differ from the slice of the resampled file at its edges, so the
  // whole file is resampled; such files are rare and counted.
  NoteResampled(spec, info.sample_rate, target_rate);
  std::vector<float> all = Resample(file.Read(0, info.frames), info.sample_rate, target_rate);
  const int64_t num = CheckRange(spec, offset, num_samples, all.size(), target_rate);
  if (offset == 0 && num == static_cast<int64_t>(all.size())) return all;
  return std::vector<float>(all.begin() + offset, all.begin() + offset + num);
}

std::vector<float> Resample(const std::vector<float>& x, int from_rate, int to_rate) {
  SN_CHECK(from_rate > 0 && to_rate > 0, "Resample: rates must be > 0, got {} -> {}", from_rate,
           to_rate);
  if (from_rate == to_rate || x.empty()) return x;
  const auto n = static_cast<int64_t>(x.size());
  std::vector<float> y((n * to_rate + from_rate - 1) / from_rate, 0.0f);
  const soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
  const soxr_quality_spec_t quality = soxr_quality_spec(SOXR_HQ, 0);
  size_t idone = 0, odone = 0;
  const soxr_error_t err = soxr_oneshot(from_rate, to_rate, 1, x.data(), x.size(), &idone, y.data(),
                                        y.size(), &odone, &io, &quality, nullptr);
  SN_CHECK(err == nullptr, "resampling {} -> {} Hz failed: {}", from_rate, to_rate, err);
  // soxr may emit one sample fewer than the ceil() length; that tail sample stays zero.
  SN_CHECK(y.size() - odone <= 1, "resampling {} -> {} Hz produced {} of {} samples", from_rate,
           to_rate, odone, y.size());
  return y;
}

int64_t ResampledFileCount() { return g_resampled_count.load(); }

void WriteWav(const std::string& path, const std::vector<float>& samples, int rate) {
  std::vector<int16_t> pcm(samples.size());
  std::transform(samples.begin(), samples.end(), pcm.begin(), ToInt16);
  WriteFileAtomically(path, [&](const std::string& tmp) {
    SF_INFO info{};
    info.samplerate = rate;
    info.channels = 1;
    info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
    SNDFILE* file = sf_open(tmp.c_str(), SFM_WRITE, &info);
    SN_CHECK(file != nullptr, "cannot write {}: {}", path, sf_strerror(nullptr));
    const sf_count_t written = sf_writef_short(file, pcm.data(), pcm.size());
    const int close_err = sf_close(file);
    SN_CHECK(written == static_cast<sf_count_t>(pcm.size()) && close_err == 0,
             "cannot write {}: short write", path);
  });
}

}  // namespace speakernet
