"""Route third-party tqdm bars (coremltools' "Running MIL ... pipeline", op translation)
into the current stage's progress instead of letting them draw on the terminal.

coremltools binds ``tqdm`` at import (``from tqdm import tqdm``), and it is imported lazily
inside stages, so both the ``tqdm`` module's attribute (for later imports) and the names
already bound in imported coremltools modules are swapped while a stage runs.
"""

from __future__ import annotations

import io
import sys
from contextlib import contextmanager

_PACKAGES = ("coremltools", "onnx2coreml")


def _captured_class(original):
    from pipeline_runner.progress import api

    class CapturedTqdm(original):
        def __init__(self, *args, **kwargs):
            kwargs.update(disable=False, file=io.StringIO(), mininterval=0.0, miniters=1, leave=False)
            kwargs.pop("position", None)
            super().__init__(*args, **kwargs)

        def display(self, msg=None, pos=None):  # called by tqdm at each refresh
            label = (self.desc or "").strip().rstrip(":")
            handle = api._current.get()
            if handle is not None and label and handle.step != label:
                api.step(label)
            api.advance(self.n, self.total, self.unit.strip() if isinstance(self.unit, str) else "")
            return True

    CapturedTqdm.__name__ = CapturedTqdm.__qualname__ = "tqdm"
    return CapturedTqdm


@contextmanager
def captured_tqdm():
    try:
        import tqdm
        import tqdm.std
    except ImportError:  # nothing can draw a tqdm bar then
        yield
        return
    original = tqdm.std.tqdm
    replacement = _captured_class(original)
    swapped = [(tqdm, "tqdm", tqdm.tqdm)]
    tqdm.tqdm = replacement
    for name, module in list(sys.modules.items()):
        if module is None or not name.startswith(_PACKAGES):
            continue
        for attr in ("tqdm", "_tqdm"):
            if getattr(module, attr, None) is original:
                swapped.append((module, attr, original))
                setattr(module, attr, replacement)
    try:
        yield
    finally:
        for module, attr, value in reversed(swapped):
            setattr(module, attr, value)
        # Modules first imported during the stage bound the replacement: give them tqdm back.
        for name, module in list(sys.modules.items()):
            if module is not None and name.startswith(_PACKAGES):
                for attr in ("tqdm", "_tqdm"):
                    if getattr(module, attr, None) is replacement:
                        setattr(module, attr, original)
