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
      SN_CHECK(std::filesystem::is_regular_file(spec), "audio file not found: {}", spec);
      file_ = sf_open(spec.c_str(), SFM_READ, &info_);
    }
    SN_CHECK(file_ != nullptr, "cannot decode audio {}: {}", spec, sf_strerror(nullptr));
    SN_CHECK(info_.channels > 0 && info_.samplerate > 0, "audio {} has no channels or rate", spec);
  }
  ~SoundFile() { sf_close(file_); }
  SoundFile(const SoundFile&) = delete;
  SoundFile& operator=(const SoundFile&) = delete;

  AudioInfo info() const { return {info_.samplerate, info_.channels, info_.frames}; }

  void Seek(int64_t frame) {
    if (frame == 0) return;
    SN_CHECK(sf_seek(file_, frame, SEEK_SET) == frame, "cannot seek to sample {} in {}: {}", frame,
             spec_, sf_strerror(file_));
  }

  // Reads `frames` frames from the current position and keeps channel 0.
  std::vector<float> ReadChannel0(int64_t frames) {
    const int ch = info_.channels;
    std::vector<float> out(frames);
    if (ch == 1) {
      CheckRead(sf_readf_float(file_, out.data(), frames), frames);
      return out;
    }
    constexpr int64_t kBlock = 8192;
    std::vector<float> interleaved(kBlock * ch);
    for (int64_t done = 0; done < frames;) {
      const int64_t want = std::min(kBlock, frames - done);
      CheckRead(sf_readf_float(file_, interleaved.data(), want), want);
      for (int64_t i = 0; i < want; ++i) out[done + i] = interleaved[i * ch];
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

AudioInfo ProbeAudio(const std::string& spec) { return SoundFile(spec).info(); }

int64_t AudioLength(const AudioInfo& info, int target_rate) {
  if (info.sample_rate == target_rate) return info.frames;
  return (info.frames * target_rate + info.sample_rate - 1) / info.sample_rate;
}

std::vector<float> ReadAudio(const std::string& spec, int target_rate, int64_t offset,
                             int64_t num_samples) {
  SN_CHECK(target_rate > 0, "ReadAudio({}): target rate must be > 0, got {}", spec, target_rate);
  SoundFile file(spec);
  const AudioInfo info = file.info();
  if (info.channels > 1) NoteMultichannel(spec, info.channels);
  if (info.sample_rate == target_rate) {
    const int64_t num = CheckRange(spec, offset, num_samples, info.frames, target_rate);
    file.Seek(offset);
    return file.ReadChannel0(num);
  }
  // Resampling a slice would differ from the slice of the resampled file at its edges, so the
  // whole file is resampled; such files are rare and counted.
  NoteResampled(spec, info.sample_rate, target_rate);
  std::vector<float> all = Resample(file.ReadChannel0(info.frames), info.sample_rate, target_rate);
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
