"""Image datasets held in memory as uint8 tensors, pixels in [0, 1] once converted (DESIGN 3.1, 3.3).

No DataLoader, no PIL per sample: a batch is an index slice, converted to float on the trial's device.
Files are read in torchvision's layouts under a data root (``--data-dir``, ``data.dir`` or
``$EXPLORER_DATA_DIR``); nothing is ever downloaded.
"""

from __future__ import annotations

import csv
import functools
import gzip
import io
import os
import pickle
import struct
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from explorer import cache
from explorer.config import ConfigError

__all__ = ["ImageData", "DatasetMissing", "load_dataset", "data_root", "to_float", "subset", "half_indices",
           "train_half", "resize_to", "clear_loaded"]


class DatasetMissing(ConfigError):
    """A dataset's files are not where they were expected; the message says where and how to get them."""


@dataclass(frozen=True)
class ImageData:
    """Train and test splits as uint8 tensors [N, C, H, W] with int64 labels."""

    name: str
    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    num_classes: int
    mean: tuple[float, ...]  # per-channel, for the model's first (normalisation) layer
    std: tuple[float, ...]

    @property
    def shape(self) -> tuple[int, int, int]:
        c, h, w = self.train_x.shape[1:]
        return int(c), int(h), int(w)

    def to(self, device: torch.device | str) -> ImageData:
        return replace(self, train_x=self.train_x.to(device), train_y=self.train_y.to(device),
                       test_x=self.test_x.to(device), test_y=self.test_y.to(device))


def to_float(x: torch.Tensor) -> torch.Tensor:
    """uint8 pixels to float32 in [0, 1]."""
    return x.float().div_(255.0)


def data_root(configured: str | None) -> Path:
    """The data root: the configured path, else ``$EXPLORER_DATA_DIR``, else ``./data``."""
    root = configured or os.environ.get("EXPLORER_DATA_DIR") or "data"
    return Path(root).expanduser().absolute()


def subset(data: ImageData, train_n: int | None, test_n: int | None, generator: torch.Generator) -> ImageData:
    """A seeded subset of each split (``None`` keeps the split whole)."""
    def pick(n_max: int, n: int | None) -> torch.Tensor | None:
        if n is None or n >= n_max:
            return None
        return torch.randperm(n_max, generator=generator)[:n].sort().values

    out = data
    idx = pick(len(data.train_y), train_n)
    if idx is not None:
        out = replace(out, train_x=out.train_x[idx], train_y=out.train_y[idx])
    idx = pick(len(data.test_y), test_n)
    if idx is not None:
        out = replace(out, test_x=out.test_x[idx], test_y=out.test_y[idx])
    return out


def half_indices(n: int, which: int, generator: torch.Generator) -> torch.Tensor:
    """Sorted indices of half ``which`` (0 or 1) of a seeded split of ``range(n)``; the halves are disjoint."""
    perm = torch.randperm(n, generator=generator)
    return (perm[:n // 2] if which == 0 else perm[n // 2:]).sort().values


def train_half(data: ImageData, which: int, generator: torch.Generator) -> ImageData:
    """The training split restricted to one half (dataset inference's independent model trains on the other)."""
    idx = half_indices(len(data.train_y), which, generator)
    return replace(data, train_x=data.train_x[idx], train_y=data.train_y[idx])


def resize_to(x: torch.Tensor, shape: tuple[int, int, int]) -> torch.Tensor:
    """Convert uint8 images [N, C, H, W] to another (C, H, W): channel mean or repeat, bilinear resize."""
    c, h, w = shape
    y = x.float()
    if y.shape[1] != c:
        y = y.mean(dim=1, keepdim=True)
        if c > 1:
            y = y.repeat(1, c, 1, 1)
    if y.shape[2:] != (h, w):
        y = torch.nn.functional.interpolate(y, size=(h, w), mode="bilinear", align_corners=False, antialias=True)
    return y.round().clamp_(0, 255).to(torch.uint8)


# --- loaders -------------------------------------------------------------------------------------

_STATS = {  # published per-channel statistics of the public sets; computed from nothing private
    "mnist": ((0.1307,), (0.3081,)),
    "fashion_mnist": ((0.2860,), (0.3530,)),
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "gtsrb": ((0.3403, 0.3121, 0.3214), (0.2724, 0.2608, 0.2669)),
}


def _stats_of(x: torch.Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    f = x.float() / 255.0
    mean = f.mean(dim=(0, 2, 3))
    std = f.std(dim=(0, 2, 3)).clamp_min(1e-3)
    return tuple(round(float(v), 4) for v in mean), tuple(round(float(v), 4) for v in std)


def _fixed_split(x: torch.Tensor, y: torch.Tensor, test_fraction: float) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(0)  # the split is part of the dataset, not of a trial
    perm = torch.randperm(len(y), generator=g)
    n_test = int(round(len(y) * test_fraction))
    te, tr = perm[:n_test].sort().values, perm[n_test:].sort().values
    return x[tr], y[tr], x[te], y[te]


def _digits() -> ImageData:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = torch.from_numpy(np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)).unsqueeze(1)
    y = torch.from_numpy(bunch.target.astype(np.int64))
    tr_x, tr_y, te_x, te_y = _fixed_split(x, y, 0.2)
    mean, std = _stats_of(tr_x)
    return ImageData("digits", tr_x, tr_y, te_x, te_y, 10, mean, std)


def _synthetic() -> ImageData:
    """Four learnable classes of 1x8x8 images: a fixed prototype per class plus noise."""
    g = torch.Generator().manual_seed(1234)
    protos = torch.rand(4, 1, 8, 8, generator=g)
    def draw(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        y = torch.randint(0, 4, (n,), generator=g)
        x = (protos[y] + 0.25 * torch.randn(n, 1, 8, 8, generator=g)).clamp(0, 1)
        return (x * 255).round().to(torch.uint8), y
    tr_x, tr_y = draw(512)
    te_x, te_y = draw(256)
    mean, std = _stats_of(tr_x)
    return ImageData("synthetic", tr_x, tr_y, te_x, te_y, 4, mean, std)


def _read_idx(path: Path) -> np.ndarray:
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    magic, = struct.unpack(">I", raw[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def _missing(name: str, where: Path, files: str, how: str) -> DatasetMissing:
    return DatasetMissing(f"dataset {name!r} not found: expected {files} under {where}; {how}")


def _idx_dataset(name: str, folder: str, root: Path) -> ImageData:
    raw = root / folder / "raw"
    parts = {}
    for key, stem in (("train_x", "train-images-idx3-ubyte"), ("train_y", "train-labels-idx1-ubyte"),
                      ("test_x", "t10k-images-idx3-ubyte"), ("test_y", "t10k-labels-idx1-ubyte")):
        path = next((p for p in (raw / stem, raw / f"{stem}.gz") if p.is_file()), None)
        if path is None:
            raise _missing(name, raw, "train-images-idx3-ubyte[.gz] and the 3 other IDX files",
                           f"copy torchvision's {folder}/raw folder there (set --data-dir or EXPLORER_DATA_DIR)")
        parts[key] = _read_idx(path)
    mean, std = _STATS[name]
    return ImageData(name, torch.from_numpy(parts["train_x"].copy()).unsqueeze(1),
                     torch.from_numpy(parts["train_y"].astype(np.int64)),
                     torch.from_numpy(parts["test_x"].copy()).unsqueeze(1),
                     torch.from_numpy(parts["test_y"].astype(np.int64)), 10, mean, std)


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """CIFAR-10's python batches are pickles: allow the numpy array reconstruction and nothing else."""

    _ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                ("numpy", "ndarray"), ("numpy", "dtype")}

    def find_class(self, module: str, name: str) -> object:
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a CIFAR-10 batch")


def _cifar10(root: Path) -> ImageData:
    folder = root / "cifar-10-batches-py"
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    if not all((folder / n).is_file() for n in names):
        raise _missing("cifar10", folder, "data_batch_1..5 and test_batch (the python version)",
                       "extract cifar-10-python.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html there")
    xs, ys = [], []
    for n in names:
        with open(folder / n, "rb") as fh:
            batch = _NumpyOnlyUnpickler(io.BytesIO(fh.read()), encoding="latin1").load()
        xs.append(np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        ys.append(np.asarray(batch["labels"], dtype=np.int64))
    mean, std = _STATS["cifar10"]
    return ImageData("cifar10", torch.from_numpy(np.concatenate(xs[:5])), torch.from_numpy(np.concatenate(ys[:5])),
                     torch.from_numpy(xs[5]), torch.from_numpy(ys[5]), 10, mean, std)


def _pil_stack(paths: list[Path], size: tuple[int, int], mode: str) -> torch.Tensor:
    from PIL import Image

    out = np.empty((len(paths), size[1], size[0], 3 if mode == "RGB" else 1), dtype=np.uint8)
    for i, p in enumerate(paths):
        with Image.open(p) as im:
            arr = np.asarray(im.convert(mode).resize(size, Image.Resampling.BILINEAR))
        out[i] = arr.reshape(out.shape[1:])
    return torch.from_numpy(out).permute(0, 3, 1, 2).contiguous()


_GTSRB_FORMAT = 1  # bump when the decoded tensors of unchanged files would change


def _gtsrb(root: Path) -> ImageData:
    """GTSRB in torchvision's layout, each image resized to 32x32 RGB; classes are the folder numbers.

    Decoding 51k PPMs takes a while, so the decoded tensors are cached on disk (:mod:`explorer.cache`),
    keyed by the files' names, sizes and mtimes; labels are re-read every time.
    """
    base = root / "gtsrb"
    train_dir, test_dir = base / "GTSRB" / "Training", base / "GTSRB" / "Final_Test" / "Images"
    csv_path = base / "GT-final_test.csv"

    def missing(files: str) -> DatasetMissing:
        return _missing("gtsrb", base, files, "download the GTSRB archives from "
                        "https://benchmark.ini.rub.de/gtsrb_dataset.html there")

    layout = ("GTSRB/Training/<class>/*.ppm, GTSRB/Final_Test/Images/*.ppm and GT-final_test.csv "
              "(torchvision's GTSRB layout)")
    if not (train_dir.is_dir() and test_dir.is_dir() and csv_path.is_file()):
        raise missing(layout)
    train = sorted((p, int(p.parent.name)) for p in train_dir.glob("*/*.ppm"))
    with open(csv_path, newline="") as fh:
        try:
            test = [(test_dir / row["Filename"], int(row["ClassId"]))
                    for row in csv.DictReader(fh, delimiter=";", skipinitialspace=True)]
        except (KeyError, ValueError):
            raise missing("GT-final_test.csv with Filename and ClassId columns (GTSRB_Final_Test_GT.zip)") from None
    if not (train and test):
        raise missing(layout)
    size = (32, 32)
    try:
        files = [(str(p.relative_to(base)), st.st_size, st.st_mtime_ns) for p, _ in train + test for st in [p.stat()]]
    except FileNotFoundError as err:
        raise missing(f"{Path(str(err.filename)).name}, which GT-final_test.csv lists") from None
    from PIL import __version__ as pil_version

    key = cache.digest({"format": _GTSRB_FORMAT, "root": str(base.resolve()), "size": size, "pil": pil_version,
                        "files": files})
    entry, _ = cache.cached("gtsrb", key, lambda: {"train_x": _pil_stack([p for p, _ in train], size, "RGB"),
                                                   "test_x": _pil_stack([p for p, _ in test], size, "RGB")})
    mean, std = _STATS["gtsrb"]
    return ImageData("gtsrb", entry["train_x"], torch.tensor([c for _, c in train]),
                     entry["test_x"], torch.tensor([c for _, c in test]), 43, mean, std)


_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".pgm", ".gif", ".tif", ".tiff", ".webp"}


def _imagefolder(path: Path) -> ImageData:
    """A user's class-per-folder images: ``PATH/{train,test}/<class>/*`` or ``PATH/<class>/*`` (split 80/20)."""
    if not path.is_dir():
        raise _missing(f"imagefolder:{path}", path, "one folder of images per class", "check the path")
    split = (path / "train").is_dir() and (path / "test").is_dir()
    tops = [path / "train", path / "test"] if split else [path]
    classes = sorted(d.name for d in tops[0].iterdir() if d.is_dir())
    files = [sorted((p, classes.index(d.name)) for d in top.iterdir() if d.is_dir() and d.name in classes
                    for p in d.iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES) for top in tops]
    if len(classes) < 2 or not all(files):
        raise _missing(f"imagefolder:{path}", path, "at least two class folders holding images", "check the path")
    from PIL import Image

    with Image.open(files[0][0][0]) as first:
        mode = "L" if first.mode in ("L", "1", "I;16") else "RGB"
        size = first.size
    xs = [_pil_stack([p for p, _ in f], size, mode) for f in files]
    ys = [torch.tensor([c for _, c in f]) for f in files]
    if split:
        tr_x, tr_y, te_x, te_y = xs[0], ys[0], xs[1], ys[1]
    else:
        tr_x, tr_y, te_x, te_y = _fixed_split(xs[0], ys[0], 0.2)
    c = tr_x.shape[1]
    return ImageData(f"imagefolder:{path}", tr_x, tr_y, te_x, te_y, len(classes), (0.5,) * c, (0.5,) * c)


@functools.lru_cache(maxsize=8)
def _load_cached(name: str, root: str) -> ImageData:
    if name == "digits":
        return _digits()
    if name == "synthetic":
        return _synthetic()
    if name == "mnist":
        return _idx_dataset("mnist", "MNIST", Path(root))
    if name == "fashion_mnist":
        return _idx_dataset("fashion_mnist", "FashionMNIST", Path(root))
    if name == "cifar10":
        return _cifar10(Path(root))
    if name == "gtsrb":
        return _gtsrb(Path(root))
    if name.startswith("imagefolder:"):
        return _imagefolder(Path(name.split(":", 1)[1]).expanduser().absolute())
    raise ConfigError(f"dataset: got {name!r}, expected a registered dataset")


def load_dataset(name: str, root: str | None = None) -> ImageData:
    """Load a dataset on the CPU (cached per process, so trials of one worker read it once)."""
    return _load_cached(name, str(data_root(root)))


def clear_loaded() -> None:
    """Forget the datasets this process has loaded (their memory goes back once nothing else holds them)."""
    _load_cached.cache_clear()
