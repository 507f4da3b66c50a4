"""app_files: files an app reads beside the Core ML models, written by the model source's hook.

A model source may define ``app_files`` (``models.source.AppFiles``); the stage
runs when the recipe exports one of the entries it names, and writes into app/.
For open_clip: the zero-shot label embeddings and the CLIP tokenizer files.
"""

from __future__ import annotations

from pipeline_runner.engine.stage import Stage, StageContext, StageResult
from pipeline_runner.stages.build import WEIGHTS

APP_DIR = "app"


def _hook(recipe):
    from pipeline_runner.models.registry import get_source

    return get_source(recipe.model.source).app_files


def applies(recipe) -> bool:
    hook = _hook(recipe)
    return hook is not None and any(g.entry in hook.entries for g in recipe.graphs)


def run(ctx: StageContext) -> StageResult:
    from pipeline_runner.models.instantiate import load_built_model

    recipe = ctx.recipe
    model = load_built_model(recipe, ctx.existing(WEIGHTS))
    out_dir = ctx.output(f"{APP_DIR}/.keep").parent
    written = _hook(recipe).write(model, recipe, out_dir)
    artifacts = sorted(p.relative_to(ctx.work_dir).as_posix() for p in written)
    if not artifacts:
        raise ValueError(f"model source {recipe.model.source!r} wrote no app files")
    for rel in artifacts:
        ctx.log(rel)
    notes = []
    if ctx.upstream_info.get("build", {}).get("random_weights", True):
        notes.append("RANDOM WEIGHTS: app files (e.g. label embeddings) come from a seeded random model")
    return StageResult(artifacts, info={"files": artifacts}, notes=notes)


STAGE = Stage(
    name="app_files",
    version=1,
    run=run,
    needs=("build",),
    reads=("model", "graphs"),
    tools=("torch", "open_clip_torch"),
    imports=("torch", "open_clip"),
    code=("pipeline_runner.stages.app_files", "pipeline_runner.models", "pipeline_runner.tokenizer_export"),
    applies=applies,
)
