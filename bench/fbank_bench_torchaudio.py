"""torchaudio side of fbank_bench (run by the benchmark with /usr/bin/python3, 1 thread).

usage: fbank_bench_torchaudio.py MIN_SECONDS NAME:BATCH:LENGTH ...
Prints one line per case:
"NAME melspec_cpu melspec_wall pipeline_cpu pipeline_wall kaldi_cpu kaldi_wall", the median
per-call thread CPU time and wall time in ms of
  melspec:  torchaudio.transforms.MelSpectrogram alone (speaker-net's settings),
  pipeline: speaker-net's whole "fbank" front end (pre-emphasis, MelSpectrogram, log, CMN), and
  kaldi:    torchaudio.compliance.kaldi.fbank of each utterance scaled by 32768 with speaker-net's
            "kaldi_fbank" options (80 bins + energy, povey, snip edges; no CMN).
"""
import sys
import time

import torch
import torchaudio
import torchaudio.compliance.kaldi as kaldi

torch.set_num_threads(1)

MEL = torchaudio.transforms.MelSpectrogram(
    sample_rate=16000, n_fft=512, win_length=400, hop_length=160, f_min=0.0, f_max=None,
    n_mels=80, window_fn=torch.hamming_window, power=2.0, center=True, pad_mode="reflect",
    norm=None, mel_scale="htk")


def melspec(waves):
    return MEL(waves)


def pipeline(waves):
    previous = torch.cat([torch.zeros_like(waves[:, :1]), waves[:, :-1]], dim=1)
    feats = torch.log(MEL(waves - 0.97 * previous) + 1e-6)
    return feats - feats.mean(dim=-1, keepdim=True)


def kaldi_fbank(waves):
    return [kaldi.fbank(w.unsqueeze(0) * 32768.0, num_mel_bins=80, use_energy=True,
                        energy_floor=0.0, dither=0.0, window_type="povey", low_freq=20.0,
                        high_freq=0.0, snip_edges=True) for w in waves]


def median_ms(fn, waves, min_seconds):
    """(thread CPU, wall) medians in ms; CPU time is robust to other jobs on a shared box."""
    fn(waves)  # warm-up
    cpu, wall = [], []
    deadline = time.perf_counter() + min_seconds
    while len(cpu) < 5 or time.perf_counter() < deadline:
        start_cpu, start_wall = time.thread_time_ns(), time.perf_counter_ns()
        fn(waves)
        cpu.append(time.thread_time_ns() - start_cpu)
        wall.append(time.perf_counter_ns() - start_wall)
    return 1e-6 * sorted(cpu)[len(cpu) // 2], 1e-6 * sorted(wall)[len(wall) // 2]


def main():
    min_seconds = float(sys.argv[1])
    torch.manual_seed(0)
    with torch.no_grad():
        for spec in sys.argv[2:]:
            name, batch, length = spec.split(":")
            waves = 0.1 * torch.randn(int(batch), int(length))
            print(name, *median_ms(melspec, waves, min_seconds),
                  *median_ms(pipeline, waves, min_seconds),
                  *median_ms(kaldi_fbank, waves, min_seconds), flush=True)


if __name__ == "__main__":
    main()
