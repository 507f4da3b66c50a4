"""Reads constants from an ML Program's weight file (``Data/com.apple.CoreML/weights/weight.bin``).

The MIL blob format is small and stable, so it is parsed here with a memory map
instead of coremltools' native ``BlobReader``: large weights are not copied, and the
reader works wherever NumPy does. Layout (MILBlob storage v2): each blob has a
64-byte metadata record at the offset the program cites —
``uint32 sentinel=0xDEADBEEF, uint32 dtype, uint64 size_in_bytes, uint64 data_offset, ...``.
"""

from __future__ import annotations

import mmap
import os
import struct

import numpy as np

from .errors import CoreMLReferenceError

_SENTINEL = 0xDEADBEEF
_METADATA = struct.Struct("<IIQQ")


class BlobFile:
    def __init__(self, path: str):
        self.path = path
        with open(path, "rb") as f:
            self._mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)

    def read(self, offset: int, np_dtype, count: int | None = None) -> np.ndarray:
        """The raw bytes of the blob at ``offset`` viewed as ``np_dtype`` (read-only)."""
        sentinel, _dtype, size, data_offset = _METADATA.unpack_from(self._mm, offset)
        if sentinel != _SENTINEL:
            raise CoreMLReferenceError(f"{self.path}: no blob metadata at offset {offset} (bad sentinel)")
        if data_offset + size > len(self._mm):
            raise CoreMLReferenceError(f"{self.path}: blob at {offset} runs past the end of the file")
        np_dtype = np.dtype(np_dtype)
        n = size // np_dtype.itemsize if count is None else count
        return np.frombuffer(self._mm, dtype=np_dtype, count=n, offset=data_offset)


class BlobStore:
    """Opens each weight file of a package once."""

    def __init__(self, weights_dir: str | None):
        self.weights_dir = weights_dir
        self._files: dict[str, BlobFile] = {}

    def read(self, file_name: str, offset: int, np_dtype, count: int | None = None) -> np.ndarray:
        if not self.weights_dir:
            raise CoreMLReferenceError(f"the program references weight file {file_name!r} but no weights directory exists")
        # The program cites "@model_path/weights/weight.bin"; only the base name matters.
        path = os.path.join(self.weights_dir, file_name.split("/")[-1])
        if path not in self._files:
            if not os.path.exists(path):
                raise CoreMLReferenceError(f"weight file missing: {path}")
            self._files[path] = BlobFile(path)
        return self._files[path].read(offset, np_dtype, count)
