"""Keep third-party chatter (progress bars, import warnings) out of the runner's output."""

from __future__ import annotations

import logging
import os
import warnings


def quiet_third_party() -> None:
    os.environ.setdefault("TQDM_DISABLE", "1")  # coremltools' pass-pipeline progress bars
    for name in ("coremltools", "onnx2coreml", "torch.onnx", "onnxscript"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="coremltools")
    warnings.filterwarnings("ignore", category=DeprecationWarning, module="torch.onnx")
    warnings.filterwarnings("ignore", message=".*has not been tested with coremltools.*")
