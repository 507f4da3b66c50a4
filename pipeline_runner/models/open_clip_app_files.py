"""Files a CLIP app reads beside its models: zero-shot label embeddings and the tokenizer."""

from __future__ import annotations

import json
from pathlib import Path

from pipeline_runner.models.open_clip_entries import DEFAULT_TEMPLATES, context_length, label_embeddings

CLIP_TEXT_ENTRIES = frozenset({"text_encoder", "zero_shot_classifier"})


def write_app_files(model, recipe, out_dir: Path) -> list[Path]:
    """label_embeddings.json for each zero-shot graph; the tokenizer (vocab, merges, test vectors)."""
    zero_shot = [g for g in recipe.graphs if g.entry == "zero_shot_classifier"]
    written: list[Path] = []
    prompts: list[str] = []
    for graph in zero_shot:
        # entry_args are this source's own keyword arguments of _zero_shot_classifier
        labels = list(graph.entry_labels)
        templates = list(graph.entry_args.get("templates", DEFAULT_TEMPLATES))
        prompts += [t.format(label) for label in labels for t in templates]
        embeddings = label_embeddings(model, labels, templates)
        name = "label_embeddings.json" if len(zero_shot) == 1 else f"label_embeddings.{graph.name}.json"
        path = out_dir / name
        path.write_text(json.dumps({
            "graph": graph.name,
            "labels": labels,
            "templates": templates,
            "logit_scale": float(model.logit_scale.detach().exp()),
            "embeddings": [[float(x) for x in row] for row in embeddings.tolist()],
        }) + "\n")
        written.append(path)
    from pipeline_runner.tokenizer_export import DEFAULT_TEXTS, export_clip_tokenizer

    # Flat, beside the label embeddings: an app bundle is flat (vocab.json, merges.txt, test_vectors.json).
    files = export_clip_tokenizer(out_dir, [*DEFAULT_TEXTS, *prompts],
                                  context_length=context_length(model))
    written += [files[k] for k in sorted(files)]
    return written
