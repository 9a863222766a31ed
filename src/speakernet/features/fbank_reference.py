"""Independent reference for speakernet's Fbank, run by fbank_test with Debian's /usr/bin/python3.

usage: fbank_reference.py DIR
DIR/manifest.txt has one case per line: "name batch length preemph log cmvn norm_var".
For each case it reads DIR/name.in (raw float32, [batch, length]) and writes DIR/name.out
(raw float32, [batch, 80, frames]). It also writes DIR/melscale.out, torchaudio's
melscale_fbanks for the default options ([257, 80]).
"""
import os
import sys

import torch
import torchaudio

torch.set_num_threads(1)


def mel_spectrogram():
    return torchaudio.transforms.MelSpectrogram(
        sample_rate=16000, n_fft=512, win_length=400, hop_length=160, f_min=0.0, f_max=None,
        n_mels=80, window_fn=torch.hamming_window, power=2.0, center=True, pad_mode="reflect",
        norm=None, mel_scale="htk")


def features(waves, preemph, log, cmvn, norm_var):
    if preemph > 0:
        previous = torch.cat([torch.zeros_like(waves[:, :1]), waves[:, :-1]], dim=1)
        waves = waves - preemph * previous
    feats = mel_spectrogram()(waves)  # [batch, 80, frames]
    if log:
        feats = torch.log(feats + 1e-6)
    var = feats.var(dim=-1, unbiased=False, keepdim=True)
    if cmvn:
        feats = feats - feats.mean(dim=-1, keepdim=True)
    if norm_var:
        feats = feats / torch.sqrt(var + 1e-8)
    return feats


def main(folder):
    with torch.no_grad():
        with open(os.path.join(folder, "manifest.txt")) as manifest:
            for line in manifest:
                if not line.strip():
                    continue
                name, batch, length, preemph, log, cmvn, norm_var = line.split()
                raw = torch.from_file(os.path.join(folder, name + ".in"), shared=False,
                                      size=int(batch) * int(length), dtype=torch.float32)
                out = features(raw.view(int(batch), int(length)), float(preemph), log == "1",
                               cmvn == "1", norm_var == "1")
                out.contiguous().numpy().tofile(os.path.join(folder, name + ".out"))
        fbanks = torchaudio.functional.melscale_fbanks(257, 0.0, 8000.0, 80, 16000, None, "htk")
        fbanks.contiguous().numpy().tofile(os.path.join(folder, "melscale.out"))


if __name__ == "__main__":
    main(sys.argv[1])
