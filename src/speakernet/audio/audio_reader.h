// Waveform input/output. Every waveform in speakernet is mono float32 in [-1, 1] at one
// sample rate (16 kHz by default): this is the only place that knows about containers, sample
// formats, channel counts and rates.
//
// An audio "spec" is what a Kaldi wav.scp holds after the utterance id (speaker-net's three
// forms, spec section 2.1, plus any pipe):
//  * `path`: a file (wav/flac/ogg, anything libsndfile reads);
//  * `path start end`: samples [start, end) of the file, counted at the FILE's own rate (integers,
//    0 <= start < end <= file length). It behaves exactly like a file holding only those samples:
//    only the range is decoded (seek), and with resampling the range is cut first and then
//    resampled, so it equals the same read of a pre-cut file at any target rate;
//  * `sox f1 f2 ... -t wav - |`: the files concatenated in time. Read natively (libsndfile, no sox
//    process, headers only for ProbeAudio, seeks for ranged reads) when every fi is a plain word
//    (no option, no shell syntax) and libsndfile decodes it; otherwise run as a generic pipe.
//    Like sox, the files must share rate and channel count;
//  * any other `command ... |`: a pipe whose stdout is an audio file. It is run to completion and
//    its output decoded from memory, so ranged reads of pipes cost a full run of the command.
// A spec that names an existing file as a whole is always that file (paths with spaces).
// Conventions (chosen to match torchaudio.load, which the reference recipes use):
//  * integer PCM is scaled by 1/2^(bits-1), e.g. int16 x -> x / 32768;
//  * multi-channel audio: channel 0 is used and a warning is logged once per spec;
//  * a file at another rate is resampled with libsoxr (high quality) to the target rate, and
//    counted (ResampledFileCount) so that callers can report how many files needed it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace speakernet {

struct AudioInfo {
  int sample_rate = 0;
  int channels = 0;
  int64_t frames = 0;  // samples per channel at sample_rate

  double Seconds() const { return sample_rate > 0 ? double(frames) / sample_rate : 0.0; }
};

// True when `spec` is a Kaldi pipe (last non-blank character is '|').
bool IsPipeSpec(const std::string& spec);

// A spec split into its form (see above). Only the syntax is checked: files are not opened.
struct AudioSpec {
  enum class Kind { kFile, kRange, kConcat, kPipe };
  Kind kind = Kind::kFile;
  std::vector<std::string> files;  // kFile, kRange: the path; kConcat: the files in time order
  int64_t begin = 0, end = 0;      // kRange: samples [begin, end) at the file's own rate
};

// Throws Error naming the spec for a malformed `path start end` (start or end not a decimal
// integer, negative, or end <= start). Whether end lies within the file is checked on opening
// (ProbeAudio, ReadAudio).
AudioSpec ParseAudioSpec(const std::string& spec);

// Reads only the header of a file (a pipe is run in full). Throws Error naming the spec.
AudioInfo ProbeAudio(const std::string& spec);

// Reads `num_samples` samples starting at `offset` (both counted at `target_rate`; -1 = to the
// end) as mono float32. Without resampling only the requested range is decoded (files are
// seeked). With resampling the whole file is resampled and then sliced, so a ranged read always
// equals the same slice of a full read. A range beyond the end is an Error naming the spec.
std::vector<float> ReadAudio(const std::string& spec, int target_rate = 16000, int64_t offset = 0,
                             int64_t num_samples = -1);

// Length of ReadAudio(spec, target_rate) without decoding when no resampling is needed.
int64_t AudioLength(const AudioInfo& info, int target_rate);

// High-quality (SOXR_HQ) resampling of a mono signal. The output has exactly
// ceil(x.size() * to_rate / from_rate) samples, like torchaudio's resample.
std::vector<float> Resample(const std::vector<float>& x, int from_rate, int to_rate);

// Number of distinct specs that ReadAudio has had to resample in this process.
int64_t ResampledFileCount();

// Writes 16-bit PCM mono WAV atomically. Samples are scaled by 32768 (clipped to int16), the
// exact inverse of the reading convention, so k/32768 round-trips bit-exactly.
void WriteWav(const std::string& path, const std::vector<float>& samples, int rate);

}  // namespace speakernet
