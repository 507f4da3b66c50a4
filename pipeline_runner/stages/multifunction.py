"""multifunction: graphs saved as functions of one package so their shared weights are stored once.

For each ``compress.multifunction`` entry: the listed graphs' packages (or a compression
variant's) become functions of ``multifunction/<name>.mlpackage``; each function is run by the
reference executor on the validation samples and must compute exactly what its single-function
package computes. The report gives the sizes before and after.
"""

from __future__ import annotations

import json

from pipeline_runner.engine.stage import Stage, StageContext, StageResult
from pipeline_runner.stages.convert import coreml_artifact


def _source(recipe, graph: str, variant: str | None) -> str:
    from pipeline_runner.compress.variants import compressed_artifact

    return compressed_artifact(graph, variant) if variant else coreml_artifact(recipe, graph)


def run(ctx: StageContext) -> StageResult:
    from pipeline_runner.compress.measure import disk_size
    from pipeline_runner.compress.multifunction import multifunction_artifact, multifunction_report, save_shared
    from pipeline_runner.coreml_reference import load_model
    from pipeline_runner.samples import make_samples
    from pipeline_runner.validate.metrics import compare_arrays

    recipe, cfg = ctx.recipe, ctx.recipe.validate
    artifacts, failures, info = [], [], {}
    for entry in recipe.compress.multifunction:
        sources = {g: ctx.existing(_source(recipe, g, entry.variant)) for g in entry.functions}
        missing = [str(p) for p in sources.values() if not p.exists()]
        if missing:
            raise FileNotFoundError(f"compress.multifunction {entry.name}: no package {', '.join(missing)} "
                                    "(did that compression variant fail?)")
        rel = multifunction_artifact(entry.name)
        out = ctx.output(rel)
        save_shared(sources, out)
        functions = {}
        for graph, path in sources.items():
            single, shared = load_model(path), load_model(out, function=graph)
            inputs = recipe.graph(graph).inputs
            diffs = {}
            for s in make_samples(inputs, cfg.seed, cfg.samples):
                feeds = {k: v for k, v in {**s.tensors, **s.pixels}.items() if k in single.input_names}
                want, got = single.predict(feeds), shared.predict(feeds)
                for name, value in want.items():
                    if isinstance(value, (str, int)):  # a class label
                        diffs.setdefault(name, []).append(0.0 if got[name] == value else float("inf"))
                        continue
                    if isinstance(value, dict):
                        value, got_value = list(value.values()), list(got[name].values())
                    else:
                        got_value = got[name]
                    diffs.setdefault(name, []).append(compare_arrays(got_value, value)["max_abs_error"])
            worst = {name: max(v) for name, v in diffs.items()}
            functions[graph] = {"source": str(path.relative_to(ctx.build_dir)), "max_abs_difference": worst,
                                "identical": all(v == 0.0 for v in worst.values())}
            if not functions[graph]["identical"]:
                failures.append(f"multifunction {entry.name}: function {graph} differs from {path.name}: {worst}")
        before = sum(disk_size(p) for p in sources.values())
        report = {"name": entry.name, "functions": functions, "default_function": entry.functions[0],
                  "separate_bytes": before, "shared_bytes": disk_size(out),
                  "saved_bytes": before - disk_size(out), "passed": not failures}
        ctx.output(multifunction_report(entry.name)).write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
        artifacts += [multifunction_report(entry.name), rel]
        info[entry.name] = {k: report[k] for k in ("separate_bytes", "shared_bytes", "saved_bytes")}
        ctx.log(f"{entry.name}: {', '.join(entry.functions)} in one package, "
                f"{before / 1e6:.1f} MB → {report['shared_bytes'] / 1e6:.1f} MB")
    return StageResult(artifacts, info=info, failures=failures)


STAGE = Stage(
    name="multifunction",
    version=1,
    run=run,
    needs=("convert", "compress"),
    reads=("compress.multifunction", "validate.samples", "validate.seed", "graphs"),
    tools=("coremltools", "numpy"),
    imports=("coremltools",),
    code=("pipeline_runner.compress.multifunction", "pipeline_runner.coreml_reference", "pipeline_runner.samples",
          "pipeline_runner.images"),
    applies=lambda recipe: bool(recipe.compress.multifunction),
)
