#!/usr/bin/env node
// ONNX Runtime (onnxruntime-node, CPU) latency on an ONNX file, printed as one JSON object with the
// keys of `pocket-bench --json`, so the two can be compared on the same model and inputs.
//
//   node scripts/ort_bench.mjs MODEL.onnx [--threads N] [--iterations N] [--warmup N]
//                              [--input NAME=FILE.npy ...] [--seed N] [--dump-outputs DIR] [--serve]
//
// Session options: intraOpNumThreads = N, interOpNumThreads = 1, graphOptimizationLevel "all",
// executionMode "sequential". Inputs not given are random (seeded): floats in [-1, 1), int64/int32
// in [0, 2), uint8 in [0, 256); symbolic dimensions are 1. ONNX Runtime comes from
// scripts/ort_install.sh ($POCKET_ORT_DIR, else $POCKET_CACHE/ort, else <repo>/.cache/ort).
// arena_bytes and arena_lower_bound_bytes are null (ORT does not report them); peak_rss_bytes
// is the whole Node process, Node's own ~40 MB included.
//
// --serve is for pocket-bench --compare-onnx, which alternates rounds of the two engines in one
// run: after creating the session it prints one JSON line {"ready":true,...} and then answers
// commands read from stdin, one JSON line each:
//   run W N      W untimed runs, then N timed ones      -> {"times_ms":[...]}
//   dump DIR     one run, every output to DIR/<name>.npy -> {"dumped":["name", ...]}
//   quit (or end of input)                              -> exits
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const TOOL = 'ort_bench';

function die(message, code = 1) {
  process.stderr.write(`${TOOL}: error: ${String(message).replace(/\s*\n\s*/g, ' ')}\n`);
  process.exit(code);
}

const USAGE = `usage: node scripts/ort_bench.mjs MODEL.onnx [--threads N] [--iterations N] [--warmup N]
                                  [--input NAME=FILE.npy ...] [--seed N] [--dump-outputs DIR] [--serve]

Benchmarks MODEL.onnx with ONNX Runtime (CPU) and prints one JSON object with the keys of
pocket-bench --json (median_ms, mean_ms, std_ms, min_ms, p90_ms, p99_ms, init_ms, first_run_ms,
arena_bytes, peak_rss_bytes, threads, ...). Install ONNX Runtime first: scripts/ort_install.sh

options:
  --threads N         intra-op threads (default 1)
  --iterations N      timed runs (default 50)
  --warmup N          untimed runs after the first (default 5)
  --input NAME=FILE   value of input NAME from a .npy file (others are random)
  --seed N            seed of the random inputs (default 0)
  --dump-outputs DIR  write every output of the last run as DIR/<name>.npy
  --serve             answer 'run W N' / 'dump DIR' / 'quit' lines on stdin (for pocket-bench)
  --help              show this help
`;

function parseArgs(argv) {
  const opts = { threads: 1, iterations: 50, warmup: 5, seed: 0, inputs: [], dump: null, model: null, serve: false };
  const ints = { '--threads': ['threads', 1, 1024], '--iterations': ['iterations', 1, 1e7], '--warmup': ['warmup', 0, 1e6], '--seed': ['seed', 0, 2 ** 31 - 1] };
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  for (let i = 0; i < argv.length; ++i) {
    let arg = argv[i];
    let value = null;
    if (arg.startsWith('--') && arg.includes('=')) {
      value = arg.slice(arg.indexOf('=') + 1);
      arg = arg.slice(0, arg.indexOf('='));
    }
    const needValue = () => {
      if (value !== null) return value;
      if (i + 1 >= argv.length) die(`option ${arg} needs a value (see --help)`, 2);
      return argv[++i];
    };
    if (arg in ints) {
      const [key, lo, hi] = ints[arg];
      const text = needValue();
      if (!/^-?\d+$/.test(text)) die(`bad value for ${arg}: '${text}' is not an integer`, 2);
      const v = Number(text);
      if (v < lo || v > hi) die(`bad value for ${arg}: '${text}' is out of range [${lo}, ${hi}]`, 2);
      opts[key] = v;
    } else if (arg === '--input') {
      const spec = needValue();
      const eq = spec.indexOf('=');
      if (eq <= 0 || eq === spec.length - 1) die(`--input expects NAME=FILE.npy, got '${spec}'`, 2);
      const name = spec.slice(0, eq);
      if (opts.inputs.some((x) => x.name === name)) die(`input '${name}' is given twice`, 2);
      opts.inputs.push({ name, file: spec.slice(eq + 1) });
    } else if (arg === '--dump-outputs') {
      opts.dump = needValue();
    } else if (arg === '--serve' && value === null) {
      opts.serve = true;
    } else if (arg.startsWith('-')) {
      die(`unknown option '${arg}' (see --help)`, 2);
    } else if (opts.model === null) {
      opts.model = arg;
    } else {
      die(`unexpected argument '${arg}' (see --help)`, 2);
    }
  }
  if (opts.model === null) die('missing MODEL.onnx (see --help)', 2);
  return opts;
}

// ---- .npy (versions 1-3, little-endian, C order) ----

const NPY_TYPES = {
  f4: ['float32', Float32Array], f2: ['float16', Uint16Array], i8: ['int64', BigInt64Array],
  i4: ['int32', Int32Array], i1: ['int8', Int8Array], u1: ['uint8', Uint8Array], b1: ['bool', Uint8Array],
};

function readNpy(file) {
  let buf;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    die(`cannot open '${file}'`);
  }
  const fail = (why) => die(`'${file}': ${why}`);
  if (buf.length < 10 || buf[0] !== 0x93 || buf.toString('latin1', 1, 6) !== 'NUMPY') fail('not a .npy file (bad magic)');
  const major = buf[6];
  if (major < 1 || major > 3) fail(`unsupported .npy format version ${major}.${buf[7]}`);
  const lenBytes = major === 1 ? 2 : 4;
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = 8 + lenBytes;
  if (start + headerLen > buf.length) fail('truncated .npy header');
  const header = buf.toString(major === 3 ? 'utf8' : 'latin1', start, start + headerLen);
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]+)['"]/.exec(header);
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(header);
  const shapeM = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shapeM) fail('corrupt .npy header');
  const shape = shapeM[1].split(',').map((s) => s.trim().replace(/L$/, '')).filter((s) => s.length).map((s) => {
    if (!/^\d+$/.test(s)) fail('corrupt .npy header: bad shape');
    return Number(s);
  });
  let d = descr[1];
  const order = '<>|=!'.includes(d[0]) ? d[0] : '=';
  if ('<>|=!'.includes(d[0])) d = d.slice(1);
  if (d.startsWith('O')) fail('object arrays are not supported');
  if (!(d in NPY_TYPES)) fail(`unsupported dtype '${descr[1]}'`);
  const [type, Ctor] = NPY_TYPES[d];
  if ((order === '>' || order === '!') && Ctor.BYTES_PER_ELEMENT > 1) fail('big-endian data is not supported');
  const count = shape.reduce((a, b) => a * b, 1);
  if (fortran[1] === 'True' && shape.length > 1 && count > 1) fail('Fortran-order arrays are not supported');
  const bytes = count * Ctor.BYTES_PER_ELEMENT;
  const dataStart = start + headerLen;
  if (dataStart + bytes > buf.length) fail(`truncated .npy data: shape needs ${bytes} bytes, file has ${buf.length - dataStart}`);
  const copy = new Uint8Array(bytes);
  copy.set(buf.subarray(dataStart, dataStart + bytes));
  const data = type === 'bool' ? new Uint8Array(copy.buffer) : new Ctor(copy.buffer);
  return { type, shape, data: type === 'bool' ? Array.from(data, (x) => x !== 0) : data };
}

const DESCR = { float32: '<f4', float16: '<f2', int64: '<i8', int32: '<i4', int8: '|i1', uint8: '|u1', bool: '|b1', float64: '<f8' };

function writeNpy(file, type, shape, data) {
  const descr = DESCR[type];
  if (!descr) return false;
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const total = 10 + dict.length + 1;
  dict += ' '.repeat(Math.ceil(total / 64) * 64 - total) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(dict.length, 8);
  const body = type === 'bool' ? Buffer.from(Uint8Array.from(data, (x) => (x ? 1 : 0))) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(dict, 'latin1'), body]));
  return true;
}

// ---- random inputs (seeded) ----

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function floatToHalf(f) {
  const f32 = new Float32Array([f]);
  const x = new Uint32Array(f32.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  const e = ((x >>> 23) & 0xff) - 127 + 15;
  const m = x & 0x7fffff;
  if (e <= 0) return sign | Math.round((m | 0x800000) / 2 ** (14 - e)) >>> 10;
  if (e >= 31) return sign | 0x7c00;
  return sign | (e << 10) | Math.round(m / 8192);
}

function randomTensorData(type, count, rand) {
  switch (type) {
    case 'float32': return Float32Array.from({ length: count }, () => rand() * 2 - 1);
    case 'float16': return Uint16Array.from({ length: count }, () => floatToHalf(rand() * 2 - 1));
    case 'int64': return BigInt64Array.from({ length: count }, () => BigInt(Math.floor(rand() * 2)));
    case 'int32': return Int32Array.from({ length: count }, () => Math.floor(rand() * 2));
    case 'uint8': return Uint8Array.from({ length: count }, () => Math.floor(rand() * 256));
    case 'int8': return Int8Array.from({ length: count }, () => Math.floor(rand() * 256) - 128);
    case 'bool': return Array.from({ length: count }, () => rand() < 0.5);
    default: return null;
  }
}

// ---- statistics, as tools/common/stats.cpp computes them ----

function percentile(sorted, q) {
  if (!sorted.length) return 0;
  const pos = (q / 100) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  const variance = s.length > 1 ? s.reduce((a, b) => a + (b - mean) ** 2, 0) / (s.length - 1) : 0;
  return { mean, std: Math.sqrt(variance), min: s[0], max: s[s.length - 1], p50: percentile(s, 50), p90: percentile(s, 90), p99: percentile(s, 99) };
}

function ortDir() {
  if (process.env.POCKET_ORT_DIR) return process.env.POCKET_ORT_DIR;
  if (process.env.POCKET_CACHE) return path.join(process.env.POCKET_CACHE, 'ort');
  return path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '.cache', 'ort');
}

function loadOrt() {
  const dir = ortDir();
  const require = createRequire(path.join(path.resolve(dir), 'package.json'));
  try {
    return require('onnxruntime-node');
  } catch (e) {
    die(`onnxruntime-node is not installed in ${dir} (run scripts/ort_install.sh): ${e.message.split('\n')[0]}`);
  }
}

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;
const round6 = (x) => Math.round(x * 1e6) / 1e6;

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const ort = loadOrt();

  let t0 = nowMs();
  let modelBytes;
  try {
    modelBytes = fs.readFileSync(opts.model);
  } catch (e) {
    die(`cannot open model '${opts.model}': ${e.code || e.message}`);
  }
  const loadMs = nowMs() - t0;
  t0 = nowMs();
  let session;
  try {
    session = await ort.InferenceSession.create(modelBytes, {
      intraOpNumThreads: opts.threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
    });
  } catch (e) {
    die(`cannot load model '${opts.model}': ${e.message}`);
  }
  const initMs = nowMs() - t0;

  const metadata = new Map((session.inputMetadata || []).map((m) => [m.name, m]));
  for (const given of opts.inputs)
    if (!session.inputNames.includes(given.name))
      die(`model has no input '${given.name}' (inputs: ${session.inputNames.map((n) => `'${n}'`).join(', ')})`);
  const feeds = {};
  const rand = mulberry32(opts.seed);
  for (const name of session.inputNames) {
    const meta = metadata.get(name);
    const given = opts.inputs.find((x) => x.name === name);
    if (given) {
      const a = readNpy(given.file);
      if (meta && meta.isTensor) {
        if (meta.type !== a.type) die(`input '${name}' expects ${meta.type}, got ${a.type}`);
        const fixed = meta.shape.length === a.shape.length && meta.shape.every((d, i) => typeof d !== 'number' || d < 0 || d === a.shape[i]);
        if (!fixed) die(`input '${name}' expects shape [${meta.shape.join(', ')}], got [${a.shape.join(', ')}]`);
      }
      feeds[name] = new ort.Tensor(a.type, a.data, a.shape);
      continue;
    }
    if (!meta || !meta.isTensor) die(`input '${name}' is not a tensor; give it with --input`);
    const shape = meta.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : 1));
    const count = shape.reduce((a, b) => a * b, 1);
    const data = randomTensorData(meta.type, count, rand);
    if (data === null) die(`cannot make random values for input '${name}' of type ${meta.type}; give it with --input`);
    feeds[name] = new ort.Tensor(meta.type, data, shape);
  }

  const run = () => session.run(feeds);
  if (opts.serve) return serve(ort, session, run, initMs);
  let outputs;
  t0 = nowMs();
  try {
    outputs = await run();
  } catch (e) {
    die(`run failed: ${e.message}`);
  }
  const firstRunMs = nowMs() - t0;
  for (let i = 0; i < opts.warmup; ++i) await run();
  const times = [];
  for (let i = 0; i < opts.iterations; ++i) {
    t0 = nowMs();
    outputs = await run();
    times.push(nowMs() - t0);
  }
  const s = stats(times);

  if (opts.dump) dumpOutputs(opts.dump, outputs);

  const out = {
    model: opts.model,
    engine: 'onnxruntime',
    ort_version: ort.env?.versions?.common ?? null,
    threads: opts.threads,
    warmup: opts.warmup,
    iterations: opts.iterations,
    load_ms: round6(loadMs),
    init_ms: round6(initMs),
    first_run_ms: round6(firstRunMs),
    mean_ms: round6(s.mean),
    std_ms: round6(s.std),
    min_ms: round6(s.min),
    max_ms: round6(s.max),
    median_ms: round6(s.p50),
    p90_ms: round6(s.p90),
    p99_ms: round6(s.p99),
    runs_per_s: round6(s.mean > 0 ? 1000 / s.mean : 0),
    arena_bytes: null,
    arena_lower_bound_bytes: null,
    peak_rss_bytes: process.resourceUsage().maxRSS * 1024,
  };
  process.stdout.write(JSON.stringify(out) + '\n');
  await session.release?.();
}

function dumpOutputs(dir, outputs) {
  fs.mkdirSync(dir, { recursive: true });
  const names = [];
  for (const [name, t] of Object.entries(outputs)) {
    const file = path.join(dir, `${name.replace(/[^A-Za-z0-9_.-]/g, '_') || '_'}.npy`);
    if (!writeNpy(file, t.type, t.dims, t.data)) die(`cannot write output '${name}' of type ${t.type}`);
    names.push(name);
  }
  return names;
}

async function serve(ort, session, run, initMs) {
  const readline = await import('node:readline');
  const say = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
  say({ ready: true, ort_version: ort.env?.versions?.common ?? null, init_ms: round6(initMs) });
  const rl = readline.createInterface({ input: process.stdin, terminal: false });
  for await (const line of rl) {
    const words = line.trim().split(/\s+/);
    if (words[0] === 'quit') break;
    if (words[0] === 'run' && words.length === 3 && /^\d+$/.test(words[1]) && /^\d+$/.test(words[2])) {
      const warmup = Number(words[1]);
      const n = Number(words[2]);
      const times = [];
      try {
        for (let i = 0; i < warmup; ++i) await run();
        for (let i = 0; i < n; ++i) {
          const t0 = nowMs();
          await run();
          times.push(round6(nowMs() - t0));
        }
      } catch (e) {
        die(`run failed: ${e.message}`);
      }
      say({ times_ms: times });
    } else if (words[0] === 'dump' && words.length >= 2) {
      const dir = line.trim().slice(4).trim();
      let outputs;
      try {
        outputs = await run();
      } catch (e) {
        die(`run failed: ${e.message}`);
      }
      say({ dumped: dumpOutputs(dir, outputs) });
    } else if (words[0] !== '') {
      die(`unknown command '${line.trim().slice(0, 40)}' (serve mode takes 'run W N', 'dump DIR', 'quit')`, 2);
    }
  }
  await session.release?.();
}

main().catch((e) => die(e && e.message ? e.message : e));
