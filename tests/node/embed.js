// Embeds the utterances of a wav.scp with an exported ONNX model, in one of two runtimes:
//
//   node embed.js onnxruntime MODEL.onnx WAV_SCP OUT.txt   waveform-input model (input "wav")
//   node embed.js sherpa-onnx MODEL.onnx WAV_SCP OUT.txt   features-input model, through
//                                                          sherpa-onnx's SpeakerEmbeddingExtractor
//
// OUT.txt gets one line per utterance: "utt v1 v2 ...". The wavs must be 16-bit PCM mono (what
// the tests write); samples are scaled to [-1, 1] by 1/32768, as speakernet's reader does.
'use strict';
const fs = require('fs');

function readWav16(path) {
  const buf = fs.readFileSync(path);
  if (buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') {
    throw new Error(`${path}: not a RIFF/WAVE file`);
  }
  let pos = 12, fmt = null;
  while (pos + 8 <= buf.length) {
    const id = buf.toString('ascii', pos, pos + 4), size = buf.readUInt32LE(pos + 4);
    const body = pos + 8;
    if (id === 'fmt ') {
      fmt = {format: buf.readUInt16LE(body), channels: buf.readUInt16LE(body + 2),
             rate: buf.readUInt32LE(body + 4), bits: buf.readUInt16LE(body + 14)};
    } else if (id === 'data') {
      if (!fmt || fmt.format !== 1 || fmt.bits !== 16 || fmt.channels !== 1) {
        throw new Error(`${path}: expected 16-bit PCM mono, got ${JSON.stringify(fmt)}`);
      }
      const n = Math.floor(Math.min(size, buf.length - body) / 2);
      const samples = new Float32Array(n);
      for (let i = 0; i < n; ++i) samples[i] = buf.readInt16LE(body + 2 * i) / 32768;
      return {samples, sampleRate: fmt.rate};
    }
    pos = body + size + (size & 1);
  }
  throw new Error(`${path}: no data chunk`);
}

function readScp(path) {
  return fs.readFileSync(path, 'utf8').split('\n').filter((l) => l.trim()).map((l) => {
    const [utt, ...rest] = l.trim().split(/\s+/);
    return {utt, wav: rest.join(' ')};
  });
}

async function withOnnxRuntime(model, utts) {
  const ort = require('onnxruntime-node');
  const session = await ort.InferenceSession.create(
      model, {intraOpNumThreads: 1, interOpNumThreads: 1});
  const out = [];
  for (const {utt, wav} of utts) {
    const {samples} = readWav16(wav);
    const result = await session.run({wav: new ort.Tensor('float32', samples, [1, samples.length])});
    out.push([utt, Array.from(result.embedding.data)]);
  }
  return out;
}

function withSherpaOnnx(model, utts) {
  const sherpa = require('sherpa-onnx-node');
  const extractor = new sherpa.SpeakerEmbeddingExtractor({model, numThreads: 1, debug: 0});
  const out = [];
  for (const {utt, wav} of utts) {
    const {samples, sampleRate} = readWav16(wav);
    const stream = extractor.createStream();
    stream.acceptWaveform({samples, sampleRate});
    stream.inputFinished();
    if (!extractor.isReady(stream)) throw new Error(`${utt}: sherpa-onnx has no frames`);
    out.push([utt, Array.from(extractor.compute(stream))]);
  }
  return out;
}

async function main() {
  const [runtime, model, scp, outPath] = process.argv.slice(2);
  if (!outPath || !['onnxruntime', 'sherpa-onnx'].includes(runtime)) {
    console.error('usage: node embed.js onnxruntime|sherpa-onnx MODEL.onnx WAV_SCP OUT.txt');
    process.exit(2);
  }
  const utts = readScp(scp);
  const start = Date.now();
  const rows = runtime === 'onnxruntime' ? await withOnnxRuntime(model, utts)
                                         : withSherpaOnnx(model, utts);
  fs.writeFileSync(outPath, rows.map(([u, v]) => `${u} ${v.join(' ')}`).join('\n') + '\n');
  console.log(`${runtime}: ${rows.length} utterances in ${(Date.now() - start) / 1000} s`);
}

main().catch((e) => { console.error(`error: ${e.message || e}`); process.exit(1); });
