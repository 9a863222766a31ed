#!/usr/bin/python3
"""Reference Python training-data pipeline for bench/loader_bench.cpp.

The same per-chunk work as the C++ loader run by the benchmark, written the way speaker-net
does it (torchaudio + torch inside a torch DataLoader):
  torchaudio.load of a random 2 s crop (32240 samples)
  -> speed perturbation with sox effects ["speed", s], ["rate", "16000"], s in {0.9, 1.0, 1.1}
  -> reverberation: circular FFT convolution with a random RIR (speaker-net reverberate())
  -> additive noise: random crop of a random noise file, SNR U[0, 15] dB, scale=True mixing
  -> random crop / wrap pad back to 32240 samples
  -> MelSpectrogram(512, win 400, hop 160, 80 mels, hamming) + log + CMN (speaker-net Fbank).
--no-speed drops the speed step (to show what it costs).

Prints one JSON line: chunks, wall seconds, CPU seconds of this process and its (joined)
DataLoader workers, and chunks per CPU second.

  /usr/bin/python3 bench/loader_bench_reference.py --wav-scp SCP --noise-dir D --rir-dir D
      [--chunks N] [--workers W] [--batch-size B] [--seed S] [--no-speed]
"""
import argparse
import glob
import json
import os
import random
import resource
import time

import torch
import torchaudio

SR = 16000
CHUNK = int((2.0 + 0.015) * SR)  # 32240


def rms(x):
    return torch.sqrt(torch.mean(x * x))


class ChunkDataset(torch.utils.data.Dataset):
    def __init__(self, wavs, noises, rirs, num_chunks, speed, seed):
        self.wavs = wavs  # (path, num_frames)
        self.noises = noises
        self.rirs = rirs
        self.num_chunks = num_chunks
        self.speed = speed
        self.seed = seed
        self.mel = torchaudio.transforms.MelSpectrogram(
            sample_rate=SR, n_fft=512, win_length=400, hop_length=160, f_min=0.0, n_mels=80,
            window_fn=torch.hamming_window, power=2.0, norm=None, mel_scale="htk")

    def __len__(self):
        return self.num_chunks

    def __getitem__(self, index):
        rng = random.Random(self.seed * 1000003 + index)
        path, n = self.wavs[rng.randrange(len(self.wavs))]
        if n > CHUNK:
            start = rng.randint(0, n - CHUNK)
            x, _ = torchaudio.load(path, frame_offset=start, num_frames=CHUNK)
        else:
            x, _ = torchaudio.load(path)
        if self.speed:
            s = rng.choice([0.9, 1.0, 1.1])
            if s != 1.0:
                x, _ = torchaudio.sox_effects.apply_effects_tensor(
                    x, SR, [["speed", str(s)], ["rate", str(SR)]])
        T = x.shape[1]
        # Reverberation (speaker-net reverberate): circular convolution, direct path at 0.
        rir_path = self.rirs[rng.randrange(len(self.rirs))]
        rir, _ = torchaudio.load(rir_path)
        rir = rir[0, :T]
        d = int(torch.argmax(rir.abs()))
        kernel = torch.zeros(T)
        kernel[: rir.shape[0] - d] = rir[d:]
        if d > 0:
            kernel[T - d:] = rir[:d]
        orig = rms(x)
        y = torch.fft.irfft(torch.fft.rfft(x[0]) * torch.fft.rfft(kernel), n=T)
        x = (y / (rms(y) + 1e-14) * orig).unsqueeze(0)
        # Additive noise, scale=True.
        npath, nn = self.noises[rng.randrange(len(self.noises))]
        if nn > T:
            noise, _ = torchaudio.load(npath, frame_offset=rng.randint(0, nn - T), num_frames=T)
        else:
            noise, _ = torchaudio.load(npath)
            noise = noise.repeat(1, T // nn + 1)[:, :T]
        snr = rng.uniform(0.0, 15.0)
        a = 10 ** (snr / 20)
        f = 1 / (a + 1)
        x = x * (1 - f) + noise * (f * rms(x) / (rms(noise) + 1e-14))
        # Back to chunk length (speaker-net _pad_or_truncate).
        T = x.shape[1]
        if T > CHUNK:
            s0 = rng.randint(0, T - CHUNK)
            x = x[:, s0:s0 + CHUNK]
        elif T < CHUNK:
            k, r = divmod(CHUNK, T)
            p = rng.randint(0, T - r)
            x = torch.cat([x.repeat(1, k), x[:, p:p + r]], dim=1)
        # speaker-net Fbank: pre-emphasis, MelSpectrogram, log, CMN.
        x = torch.cat([x[:, :1], x[:, 1:] - 0.97 * x[:, :-1]], dim=1)
        feats = torch.log(self.mel(x) + 1e-6)
        feats = feats - feats.mean(dim=-1, keepdim=True)
        return feats[0], 0


def worker_init(_):
    torch.set_num_threads(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wav-scp", required=True)
    ap.add_argument("--noise-dir", required=True)
    ap.add_argument("--rir-dir", required=True)
    ap.add_argument("--chunks", type=int, default=512)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--seed", type=int, default=1024)
    ap.add_argument("--no-speed", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)

    wavs = []
    for line in open(args.wav_scp):
        if line.strip():
            path = line.split(None, 1)[1].strip()
            wavs.append((path, torchaudio.info(path).num_frames))
    noises = [(p, torchaudio.info(p).num_frames)
              for p in sorted(glob.glob(os.path.join(args.noise_dir, "*.wav")))]
    rirs = sorted(glob.glob(os.path.join(args.rir_dir, "*.wav")))
    ds = ChunkDataset(wavs, noises, rirs, args.chunks, not args.no_speed, args.seed)

    before_self = resource.getrusage(resource.RUSAGE_SELF)
    before_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    loader = torch.utils.data.DataLoader(
        ds, batch_size=args.batch_size, shuffle=True, num_workers=args.workers,
        prefetch_factor=2, drop_last=True, worker_init_fn=worker_init,
        persistent_workers=False, generator=torch.Generator().manual_seed(args.seed))
    chunks = 0
    for feats, _ in loader:
        chunks += feats.shape[0]
    del loader  # joins the workers, so their CPU time lands in RUSAGE_CHILDREN
    wall = time.perf_counter() - start
    after_self = resource.getrusage(resource.RUSAGE_SELF)
    after_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = sum(getattr(a, f) - getattr(b, f)
              for a, b in ((after_self, before_self), (after_children, before_children))
              for f in ("ru_utime", "ru_stime"))
    print(json.dumps({"chunks": chunks, "wall_s": wall, "cpu_s": cpu,
                      "chunks_per_cpu_s": chunks / cpu, "speed": not args.no_speed,
                      "workers": args.workers, "feat_shape": list(feats.shape[1:])}))


if __name__ == "__main__":
    main()
