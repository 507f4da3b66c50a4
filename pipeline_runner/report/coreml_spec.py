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
    desc = spec.description
    # A multifunction package (one function per enumerated shape): the default function's
    # interface and ops, and each function's inputs.
    io = next((f for f in desc.functions if f.name == desc.defaultFunctionName), desc)
    if kind == "mlProgram":
        functions = spec.mlProgram.functions
        for name, function in functions.items():
            if desc.functions and name != desc.defaultFunctionName:
                continue
            for block in function.block_specializations.values():
                _mil_ops(block, counter)
    else:
        nn = getattr(spec, kind, None)
        for layer in getattr(nn, "layers", []):
            counter[layer.WhichOneof("layer")] += 1
    return {
        "model_type": kind,
        "specification_version": spec.specificationVersion,
        "inputs": [_feature(f) for f in io.input],
        "outputs": [_feature(f) for f in io.output],
        **({"functions": {f.name: [_feature(i) for i in f.input] for f in desc.functions}} if desc.functions else {}),
        "op_histogram": dict(counter.most_common()),
        "metadata": dict(spec.description.metadata.userDefined),
    }
