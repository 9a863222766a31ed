"""Independent reference for speakernet's KaldiFbank, run by kaldi_fbank_test with Debian's
/usr/bin/python3: torchaudio.compliance.kaldi.fbank, one utterance at a time.

usage: kaldi_fbank_reference.py DIR
DIR/manifest.txt has one case per line: "name batch length key=value ...", the keys being
KaldiFbankOptions fields (samp_freq, frame_length_ms, frame_shift_ms, preemph_coeff,
remove_dc_offset, window_type, round_to_power_of_two, snip_edges, num_bins, low_freq, high_freq,
use_energy, energy_floor, raw_energy, use_log_fbank, use_power, norm_var); booleans are
true/false.
For each case it reads DIR/name.in (raw float32, [batch, length], in [-1, 1]), scales it by 32768
and writes (raw float32, [batch, dim, frames]):
  DIR/name.raw: torchaudio's features, transposed to [dim, frames] per utterance (no CMN);
  DIR/name.cmn: the same minus the per-utterance mean over time of each feature, divided by
                sqrt(var + 1e-8) (population variance, before the mean is removed) if norm_var.
"""
import os
import sys

import torch
import torchaudio.compliance.kaldi as kaldi

torch.set_num_threads(1)


def fbank(wave, o):
    return kaldi.fbank(
        wave.unsqueeze(0) * 32768.0,
        dither=0.0,
        sample_frequency=float(o["samp_freq"]),
        frame_length=float(o["frame_length_ms"]),
        frame_shift=float(o["frame_shift_ms"]),
        preemphasis_coefficient=float(o["preemph_coeff"]),
        remove_dc_offset=o["remove_dc_offset"] == "true",
        window_type=o["window_type"],
        round_to_power_of_two=o["round_to_power_of_two"] == "true",
        snip_edges=o["snip_edges"] == "true",
        num_mel_bins=int(o["num_bins"]),
        low_freq=float(o["low_freq"]),
        high_freq=float(o["high_freq"]),
        use_energy=o["use_energy"] == "true",
        energy_floor=float(o["energy_floor"]),
        raw_energy=o["raw_energy"] == "true",
        use_log_fbank=o["use_log_fbank"] == "true",
        use_power=o["use_power"] == "true",
    )  # [frames, dim]


def main(folder):
    defaults = dict(samp_freq="16000", frame_length_ms="25", frame_shift_ms="10",
                    preemph_coeff="0.97", remove_dc_offset="true", window_type="povey",
                    round_to_power_of_two="true", snip_edges="true", num_bins="80", low_freq="20",
                    high_freq="0", use_energy="true", energy_floor="0", raw_energy="true",
                    use_log_fbank="true", use_power="true", norm_var="false")
    with torch.no_grad(), open(os.path.join(folder, "manifest.txt")) as manifest:
        for line in manifest:
            if not line.strip():
                continue
            name, batch, length, *options = line.split()
            o = dict(defaults)
            for item in options:
                key, value = item.split("=", 1)
                assert key in o, key
                o[key] = value
            batch, length = int(batch), int(length)
            raw = torch.from_file(os.path.join(folder, name + ".in"), shared=False,
                                  size=batch * length, dtype=torch.float32).view(batch, length)
            feats = torch.stack([fbank(raw[b], o).t() for b in range(batch)])  # [B, dim, T]
            var = feats.var(dim=-1, unbiased=False, keepdim=True)
            cmn = feats - feats.mean(dim=-1, keepdim=True)
            if o["norm_var"] == "true":
                cmn = cmn / torch.sqrt(var + 1e-8)
            feats.contiguous().numpy().tofile(os.path.join(folder, name + ".raw"))
            cmn.contiguous().numpy().tofile(os.path.join(folder, name + ".cmn"))


if __name__ == "__main__":
    main(sys.argv[1])
