"""One recipe variant through ``coremltools.optimize.coreml``: the recipe's sections are the
keyword arguments of the op configs, so this module only builds configs and calls coremltools.

Order: activations are calibrated on the float model first (as coremltools recommends), then
weights are pruned, then palettized and/or linearly quantized; after pruning (or palettization)
the next weight compressor runs with ``joint_compression=True`` (iOS 18 sparse / quantized-LUT forms).
"""

from __future__ import annotations

import fnmatch
import json
import warnings
from pathlib import Path

from pipeline_runner.compress.variants import CONFIG_TYPES

_OWN_KEYS = ("op_type_configs", "op_name_configs", "calibration_samples")


class CompressionSettingError(ValueError):
    """A variant's setting coremltools rejects, or a name pattern that matches no op."""


def op_names(mlmodel) -> list[str]:
    """Names of the program's ops (what ``op_name_configs`` keys are matched against)."""
    spec = mlmodel.get_spec()
    names = []
    for function in spec.mlProgram.functions.values():
        for block in function.block_specializations.values():
            for op in block.operations:
                name = op.attributes["name"].immediateValue.tensor.strings.values if "name" in op.attributes else None
                names.append(name[0] if name else op.outputs[0].name)
    return names


def build_config(kind: str, section: dict, names: list[str], where: str):
    """An ``OptimizationConfig`` from a recipe section (overrides are merged over the section's
    settings; ``null`` skips those ops; ``op_name_configs`` keys may be fnmatch patterns)."""
    import coremltools.optimize.coreml as cto

    cls = getattr(cto, CONFIG_TYPES[kind])
    base = {k: (tuple(v) if isinstance(v, list) else v) for k, v in section.items() if k not in _OWN_KEYS}

    def make(settings, at):
        if settings is None:
            return None
        try:
            return cls(**{**base, **{k: tuple(v) if isinstance(v, list) else v for k, v in settings.items()}})
        except (TypeError, ValueError) as exc:
            raise CompressionSettingError(f"{at}: coremltools {cls.__name__} rejects it: {exc}") from exc

    by_name = {}
    for pattern, settings in (section.get("op_name_configs") or {}).items():
        matched = fnmatch.filter(names, pattern)
        if not matched:
            raise CompressionSettingError(f"{where}.op_name_configs: {pattern!r} matches no op of the model "
                                          f"(e.g. {', '.join(names[:5])})")
        by_name.update({n: make(settings, f"{where}.op_name_configs.{pattern}") for n in matched})
    return cto.OptimizationConfig(
        global_config=make({}, where),
        op_type_configs={t: make(s, f"{where}.op_type_configs.{t}")
                         for t, s in (section.get("op_type_configs") or {}).items()},
        op_name_configs=by_name,
    )


def compress_model(base_path: Path, out_path: Path, variant: dict, calibration: list[dict] | None = None) -> None:
    """Compress the saved model at ``base_path`` as ``variant`` says; save to ``out_path``."""
    import coremltools as ct
    import coremltools.optimize.coreml as cto

    where = f"compress.variants.{variant['name']}"
    import shutil
    import tempfile

    with warnings.catch_warnings(), tempfile.TemporaryDirectory() as scratch:
        warnings.simplefilter("ignore")
        # coremltools may rewrite a package it opens: open a copy, never the convert stage's artifact
        copy = Path(scratch) / Path(base_path).name
        (shutil.copytree if Path(base_path).is_dir() else shutil.copy2)(base_path, copy)
        model = ct.models.MLModel(str(copy), skip_model_load=True)
        names = op_names(model)
        if "quantize_activations" in variant:
            from pipeline_runner.compress.calibrate import reference_calibration

            config = build_config("quantize_activations", variant["quantize_activations"], names,
                                  f"{where}.quantize_activations")
            with reference_calibration(base_path):
                model = cto.linear_quantize_activations(model, config, calibration)
        joint = False
        for kind, fn in (("prune", cto.prune_weights), ("palettize", cto.palettize_weights),
                         ("linear_quantize", cto.linear_quantize_weights)):
            if kind not in variant:
                continue
            config = build_config(kind, variant[kind], names, f"{where}.{kind}")
            model = fn(model, config, joint_compression=True) if joint else fn(model, config)
            joint = True
        # provenance beside convert's: which variant, with which settings
        model.user_defined_metadata["pipeline_runner.compression"] = json.dumps(variant, sort_keys=True)
        model.save(str(out_path))
