"""Image inputs in Core ML: the recipe's normalisation goes into the graph, the input becomes a picture.

Core ML's image input type applies one scale and a per-channel bias; models such as
CLIP also divide by a per-channel std. So instead of ``ct.ImageType(scale, bias)`` the
ONNX graph gets three nodes in front, ``(pixel * pixel_scale - mean) / std`` per
channel, exactly as the recipe's ``image`` section (and ``samples.normalise``) say,
and the Core ML input is a plain ``ct.ImageType`` (scale 1, bias 0) of the input's
width and height: the model takes 0..255 pixels in the declared colour layout.

The ONNX artifact itself is untouched: it keeps taking the normalised tensor.
"""

from __future__ import annotations

import numpy as np


def image_specs(graph) -> list:
    """The graph's inputs that declare an ``image`` section."""
    return list(graph.image_inputs)


def normalisation_constants(image) -> dict[str, np.ndarray]:
    """pixel_scale, mean and std of an ``ImageSpec`` as [1, 3, 1, 1] float32 arrays (model channel order)."""
    shape = (1, 3, 1, 1)
    return {
        "pixel_scale": np.full(shape, image.pixel_scale, np.float32),
        "mean": np.asarray(image.mean, np.float32).reshape(shape),
        "std": np.asarray(image.std, np.float32).reshape(shape),
    }


def normalisation_nodes(name: str, image, out: str) -> tuple[list, list]:
    """(nodes, initializers) computing ``out = (name * pixel_scale - mean) / std``."""
    from onnx import helper, numpy_helper

    consts = normalisation_constants(image)
    inits = [numpy_helper.from_array(v, f"{name}__{k}") for k, v in consts.items()]
    nodes = [
        helper.make_node("Mul", [name, f"{name}__pixel_scale"], [f"{name}__scaled"], name=f"{name}__scale"),
        helper.make_node("Sub", [f"{name}__scaled", f"{name}__mean"], [f"{name}__centred"], name=f"{name}__centre"),
        helper.make_node("Div", [f"{name}__centred", f"{name}__std"], [out], name=f"{name}__normalise"),
    ]
    return nodes, inits


def prepend_normalisation(model, graph):
    """A copy of ONNX ``model`` whose image inputs take 0..255 pixels and normalise them inside."""
    from pipeline_runner.onnx_weights import check_model, copy_model

    specs = image_specs(graph)
    if not specs:
        return model
    model = copy_model(model)
    g = model.graph
    new_nodes, new_inits = [], []
    for spec in specs:
        name = spec.name
        normalised = f"{name}__normalised"
        for node in g.node:
            for i, value in enumerate(node.input):
                if value == name:
                    node.input[i] = normalised
        for out in g.output:
            if out.name == name:
                raise ValueError(f"input {name!r} is also a graph output; cannot put its preprocessing in front")
        nodes, inits = normalisation_nodes(name, spec.image, normalised)
        new_nodes += nodes
        new_inits += inits
    existing = list(g.node)
    del g.node[:]
    g.node.extend(new_nodes + existing)
    g.initializer.extend(new_inits)
    check_model(model)
    return model


def coreml_image_inputs(ct, graph, shapes: dict | None = None) -> list | None:
    """``ct.ImageType`` for each image input (no scale or bias: those are in the graph), or None.

    ``shapes`` (input name → shape) overrides the dummy shape: one of the recipe's enumerated sizes."""
    specs = image_specs(graph)
    if not specs:
        return None
    layouts = {"RGB": ct.colorlayout.RGB, "BGR": ct.colorlayout.BGR}
    return [ct.ImageType(name=s.name, shape=tuple((shapes or {}).get(s.name, s.shape)),
                         color_layout=layouts[s.image.color_layout],
                         scale=1.0, bias=[0.0, 0.0, 0.0], channel_first=True)
            for s in specs]


def preprocessing_model(image, height: int, width: int, opset: int = 17):
    """A standalone ONNX model: pixels [1, 3, H, W] float (0..255) -> what the exported graph takes.

    The same nodes ``prepend_normalisation`` puts in front of the Core ML graph, for tests
    and tools that want to check the preprocessing on its own.
    """
    from onnx import TensorProto, helper

    nodes, inits = normalisation_nodes("pixels", image, "normalised")
    shape = [1, 3, height, width]
    g = helper.make_graph(nodes, "preprocessing",
                          [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, shape)],
                          [helper.make_tensor_value_info("normalised", TensorProto.FLOAT, shape)], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
