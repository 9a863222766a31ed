"""Independent reference for speakernet's FrameLogEnergies, run by augmentation_test with
Debian's /usr/bin/python3: column 0 of torchaudio.compliance.kaldi.fbank with use_energy,
raw_energy, energy_floor 0, no dither, snip edges (Kaldi's raw log energy per 25 ms / 10 ms frame).

usage: vad_reference.py IN OUT
IN is raw float32 samples in [-1, 1] at 16 kHz; OUT receives raw float32 log energies.
"""
import sys

import numpy as np
import torch
import torchaudio.compliance.kaldi as kaldi

torch.set_num_threads(1)
x = torch.from_numpy(np.fromfile(sys.argv[1], dtype=np.float32))
feats = kaldi.fbank(x.unsqueeze(0) * 32768.0, dither=0.0, energy_floor=0.0, use_energy=True,
                    raw_energy=True, snip_edges=True, num_mel_bins=23, sample_frequency=16000.0)
feats[:, 0].numpy().astype(np.float32).tofile(sys.argv[2])
