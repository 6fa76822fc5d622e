from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from explorer.data import DatasetMissing, load_dataset, resize_to, subset


def test_digits_are_embedded_uint8_in_memory() -> None:
    data = load_dataset("digits")
    assert data.train_x.dtype == torch.uint8 and data.shape == (1, 8, 8) and data.num_classes == 10
    assert len(data.train_y) + len(data.test_y) == 1797
    assert int(data.train_x.max()) == 255


def test_subsets_are_seeded() -> None:
    data = load_dataset("digits")
    a = subset(data, 100, 50, torch.Generator().manual_seed(1))
    b = subset(data, 100, 50, torch.Generator().manual_seed(1))
    c = subset(data, 100, 50, torch.Generator().manual_seed(2))
    assert torch.equal(a.train_x, b.train_x) and not torch.equal(a.train_x, c.train_x)
    assert len(a.train_y) == 100 and len(a.test_y) == 50


def test_resize_converts_channels_and_size() -> None:
    x = torch.randint(0, 256, (3, 1, 28, 28), dtype=torch.uint8)
    y = resize_to(x, (3, 32, 32))
    assert y.shape == (3, 3, 32, 32) and y.dtype == torch.uint8
    assert torch.equal(y[:, 0], y[:, 2])


@pytest.mark.parametrize("name, folder",
                         [("mnist", "MNIST/raw"), ("cifar10", "cifar-10-batches-py"), ("gtsrb", "gtsrb")])
def test_missing_dataset_says_where_and_how(tmp_path: Path, name: str, folder: str) -> None:
    with pytest.raises(DatasetMissing) as err:
        load_dataset(name, str(tmp_path))
    assert str(tmp_path / folder) in str(err.value) and "\n" not in str(err.value)


def test_imagefolder_reads_class_folders(tmp_path: Path) -> None:
    from PIL import Image

    for cls in ("cat", "dog"):
        (tmp_path / cls).mkdir()
        for i in range(5):
            Image.new("RGB", (12, 10), color=(i * 40, 10, 200 if cls == "dog" else 0)).save(tmp_path / cls / f"{i}.png")
    data = load_dataset(f"imagefolder:{tmp_path}")
    assert data.num_classes == 2 and data.shape == (3, 10, 12)
    assert len(data.train_y) == 8 and len(data.test_y) == 2


def test_mnist_from_the_offline_copy(shared_data_dir: Path) -> None:
    data = load_dataset("mnist", str(shared_data_dir))
    assert data.train_x.shape == (60000, 1, 28, 28) and len(data.test_y) == 10000
    assert data.train_y[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert abs(float(data.train_x.float().mean()) - 33.318) < 0.01


_GTSRB_TRAIN = {0: 3, 5: 2, 42: 4}  # class -> images; classes are a sparse few of the 43
_GTSRB_TEST = [16, 0, 42, 5, 16]  # labels in GT-final_test.csv order, which is not the file names' order
GtsrbWriter = Callable[[Path, dict[int, int], list[int]], None]


def _load_fresh(root: Path):  # type: ignore[no-untyped-def]
    """Load as a new trial process would: nothing in the per-process memo."""
    from explorer.data import _load_cached

    _load_cached.cache_clear()
    return load_dataset("gtsrb", str(root))


def test_gtsrb_reads_torchvisions_layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         gtsrb_writer: GtsrbWriter) -> None:
    import numpy as np
    from PIL import Image
    from torchvision.datasets import GTSRB

    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(tmp_path / "cache"))
    gtsrb_writer(tmp_path, _GTSRB_TRAIN, _GTSRB_TEST)
    data = _load_fresh(tmp_path)
    assert data.num_classes == 43 and data.shape == (3, 32, 32) and data.train_x.dtype == torch.uint8
    assert data.train_x.shape == (9, 3, 32, 32) and data.test_x.shape == (5, 3, 32, 32)
    assert data.train_y.dtype == data.test_y.dtype == torch.int64
    assert data.train_y.tolist() == [c for c, n in _GTSRB_TRAIN.items() for _ in range(n)]
    assert data.test_y.tolist() == _GTSRB_TEST
    assert (data.test_x[0] == torch.tensor([10, 200, 30], dtype=torch.uint8).view(3, 1, 1)).all()

    classes = sorted(_GTSRB_TRAIN)  # torchvision numbers the class folders present, so map its targets back
    for split, xs, ys in (("train", data.train_x, data.train_y), ("test", data.test_x, data.test_y)):
        tv = GTSRB(str(tmp_path), split=split)
        assert len(tv) == len(ys)
        for i in range(len(tv)):
            image, target = tv[i]
            assert int(ys[i]) == (classes[target] if split == "train" else target)
            expected = np.asarray(image.resize((32, 32), Image.BILINEAR)).transpose(2, 0, 1)
            assert torch.equal(xs[i], torch.from_numpy(expected.copy()))


def test_gtsrb_is_decoded_once_then_read_from_the_disk_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             gtsrb_writer: GtsrbWriter) -> None:
    import os

    from PIL import Image

    import explorer.data as data_module

    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(tmp_path / "cache"))
    gtsrb_writer(tmp_path / "data", _GTSRB_TRAIN, _GTSRB_TEST)
    decoded: list[int] = []
    real = data_module._pil_stack

    def counting(paths: list[Path], size: tuple[int, int], mode: str) -> torch.Tensor:
        decoded.append(len(paths))
        return real(paths, size, mode)

    def refuse(paths: list[Path], size: tuple[int, int], mode: str) -> torch.Tensor:
        raise AssertionError("decoded again although the cache holds this entry")

    monkeypatch.setattr(data_module, "_pil_stack", counting)
    first = _load_fresh(tmp_path / "data")
    assert decoded == [9, 5] and list((tmp_path / "cache" / "gtsrb").glob("*.pt"))
    monkeypatch.setattr(data_module, "_pil_stack", refuse)
    second = _load_fresh(tmp_path / "data")
    for a, b in ((first.train_x, second.train_x), (first.test_x, second.test_x), (first.train_y, second.train_y),
                 (first.test_y, second.test_y)):
        assert torch.equal(a, b)

    changed = tmp_path / "data" / "gtsrb" / "GTSRB" / "Training" / "00005" / "00000_00000.ppm"
    before = changed.stat()
    with Image.open(changed) as im:
        size = im.size
    Image.new("RGB", size, (1, 2, 3)).save(changed)  # the same dimensions, so the same size in bytes
    assert changed.stat().st_size == before.st_size
    os.utime(changed, ns=(before.st_mtime_ns + 10**9,) * 2)  # a rewrite within the clock's tick keeps the mtime
    monkeypatch.setattr(data_module, "_pil_stack", counting)
    decoded.clear()
    third = _load_fresh(tmp_path / "data")
    assert decoded == [9, 5] and (third.train_x[3] == torch.tensor([1, 2, 3]).view(3, 1, 1)).all()
    assert not torch.equal(third.train_x[3], first.train_x[3])
    assert torch.equal(third.train_x[:3], first.train_x[:3]) and torch.equal(third.train_x[4:], first.train_x[4:])
    assert torch.equal(third.test_x, first.test_x)

    os.utime(changed, ns=(before.st_mtime_ns + 2 * 10**9,) * 2)
    decoded.clear()
    _load_fresh(tmp_path / "data")
    assert decoded == [9, 5]


def test_gtsrb_incomplete_copy_says_what_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    gtsrb_writer: GtsrbWriter) -> None:
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(tmp_path / "cache"))
    gtsrb_writer(tmp_path, _GTSRB_TRAIN, _GTSRB_TEST)
    (tmp_path / "gtsrb" / "GTSRB" / "Final_Test" / "Images" / "00003.ppm").unlink()
    with pytest.raises(DatasetMissing, match="00003.ppm, which GT-final_test.csv lists"):
        _load_fresh(tmp_path)
    unlabelled = tmp_path / "gtsrb" / "GTSRB" / "Final_Test" / "Images" / "GT-final_test.test.csv"
    (tmp_path / "gtsrb" / "GT-final_test.csv").write_text(unlabelled.read_text())
    with pytest.raises(DatasetMissing, match="ClassId"):
        _load_fresh(tmp_path)
