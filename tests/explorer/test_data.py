from __future__ import annotations

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


@pytest.mark.parametrize("name, folder", [("mnist", "MNIST/raw"), ("cifar10", "cifar-10-batches-py"), ("gtsrb", "gtsrb")])
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
