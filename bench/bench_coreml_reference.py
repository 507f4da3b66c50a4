"""Time the Core ML reference executor against ONNX Runtime on the same model and inputs.

    python bench/bench_coreml_reference.py [--models resnet18,deit_tiny,efficientnet_b0,convnext_atto]
                                           [--precision fp32] [--repeat 5] [--ort-threads 2] [--ort-spinning]

Models (random weights, no downloads; 224x224):
  resnet18, deit_tiny, efficientnet_b0, convnext_atto   timm models (the issue-12 target: ratio <= 2)
  vit         timm vit_base_patch16_224 with depth=6 (dim 768, patch 16)
  mobileclip  open_clip MobileCLIP-S1 image encoder, reparameterised (timm.utils.reparameterize_model)
Each is exported to ONNX (opset 17), converted with onnx2coreml, saved, and loaded from disk.
Both sides are timed warm and interleaved (executor run, ORT run, executor run, ...) so a busy
shared machine slows both alike; prints executor time / ORT time per model and precision (the
median of the per-pair ratios), and the executor-vs-ORT agreement.

ONNX Runtime's worker threads spin-wait after each run by default: interleaved in one process
that spinning runs during the executor's timed runs (on 2 cores it took one core from the
executor and doubled its time) and, on a busy machine, slows ORT's own runs as well. So the
bench turns it off (``session.intra_op.allow_spinning=0``, ORT's setting for CPUs shared with
other work); ``--ort-spinning`` keeps ORT's default.
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


def _timm(name):
    def build():
        import timm

        return timm.create_model(name, pretrained=False), (1, 3, 224, 224)

    return build


BUILDERS = {"resnet18": _timm("resnet18"), "deit_tiny": _timm("deit_tiny_patch16_224"),
            "efficientnet_b0": _timm("efficientnet_b0"), "convnext_atto": _timm("convnext_atto"),
            "vit": build_vit, "mobileclip": build_mobileclip}
DEFAULT_MODELS = "resnet18,deit_tiny,efficientnet_b0,convnext_atto"


def _interleaved(fn_a, fn_b, repeat):
    """(median a, median b, median of a/b per pair), timed alternately after one warm-up each."""
    fn_a(), fn_b()
    ta, tb = [], []
    for _ in range(repeat):
        for fn, out in ((fn_a, ta), (fn_b, tb)):
            t = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t)
    return statistics.median(ta), statistics.median(tb), statistics.median(a / b for a, b in zip(ta, tb))


def kernel_threads() -> str:
    from pipeline_runner.coreml_reference.ops._util import kernel_thread_count

    return f"{kernel_thread_count()} kernel thread(s) now (more only when the machine is idle)"


def bench(name, precisions, repeat, workdir, ort_threads, ort_spinning=False):
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
    if not ort_spinning:
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    sess = ort.InferenceSession(onnx_path, opts, providers=["CPUExecutionProvider"])
    feed = {"x": x.numpy()}
    ort_out = sess.run(None, feed)[0]
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
        t_ref, t_ort, ratio = _interleaved(lambda: ref.predict(feed), lambda: sess.run(None, feed), repeat)
        m = compare_arrays(ref_out[None], ort_out[None])
        label = f"{name} {shape[-1]}px"
        rows.append((label, precision, t_load, t_ref, t_ort, ratio, m["max_abs_error"], m["cosine_similarity"]))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description="Core ML reference executor vs ONNX Runtime timing")
    parser.add_argument("--models", default=DEFAULT_MODELS, help="comma-separated: " + ",".join(BUILDERS))
    parser.add_argument("--precision", default="fp32", help="comma-separated Core ML compute precisions")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs (median reported) after one warm-up")
    parser.add_argument("--workdir", help="keep the exported/converted models here (default: a temp dir)")
    parser.add_argument("--ort-threads", type=int, default=2, help="ONNX Runtime intra-op threads")
    parser.add_argument("--ort-spinning", action="store_true",
                        help="keep ORT's spin-waiting worker threads (its default; they run during the executor's runs)")
    args = parser.parse_args(argv)
    workdir = args.workdir or tempfile.mkdtemp(prefix="bench_coreml_ref_")
    os.makedirs(workdir, exist_ok=True)
    rows = []
    for name in args.models.split(","):
        rows += bench(name.strip(), args.precision.split(","), args.repeat, workdir, args.ort_threads, args.ort_spinning)
    spin = "spinning" if args.ort_spinning else "no spin-wait"
    print(f"\nONNX Runtime: {args.ort_threads} thread(s), {spin}; executor: {kernel_threads()}; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; median of {args.repeat} interleaved runs")
    print(f"{'model':<16} {'prec':<5} {'load s':>7} {'executor s':>11} {'ORT s':>8} {'ratio':>7} "
          f"{'max|ref-ort|':>13} {'cosine':>9}")
    for name, prec, t_load, t_ref, t_ort, ratio, err, cos in rows:
        print(f"{name:<16} {prec:<5} {t_load:>7.2f} {t_ref:>11.3f} {t_ort:>8.3f} {ratio:>7.2f} {err:>13.3g} {cos:>9.6f}")
    worst = max(r[5] for r in rows)
    print(f"worst executor/ORT ratio: {worst:.2f} (target <= 2)")


if __name__ == "__main__":
    main()
