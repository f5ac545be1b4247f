"""Per-draw arrays that live on disk, not in memory, once they are large.

A run keeps a few hundred numbers per draw (present values by programme, sector and kind; payback
years; per-draw metrics). At 200,000 draws that is gigabytes: held in memory, the run's peak memory
would grow with the draws. :func:`draw_array` gives an array that is an ordinary NumPy array while
small and a memory-mapped scratch file (``numpy.lib.format.open_memmap``) once it is larger than
:data:`IN_MEMORY_BYTES`; the operating system then pages it to disk as needed. Code that fills and
reads such arrays in blocks of draws (:func:`draw_blocks`) therefore needs memory bounded by the block
size, whatever the number of draws.

The scratch file is unlinked as soon as it is mapped: the mapping keeps the data until the array is
garbage-collected, and nothing is left behind after a crash. The folder is ``ROI_ENGINE_SCRATCH`` when
set, else the system's temporary folder.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from roi_engine.errors import InputError

IN_MEMORY_BYTES = 8 * 2**20  # arrays up to this size stay in memory
BLOCK_DRAWS = 20_000  # draws per block when filling or reducing a per-draw array


def scratch_folder() -> Path:
    """Where large per-draw arrays are paged to."""
    return Path(os.environ.get("ROI_ENGINE_SCRATCH") or tempfile.gettempdir())


def draw_array(shape: tuple[int, ...], dtype=np.float64, *, by_column: bool = False) -> np.ndarray:
    """An uninitialised array of ``shape`` (draws first), in memory or memory-mapped on disk.

    ``by_column=True`` stores it with the draws last (each column's draws contiguous) and returns the
    draws-first view of it: the layout for statistics over draws one column at a time (quantiles
    then read one contiguous run per column, not every row of a strided array).

    Raises
    ------
    InputError
        When the scratch folder cannot hold it (one line naming the folder and the size).
    """
    dtype = np.dtype(dtype)
    if by_column:
        return np.moveaxis(draw_array((*shape[1:], shape[0]), dtype), -1, 0)
    size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if size <= IN_MEMORY_BYTES:
        return np.empty(shape, dtype=dtype)
    folder = scratch_folder()
    try:
        free = shutil.disk_usage(folder).free
    except OSError as exc:
        raise InputError(f"cannot use the scratch folder {folder} ({exc.strerror or exc})",
                         where="ROI_ENGINE_SCRATCH",
                         hint="set ROI_ENGINE_SCRATCH to a writable folder") from None
    if size > 0.9 * free:
        raise InputError(f"the per-draw results need {size / 2**30:.1f} GiB of scratch space and "
                         f"{folder} has {free / 2**30:.1f} GiB free", where="--draws",
                         hint="use fewer draws, or set ROI_ENGINE_SCRATCH to a folder with more space")
    handle, name = tempfile.mkstemp(prefix="roi-engine-draws-", suffix=".npy", dir=folder)
    os.close(handle)
    try:
        array = np.lib.format.open_memmap(name, mode="w+", dtype=dtype, shape=shape)
    finally:
        os.unlink(name)  # the mapping keeps the data; nothing is left behind
    return array


def is_paged(array) -> bool:
    """Whether ``array`` (or the array it views) is memory-mapped from a scratch file."""
    while isinstance(array, np.ndarray):
        if isinstance(array, np.memmap):
            return True
        array = array.base
    return False


def draw_blocks(n: int, size: int = BLOCK_DRAWS):
    """Slices ``start:stop`` that cover ``0..n`` in blocks of ``size`` draws."""
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


__all__ = ["draw_array", "draw_blocks", "is_paged", "scratch_folder", "IN_MEMORY_BYTES", "BLOCK_DRAWS"]
