"""build: make the PyTorch model (seeded, or from the recipe's checkpoint) and save its weights."""

from __future__ import annotations

import json

from pipeline_runner.engine.stage import Stage, StageContext, StageResult

WEIGHTS = "weights/model.safetensors"
INFO = "weights/model.json"


def run(ctx: StageContext) -> StageResult:
    from pipeline_runner import progress

    progress.step("importing torch")
    from safetensors.torch import save_model

    from pipeline_runner.models.checkpoint import checkpoint_spec
    from pipeline_runner.models.instantiate import create_model

    checkpoint = checkpoint_spec(ctx.recipe)
    progress.step("creating the model" + (" and loading the checkpoint" if checkpoint else " (seeded random weights)"))
    model = create_model(ctx.recipe, checkpoint, foreign=True)
    norm = _calibrate_norm(ctx, model) if checkpoint is None else None
    progress.step("saving weights")
    save_model(model, str(ctx.output(WEIGHTS)))
    params = sum(p.numel() for p in model.parameters())
    spec = ctx.recipe.model
    info = {
        "source": spec.source,
        "architecture": spec.architecture,
        "parameters": params,
        "random_weights": checkpoint is None,
        # as the recipe writes it (relative to it): no machine path
        "checkpoint": spec.checkpoint.path if spec.checkpoint else None,
        "seed": spec.seed,
        "norm_statistics": norm,
    }
    if checkpoint is not None and (checkpoint.strip_prefix or checkpoint.add_prefix or checkpoint.ignore_keys):
        info["checkpoint_keys_ignored"] = getattr(model, "ignored_checkpoint_keys", [])
    ctx.output(INFO).write_text(json.dumps(info, indent=2) + "\n")
    notes = []
    if checkpoint is None:
        notes.append("RANDOM WEIGHTS: no model.checkpoint given; the model is seeded random "
                     "initialisation and its predictions mean nothing")
        ctx.log("WARNING: " + notes[-1])
    if norm and norm.get("calibrated"):
        ctx.log(f"BatchNorm statistics of {norm['layers']} layers re-estimated on {norm['samples']} seeded inputs")
    elif norm and norm.get("error"):
        notes.append(f"BatchNorm statistics NOT re-estimated: {norm['error']}")
        ctx.log("WARNING: " + notes[-1])
    ctx.log(f"{params:,} parameters")
    return StageResult([WEIGHTS, INFO], info=info, notes=notes)


def _calibrate_norm(ctx, model) -> dict | None:
    """Random weights: re-estimate BatchNorm statistics through the graphs, in order, until every
    BatchNorm layer of the model has been reached (None: disabled or no BatchNorm layer)."""
    from pipeline_runner.models.instantiate import entry_module
    from pipeline_runner.models.norm_calibration import batchnorm_layers, calibrate, seeded_batches

    cfg = ctx.recipe.model.norm_calibration
    todo = {id(m) for m in batchnorm_layers(model)}
    if not cfg.enabled or not todo:
        return None
    done, used = 0, []
    try:
        for graph in ctx.recipe.graphs:
            if not todo:
                break
            module = entry_module(ctx.recipe, model, graph)
            mine = {id(m) for m in batchnorm_layers(module)} & todo
            if not mine:
                continue
            batches = seeded_batches(graph, cfg.seed, cfg.samples)
            try:
                calibrate(module, batches)
            except Exception:  # e.g. a model that only takes batch 1: one sample at a time
                calibrate(module, [tuple(t[i:i + 1] for t in b) for b in batches for i in range(len(b[0]))])
            todo -= mine
            done += len(mine)
            used.append(graph.name)
    except Exception as exc:
        return {"calibrated": False, "error": f"{type(exc).__name__}: {exc}"}
    return {"calibrated": True, "layers": done, "samples": cfg.samples, "seed": cfg.seed, "graphs": used,
            "method": "BatchNorm running statistics re-estimated (cumulative average, training-mode batches) "
                      "on seeded random inputs"}


def _checkpoint_files(recipe):
    from pipeline_runner.models.checkpoint import CheckpointError, checkpoint_spec

    spec = checkpoint_spec(recipe)
    try:
        return spec.files() if spec else []
    except CheckpointError:  # a directory without weights: the recipe check reports it
        return []


STAGE = Stage(
    name="build",
    version=2,
    run=run,
    # The graphs' inputs and entries feed the BatchNorm re-estimation of random-weight builds.
    reads=("model", "graphs[].name", "graphs[].inputs", "graphs[].entry"),
    tools=("torch", "timm", "open_clip_torch", "transformers", "safetensors"),
    imports=("torch", "safetensors.torch"),
    code=("pipeline_runner.models",),
    reads_files=_checkpoint_files,
)
