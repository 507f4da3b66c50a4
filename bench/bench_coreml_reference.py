"""Time the Core ML reference executor against ONNX Runtime on the same model and inputs.

    python bench/bench_coreml_reference.py [--models vit,mobileclip] [--precision fp16,fp32] [--repeat 3]

Models (random weights, no downloads):
  vit         timm vit_base_patch16_224 with depth=6 (dim 768, patch 16, 224x224)
  mobileclip  open_clip MobileCLIP-S1 image encoder, reparameterised (timm.utils.reparameterize_model)
Each is exported to ONNX (opset 17), converted with onnx2coreml, saved, and loaded from disk.
Prints executor time / ORT time per model and precision, and the executor-vs-ORT agreement.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import warnings



def build_vit():
    import timm

    return timm.create_model("vit_base_patch16_224", pretrained=False, depth=6), (1, 3, 224, 224)


def build_mobileclip():
    import open_clip

    model = open_clip.create_model("MobileCLIP-S1", pretrained=None)
    size = model.visual.image_size if hasattr(model.visual, "image_size") else 256
    size = size[0] if isinstance(size, (tuple, list)) else size
    return model.visual, (1, 3, int(size), int(size))


BUILDERS = {"vit": build_vit, "mobileclip": build_mobileclip}


def _time(fn, repeat):
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def bench(name, precisions, repeat, workdir, ort_threads):
    import onnx2coreml
    import onnxruntime as ort
    import torch
    from timm.utils import reparameterize_model

    from pipeline_runner.coreml_reference import load_model
    from pipeline_runner.validate.metrics import compare_arrays

    torch.manual_seed(0)
    model, shape = BUILDERS[name]()
    model = reparameterize_model(model.eval())
    x = torch.randn(shape)
    onnx_path = os.path.join(workdir, f"{name}.onnx")
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (x,), onnx_path, dynamo=False, opset_version=17, input_names=["x"], output_names=["y"])
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = ort_threads
    sess = ort.InferenceSession(onnx_path, opts, providers=["CPUExecutionProvider"])
    feed = {"x": x.numpy()}
    ort_out = sess.run(None, feed)[0]
    t_ort = _time(lambda: sess.run(None, feed), repeat)
    rows = []
    for precision in precisions:
        pkg = os.path.join(workdir, f"{name}_{precision}.mlpackage")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            onnx2coreml.convert(onnx_path, compute_precision=precision).save(pkg)
        t0 = time.perf_counter()
        ref = load_model(pkg)
        t_load = time.perf_counter() - t0
        out_name = ref.output_names[0]
        ref_out = ref.predict(feed)[out_name]
        t_ref = _time(lambda: ref.predict(feed), repeat)
        m = compare_arrays(ref_out, ort_out)
        label = f"{name} {shape[-1]}px"
        rows.append((label, precision, t_load, t_ref, t_ort, t_ref / t_ort, m["max_abs_error"], m["cosine_similarity"]))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description="Core ML reference executor vs ONNX Runtime timing")
    parser.add_argument("--models", default="vit,mobileclip", help="comma-separated: " + ",".join(BUILDERS))
    parser.add_argument("--precision", default="fp16,fp32", help="comma-separated Core ML compute precisions")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs (median reported) after one warm-up")
    parser.add_argument("--workdir", help="keep the exported/converted models here (default: a temp dir)")
    parser.add_argument("--ort-threads", type=int, default=os.cpu_count() or 1,
                        help="ONNX Runtime intra-op threads (the executor runs its kernels on one thread)")
    args = parser.parse_args(argv)
    workdir = args.workdir or tempfile.mkdtemp(prefix="bench_coreml_ref_")
    os.makedirs(workdir, exist_ok=True)
    rows = []
    for name in args.models.split(","):
        rows += bench(name.strip(), args.precision.split(","), args.repeat, workdir, args.ort_threads)
    print(f"\nONNX Runtime: {args.ort_threads} thread(s); executor: one kernel thread; median of {args.repeat} runs")
    print(f"{'model':<16} {'prec':<5} {'load s':>7} {'executor s':>11} {'ORT s':>8} {'ratio':>7} "
          f"{'max|ref-ort|':>13} {'cosine':>9}")
    for name, prec, t_load, t_ref, t_ort, ratio, err, cos in rows:
        print(f"{name:<16} {prec:<5} {t_load:>7.2f} {t_ref:>11.3f} {t_ort:>8.3f} {ratio:>7.1f} {err:>13.3g} {cos:>9.6f}")


if __name__ == "__main__":
    main()
