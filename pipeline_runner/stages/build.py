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

    from pipeline_runner.models.instantiate import create_model

    checkpoint = ctx.recipe.checkpoint_path()
    progress.step("creating the model" + (" and loading the checkpoint" if checkpoint else " (seeded random weights)"))
    model = create_model(ctx.recipe, checkpoint, foreign=True)
    progress.step("saving weights")
    save_model(model, str(ctx.output(WEIGHTS)))
    params = sum(p.numel() for p in model.parameters())
    spec = ctx.recipe.data["model"]
    info = {
        "source": spec["source"],
        "architecture": spec["architecture"],
        "parameters": params,
        "random_weights": checkpoint is None,
        "checkpoint": str(checkpoint) if checkpoint else None,
        "seed": spec["seed"],
    }
    ctx.output(INFO).write_text(json.dumps(info, indent=2) + "\n")
    notes = []
    if checkpoint is None:
        notes.append("RANDOM WEIGHTS: no model.checkpoint given; the model is seeded random "
                     "initialisation and its predictions mean nothing")
        ctx.log("WARNING: " + notes[-1])
    ctx.log(f"{params:,} parameters")
    return StageResult([WEIGHTS, INFO], info=info, notes=notes)


def _checkpoint_files(recipe):
    path = recipe.checkpoint_path()
    return [path] if path else []


STAGE = Stage(
    name="build",
    version=1,
    run=run,
    reads=("model",),
    tools=("torch", "timm", "open_clip_torch", "safetensors"),
    code=("pipeline_runner.models",),
    reads_files=_checkpoint_files,
)
