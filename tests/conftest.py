"""Shared fixtures: the offline datasets in ../shared/datasets, when this checkout has them, and fabricated
stand-ins in the real file formats for those it lacks."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

SHARED_DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Radioactive marks go to a per-session cache, never to the user's ~/.cache/explorer."""
    old = os.environ.get("EXPLORER_CACHE_DIR")
    os.environ["EXPLORER_CACHE_DIR"] = str(tmp_path_factory.mktemp("explorer-cache"))
    yield
    if old is None:
        os.environ.pop("EXPLORER_CACHE_DIR", None)
    else:
        os.environ["EXPLORER_CACHE_DIR"] = old


@pytest.fixture(scope="session")
def shared_datasets_root() -> Path:
    """Where the offline datasets would be (it may be missing, or hold only some of them)."""
    return Path(os.environ.get("EXPLORER_TEST_DATA", SHARED_DATASETS))


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    """The read-only offline MNIST / Fashion-MNIST copies (our IDX reader never writes next to them)."""
    root = Path(os.environ.get("EXPLORER_TEST_DATA", SHARED_DATASETS))
    if not (root / "MNIST" / "raw").is_dir():
        pytest.skip(f"offline datasets not found at {root} (set EXPLORER_TEST_DATA to a folder holding MNIST/raw)")
    return root


_GT_HEADER = "Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId"


def _ppm(path: Path, width: int, height: int, seed: int, color: tuple[int, int, int] | None = None) -> None:
    import numpy as np
    from PIL import Image

    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    if color is not None:
        pixels[:] = color
    Image.fromarray(pixels).save(path)


def write_gtsrb(root: Path, train: dict[int, int], test: list[int]) -> None:
    """A GTSRB tree in torchvision's layout under ``root/gtsrb``: ``train`` maps class -> image count, ``test``
    lists the labels in GT-final_test.csv order (the reverse of the file names' order). PPMs of assorted
    sizes, random pixels, the first test image solid (10, 200, 30); the GT csv files GTSRB ships."""
    base = root / "gtsrb"
    for c, n in train.items():
        folder = base / "GTSRB" / "Training" / f"{c:05d}"
        folder.mkdir(parents=True)
        rows = [_GT_HEADER]
        for i in range(n):
            name, w, h = f"00000_{n - 1 - i:05d}.ppm", 30 + (7 * i + c % 7) % 23, 60 - (5 * i) % 30
            _ppm(folder / name, w, h, seed=100 * c + i)
            rows.append(f"{name};{w};{h};5;5;{w - 5};{h - 5};{c}")
        (folder / f"GT-{c:05d}.csv").write_text("\n".join(rows) + "\n")
    images = base / "GTSRB" / "Final_Test" / "Images"
    images.mkdir(parents=True)
    rows = [_GT_HEADER]
    for i, c in enumerate(test):
        name, w, h = f"{len(test) - 1 - i:05d}.ppm", 45 - (3 * i) % 15, 33 + (6 * i) % 30
        _ppm(images / name, w, h, seed=1000 + i, color=(10, 200, 30) if i == 0 else None)
        rows.append(f"{name};{w};{h};5;5;{w - 5};{h - 5};{c}")
    (base / "GT-final_test.csv").write_text("\n".join(rows) + "\n")
    (images / "GT-final_test.test.csv").write_text("\n".join(r.rsplit(";", 1)[0] for r in rows) + "\n")


def write_cifar10(root: Path, per_batch: int, test: int, seed: int = 0) -> None:
    """``root/cifar-10-batches-py`` in CIFAR-10's python format (latin1-readable pickles of dicts holding a
    uint8 ``data`` array [N, 3072] and a ``labels`` list), with learnable images: a blocky colour prototype
    per class plus noise."""
    import pickle

    import numpy as np

    rng = np.random.default_rng(seed)
    protos = rng.integers(0, 256, (10, 3, 4, 4)).repeat(8, axis=2).repeat(8, axis=3)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for name, n in [(f"data_batch_{i}", per_batch) for i in range(1, 6)] + [("test_batch", test)]:
        labels = rng.integers(0, 10, n)
        x = np.clip(protos[labels] + rng.normal(0, 32, (n, 3, 32, 32)), 0, 255).astype(np.uint8)
        batch = {"batch_label": f"stand-in {name}", "labels": labels.tolist(), "data": x.reshape(n, 3072),
                 "filenames": [f"standin_{name}_{i}.png" for i in range(n)]}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=4))  # 5: numpy._frombuffer, which the loader refuses


@pytest.fixture(scope="session")
def gtsrb_writer() -> Callable[[Path, dict[int, int], list[int]], None]:
    """:func:`write_gtsrb`, for tests that fabricate a GTSRB tree."""
    return write_gtsrb


@pytest.fixture(scope="session")
def cifar10_stand_in(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data root of FABRICATED CIFAR-10 (5 x 100 training, 200 test images) and GTSRB (3 images of each of 11
    classes, 20 test images), in the real formats: runs on it exercise the pipeline, their figures mean nothing."""
    root = tmp_path_factory.mktemp("cifar10-stand-in")
    write_cifar10(root, per_batch=100, test=200)
    write_gtsrb(root, train={c: 3 for c in range(0, 43, 4)}, test=[(7 * i) % 43 for i in range(20)])
    return root


def kill_ray_processes(root: Path | str) -> None:
    """SIGKILL every process of the Ray runtime whose RAY_TMPDIR is ``root``, and only those.

    Ray renames its helpers (``ray::DashboardAgent``) over their command line and environment, so a
    process counts as ours when its command line, its environment or one of its open files names ``root``.
    """
    import signal

    root = str(root)
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            ours = root.encode() in (proc / "cmdline").read_bytes() or f"RAY_TMPDIR={root}".encode() in (
                proc / "environ").read_bytes()
            if not ours:
                ours = any(os.readlink(fd).startswith(root) for fd in (proc / "fd").iterdir())
            if ours:
                os.kill(int(proc.name), signal.SIGKILL)
        except OSError:
            continue


@pytest.fixture
def ray_tmp(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """A short private RAY_TMPDIR (socket paths must stay under 107 bytes); its Ray processes die afterwards."""
    import shutil
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="rt", dir="/tmp"))
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    monkeypatch.setenv("RAY_TMPDIR", str(root))
    yield root
    kill_ray_processes(root)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def kill_ray():  # type: ignore[no-untyped-def]
    """:func:`kill_ray_processes`, for tests that stop a Ray runtime mid-way."""
    return kill_ray_processes


class S3:
    """A bucket on the local S3-compatible server: ``uri(key)`` is the s3:// URI the explorer is given (pyarrow's
    ``S3FileSystem.from_uri`` form, with ``endpoint_override``), ``fs`` reads the bucket back."""

    def __init__(self, endpoint: str, bucket: str) -> None:
        import pyarrow.fs as pafs

        self.endpoint, self.bucket = endpoint, bucket
        self.fs = pafs.S3FileSystem(endpoint_override=endpoint, scheme="http", region="us-east-1",
                                    access_key="testing", secret_key="testing")

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}?endpoint_override={self.endpoint}&scheme=http&region=us-east-1"

    def files(self, key: str) -> list[str]:
        """Paths of the files under ``key`` in the bucket, relative to it."""
        import pyarrow.fs as pafs

        base = f"{self.bucket}/{key}"
        infos = self.fs.get_file_info(pafs.FileSelector(base, recursive=True, allow_not_found=True))
        return sorted(i.path[len(base) + 1:] for i in infos if i.type == pafs.FileType.File)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """moto's S3-compatible server on a free 127.0.0.1 port, for the session: its ``host:port``. It accepts any
    credentials; the tests give it fake ones (:func:`s3`) and nothing leaves this machine."""
    import socket
    import subprocess
    import sys
    import time
    import urllib.error
    import urllib.request

    log = tmp_path_factory.mktemp("moto") / "server.log"
    for _ in range(3):  # a free port may be taken between the probe and the server's bind
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        with log.open("ab") as fh:
            proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                    stdout=fh, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=2):
                    break
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        if proc.poll() is None and time.monotonic() < deadline:
            break
        proc.kill()
        proc.wait()
    else:
        raise RuntimeError(f"moto's S3 server did not start: {log.read_text()[-2000:]}")
    try:
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def s3(s3_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> S3:
    """A fresh bucket on :func:`s3_server`, with test credentials in the environment (inherited by the explorer's
    subprocesses and Ray's workers) and no AWS configuration of this machine's user read."""
    import uuid

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    bucket = S3(s3_server, f"results-{uuid.uuid4().hex[:8]}")
    import pyarrow.fs as pafs

    pafs.S3FileSystem(endpoint_override=s3_server, scheme="http", region="us-east-1", access_key="testing",
                      secret_key="testing", allow_bucket_creation=True).create_dir(bucket.bucket)
    return bucket


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test that starts a Ray runtime carries the ``ray`` marker: those using ``ray_tmp`` (directly or
    through an autouse fixture) get it here, the few that start Ray otherwise mark themselves. ``make test`` runs
    the rest (no Ray start-up); ``make test-slow`` runs these and the slow ones."""
    for item in items:
        if "ray_tmp" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.ray)

