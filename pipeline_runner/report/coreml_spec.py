"""A saved Core ML model's interface and op histogram, read from its protobuf spec.

The validate stage (which has the spec loaded) stores this in validation/<graph>.json,
so writing the report never imports coremltools."""

from __future__ import annotations

import collections


def _feature(f) -> dict:
    kind = f.type.WhichOneof("Type")
    row = {"name": f.name, "kind": kind.replace("Type", ""), "shape": "", "detail": ""}
    if kind == "multiArrayType":
        from coremltools.proto import FeatureTypes_pb2

        arr = f.type.multiArrayType
        row["shape"] = "×".join(str(d) for d in arr.shape) or "?"
        row["detail"] = FeatureTypes_pb2.ArrayFeatureType.ArrayDataType.Name(arr.dataType).lower()
    elif kind == "imageType":
        from coremltools.proto import FeatureTypes_pb2

        img = f.type.imageType
        row["shape"] = f"{img.height}×{img.width}"
        row["detail"] = FeatureTypes_pb2.ImageFeatureType.ColorSpace.Name(img.colorSpace)
    elif kind == "dictionaryType":
        row["detail"] = f"keys: {f.type.dictionaryType.WhichOneof('KeyType')}"
    return row


def _mil_ops(block, counter) -> None:
    for op in block.operations:
        if op.type != "const":
            counter[op.type] += 1
        for inner in op.blocks:
            _mil_ops(inner, counter)


def summarise(spec) -> dict:
    counter: collections.Counter = collections.Counter()
    kind = spec.WhichOneof("Type")
    if kind == "mlProgram":
        for function in spec.mlProgram.functions.values():
            for block in function.block_specializations.values():
                _mil_ops(block, counter)
    else:
        nn = getattr(spec, kind, None)
        for layer in getattr(nn, "layers", []):
            counter[layer.WhichOneof("layer")] += 1
    return {
        "model_type": kind,
        "specification_version": spec.specificationVersion,
        "inputs": [_feature(f) for f in spec.description.input],
        "outputs": [_feature(f) for f in spec.description.output],
        "op_histogram": dict(counter.most_common()),
        "metadata": dict(spec.description.metadata.userDefined),
    }
