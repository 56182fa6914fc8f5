"""Tests of brainlearn.datasets: bundled digits, IDX files, MNIST loading and download, generators.

Nothing here touches the network except a server the tests start on 127.0.0.1.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import threading
from pathlib import Path

import numpy as np
import pytest

import brainlearn.datasets as bd
from brainlearn.datasets import digits as digits_module
from brainlearn.datasets import mnist as mnist_module

DIGITS_CLASS_SIZES = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    """Point every mirror at a closed local port and the default cache into tmp_path."""
    for name in mnist_module.MIRRORS:
        monkeypatch.setitem(mnist_module.MIRRORS, name, ["http://127.0.0.1:9/"])
    monkeypatch.setenv("BRAINLEARN_DATA", str(tmp_path / "default-cache"))
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


# --------------------------------------------------------------------------- digits


def test_digits_shapes_dtype_range_and_labels():
    data = bd.load("digits")
    assert isinstance(data, bd.Dataset)
    assert data.name == "digits" and data.n_classes == 10 and data.image_shape == (8, 8)
    assert data.n_features == 64
    assert data.n_train + data.n_test == 1797
    for x, y in ((data.x_train, data.y_train), (data.x_test, data.y_test)):
        assert x.dtype == np.float32 and x.flags.c_contiguous and x.shape[1] == 64
        assert y.dtype == np.int64 and y.shape == (len(x),)
        assert x.min() >= 0.0 and x.max() <= 1.0
        np.testing.assert_array_equal(x * 16, np.round(x * 16))  # pixels / 16 exactly
    assert set(np.unique(data.y_train)) == set(range(10)) == set(np.unique(data.y_test))
    assert data.x_train.max() == 1.0


@pytest.mark.parametrize("test_fraction", [0.25, 0.1, 0.5])
def test_digits_split_is_stratified_with_documented_sizes(test_fraction):
    data = bd.load_digits(test_fraction=test_fraction, seed=0)
    expected_test = [int(round(test_fraction * n)) for n in DIGITS_CLASS_SIZES]
    np.testing.assert_array_equal(np.bincount(data.y_test, minlength=10), expected_test)
    np.testing.assert_array_equal(
        np.bincount(data.y_train, minlength=10), np.subtract(DIGITS_CLASS_SIZES, expected_test)
    )
    assert data.n_test == sum(expected_test)
    if test_fraction == 0.25:
        assert (data.n_train, data.n_test) == (1347, 450)


def test_digits_split_keeps_file_order_and_partitions_the_file():
    images, labels = bd.digits_raw()
    train, test = digits_module.stratified_split(labels, 0.25, seed=0)
    assert np.all(np.diff(train) > 0) and np.all(np.diff(test) > 0)
    assert np.intersect1d(train, test).size == 0
    np.testing.assert_array_equal(np.union1d(train, test), np.arange(1797))
    data = bd.load_digits(seed=0)
    np.testing.assert_array_equal(data.x_train * 16, images[train])
    np.testing.assert_array_equal(data.y_test, labels[test])


def test_digits_same_seed_same_split_other_seed_other_split():
    a, b, c = bd.load("digits", seed=3), bd.load("digits", seed=3), bd.load("digits", seed=4)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert a.x_test.shape == c.x_test.shape
    assert not np.array_equal(a.x_test, c.x_test)


def test_digits_dtype_and_cache_cannot_be_corrupted():
    first = bd.load_digits(dtype=np.float64)
    assert first.x_train.dtype == np.float64 and first.x_test.dtype == np.float64
    first.x_train[:] = 7.0
    first.y_train[:] = 0
    images, labels = bd.digits_raw()
    images[:] = 99
    labels[:] = 99
    again = bd.load_digits()
    assert again.x_train.max() == 1.0 and set(np.unique(again.y_train)) == set(range(10))
    images, labels = bd.digits_raw()
    assert images.shape == (1797, 64) and images.dtype == np.uint8 and images.max() == 16
    np.testing.assert_array_equal(np.bincount(labels), DIGITS_CLASS_SIZES)


@pytest.mark.parametrize("bad", [0, 1, -0.1, 1.5, float("nan")])
def test_digits_bad_test_fraction(bad):
    with pytest.raises(ValueError, match="test_fraction"):
        bd.load("digits", test_fraction=bad)


def test_digits_bad_dtype_and_seed():
    with pytest.raises(TypeError, match="dtype"):
        bd.load_digits(dtype=np.int32)
    with pytest.raises(ValueError, match="seed"):
        bd.load_digits(seed=-1)
    with pytest.raises(TypeError, match="seed"):
        bd.load_digits(seed=None)


def test_load_by_name_and_available():
    assert {"digits", "mnist", "fashion_mnist"} <= set(bd.available())
    assert bd.available() == sorted(bd.available())
    with pytest.raises(ValueError, match=r"^unknown dataset 'foo'; available: digits, fashion_mnist, mnist$"):
        bd.load("foo")
    assert bd.load("Digits").name == "digits"


# --------------------------------------------------------------------------- Dataset


def _small_dataset(**changes):
    rng = np.random.default_rng(0)
    fields = dict(
        x_train=rng.random((12, 4)).astype(np.float32),
        y_train=np.arange(12) % 3,
        x_test=rng.random((6, 4)).astype(np.float32),
        y_test=np.arange(6) % 3,
        n_classes=3,
        name="toy",
        image_shape=(2, 2),
    )
    fields.update(changes)
    return bd.Dataset(**fields)


def test_dataset_properties_and_repr():
    data = _small_dataset()
    assert (data.n_train, data.n_test, data.n_features) == (12, 6, 4)
    assert data.y_train.dtype == np.int64
    text = repr(data)
    for part in ("'toy'", "n_train=12", "n_test=6", "n_classes=3", "2x2"):
        assert part in text


@pytest.mark.parametrize(
    "changes, error, match",
    [
        (dict(y_train=np.arange(11) % 3), ValueError, "x_train and y_train"),
        (dict(x_test=np.zeros((6, 5), np.float32), image_shape=None), ValueError, "features"),
        (dict(x_test=np.zeros((6, 4), np.float64)), ValueError, "dtype"),
        (dict(y_test=np.array([0, 1, 2, 3, 0, 1])), ValueError, "y_test"),
        (dict(y_train=np.full(12, -1)), ValueError, "y_train"),
        (dict(image_shape=(3, 3)), ValueError, "image_shape"),
        (dict(x_train=np.zeros((12, 4), np.uint8)), TypeError, "x_train"),
        (dict(y_train=np.array(["0"] * 12)), TypeError, "y_train"),
        (dict(y_train=np.full(12, 0.5)), ValueError, "y_train must hold integer class labels"),
        (dict(x_train=np.zeros(12, np.float32)), ValueError, "x_train"),
        (dict(n_classes=0), ValueError, "n_classes"),
    ],
)
def test_dataset_validation(changes, error, match):
    with pytest.raises(error, match=match):
        _small_dataset(**changes)


def test_dataset_takes_integral_float_labels_as_integers():
    """Labels 0.0, 1.0, 2.0 (as read from a CSV file) are the labels 0, 1, 2."""
    ints = _small_dataset()
    floats = _small_dataset(y_train=ints.y_train.astype(np.float64),
                            y_test=ints.y_test.astype(np.float32))
    for split in ("y_train", "y_test"):
        got = getattr(floats, split)
        assert got.dtype == np.int64
        np.testing.assert_array_equal(got, getattr(ints, split))


@pytest.mark.parametrize("value, shown", [(1.5, "1.5"), (np.nan, "nan"), (np.inf, "inf")])
def test_dataset_names_the_first_non_integral_float_label(value, shown):
    y = (np.arange(12) % 3).astype(np.float64)
    y[7] = value
    with pytest.raises(ValueError) as info:
        _small_dataset(y_train=y)
    message = str(info.value)
    assert message == (f"y_train must hold integer class labels; got the non-integral value "
                       f"{shown} at index 7")


def test_dataset_subset_is_stratified_and_reproducible():
    data = bd.load("digits")
    small = data.subset(n_train=200, n_test=50, seed=1)
    assert (small.n_train, small.n_test) == (200, 50)
    assert small.image_shape == (8, 8) and small.name == "digits"
    counts = np.bincount(small.y_train, minlength=10)
    assert counts.min() >= 19 and counts.max() <= 21
    assert np.bincount(small.y_test, minlength=10).min() == 5
    again = data.subset(n_train=200, n_test=50, seed=1)
    np.testing.assert_array_equal(small.x_train, again.x_train)
    assert not np.array_equal(small.x_train, data.subset(n_train=200, seed=2).x_train)
    assert data.subset(n_train=10).n_test == data.n_test
    with pytest.raises(ValueError, match="n_train"):
        data.subset(n_train=data.n_train + 1)


# --------------------------------------------------------------------------- IDX


IDX_DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


@pytest.mark.parametrize("dtype", IDX_DTYPES)
@pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 3, 4), (1, 2, 1, 3)])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_round_trip(tmp_path, dtype, shape, suffix):
    rng = np.random.default_rng(1)
    if np.dtype(dtype).kind == "f":
        array = rng.standard_normal(shape).astype(dtype)
    else:
        info = np.iinfo(dtype)
        array = rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)
    path = bd.write_idx(tmp_path / f"a{suffix}", array)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == (suffix == ".gz")
    back = bd.read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative and back.flags.writeable
    np.testing.assert_array_equal(back, array)


def test_idx_header_layout_is_big_endian(tmp_path):
    path = bd.write_idx(tmp_path / "x", np.array([[1, 2, 3], [4, 5, 256]], dtype=np.int16))
    raw = path.read_bytes()
    assert raw[:4] == bytes([0, 0, 0x0B, 2])
    assert raw[4:12] == bytes([0, 0, 0, 2, 0, 0, 0, 3])
    assert raw[12:] == bytes([0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 1, 0])


def test_idx_gzip_detected_by_content_not_name(tmp_path):
    array = np.arange(12, dtype=np.uint8).reshape(3, 4)
    disguised = bd.write_idx(tmp_path / "plain-name", array, compress=True)
    assert disguised.read_bytes()[:2] == b"\x1f\x8b"
    np.testing.assert_array_equal(bd.read_idx(disguised), array)
    raw_with_gz_name = bd.write_idx(tmp_path / "raw.gz", array, compress=False)
    np.testing.assert_array_equal(bd.read_idx(raw_with_gz_name), array)


@pytest.mark.parametrize(
    "content, match",
    [
        (b"\x01\x00\x08\x01\x00\x00\x00\x01\x05", "magic"),
        (b"\x00\x00\x07\x01\x00\x00\x00\x01\x05", "type code"),
        (b"\x00\x00", "truncated"),
        (b"\x00\x00\x08\x03\x00\x00\x00\x02", "truncated"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x04\x01\x02", "truncated"),
        (b"\x00\x00\x0c\x01\x00\x00\x00\x01\x00\x00\x00", "truncated"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x01\x01\x02", "size mismatch"),
    ],
)
def test_idx_bad_files(tmp_path, content, match):
    for name, data in (("bad", content), ("bad.gz", gzip.compress(content))):
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(ValueError, match=match):
            bd.read_idx(path)


def test_idx_truncated_gzip_stream(tmp_path):
    path = tmp_path / "cut.gz"
    bd.write_idx(path, np.arange(1000, dtype=np.int32))
    path.write_bytes(path.read_bytes()[:-30])
    with pytest.raises(ValueError, match="gzip"):
        bd.read_idx(path)


def test_write_idx_refuses_what_idx_cannot_hold(tmp_path):
    with pytest.raises(TypeError, match="dtype"):
        bd.write_idx(tmp_path / "c", np.zeros(3, dtype=np.complex64))
    with pytest.raises(TypeError, match="dtype"):
        bd.write_idx(tmp_path / "b", np.zeros(3, dtype=bool))
    with pytest.raises(ValueError, match="dimensions"):
        bd.write_idx(tmp_path / "s", np.array(3, dtype=np.uint8))
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- MNIST from files


def _write_idx_set(directory: Path, n_train=20, n_test=10, gz=(True, False, True, False), seed=0):
    """Four small MNIST-format files; returns the arrays written."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    directory.mkdir(parents=True, exist_ok=True)
    for (stem, array), compressed in zip(arrays.items(), gz):
        bd.write_idx(directory / (stem + ".gz" if compressed else stem), array)
    return arrays


def _check_idx_dataset(data, arrays, name):
    assert data.name == name and data.n_classes == 10 and data.image_shape == (28, 28)
    images, labels = arrays["train-images-idx3-ubyte"], arrays["train-labels-idx1-ubyte"]
    assert data.x_train.shape == (len(images), 784) and data.x_test.shape == (10, 784)
    assert data.x_train.dtype == np.float32 and data.y_train.dtype == np.int64
    np.testing.assert_array_equal(data.x_train, images.reshape(len(images), 784).astype(np.float32) / 255)
    np.testing.assert_array_equal(data.y_train, labels)
    np.testing.assert_array_equal(data.y_test, arrays["t10k-labels-idx1-ubyte"])
    assert 0.0 <= data.x_test.min() and data.x_test.max() <= 1.0


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
def test_load_idx_dataset_from_path(tmp_path, name):
    arrays = _write_idx_set(tmp_path / "files")
    _check_idx_dataset(bd.load(name, path=tmp_path / "files"), arrays, name)
    data64 = bd.load(name, path=str(tmp_path / "files"), dtype=np.float64)
    assert data64.x_train.dtype == np.float64


def test_load_mnist_default_directory_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("BRAINLEARN_DATA", str(tmp_path / "root"))
    assert bd.data_dir("mnist") == tmp_path / "root" / "mnist"
    arrays = _write_idx_set(tmp_path / "root" / "mnist")
    _check_idx_dataset(bd.load("mnist"), arrays, "mnist")

    monkeypatch.delenv("BRAINLEARN_DATA")
    monkeypatch.delenv("BRAINLEARN_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert bd.data_dir("fashion_mnist") == tmp_path / "xdg" / "brainlearn" / "datasets" / "fashion_mnist"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert bd.data_dir("mnist") == tmp_path / "home" / ".cache" / "brainlearn" / "datasets" / "mnist"


def test_download_goes_to_brainlearn_cache_dir_when_set(tmp_path, monkeypatch):
    """With only BRAINLEARN_CACHE_DIR set, download=True writes to $BRAINLEARN_CACHE_DIR/datasets
    (beside the compiled drivers), not to ~/.cache; BRAINLEARN_DATA still comes first. The
    downloader is a fake that copies local files: nothing is fetched."""
    source = tmp_path / "source"
    arrays = _write_idx_set(source, gz=(True, True, True, True))
    fetched = []

    def fake_download(mirrors, filename, dest, md5):
        fetched.append(Path(dest))
        Path(dest).parent.mkdir(parents=True, exist_ok=True)
        Path(dest).write_bytes((source / filename).read_bytes())
        return Path(dest)

    monkeypatch.setattr(mnist_module, "download_from_mirrors", fake_download)
    monkeypatch.delenv("BRAINLEARN_DATA")
    monkeypatch.setenv("BRAINLEARN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    expected = tmp_path / "cache" / "datasets" / "mnist"
    assert bd.data_dir("mnist") == expected
    _check_idx_dataset(bd.load("mnist", download=True), arrays, "mnist")
    assert sorted(fetched) == sorted(expected / f"{stem}.gz" for stem in mnist_module.FILES)
    assert not (tmp_path / "home").exists() and not (tmp_path / "xdg").exists()
    monkeypatch.setenv("BRAINLEARN_DATA", str(tmp_path / "data"))
    assert bd.data_dir("mnist") == tmp_path / "data" / "mnist"


def test_load_mnist_missing_files_message(tmp_path):
    _write_idx_set(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(FileNotFoundError) as info:
        bd.load("mnist", path=tmp_path)
    message = str(info.value)
    assert str(tmp_path) in message and "t10k-labels-idx1-ubyte" in message
    assert "train-images" not in message and "download=True" in message


def test_load_mnist_inconsistent_files(tmp_path):
    _write_idx_set(tmp_path)
    bd.write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(9, np.uint8))
    with pytest.raises(ValueError, match="labels"):
        bd.load("mnist", path=tmp_path)


# --------------------------------------------------------------------------- MNIST download


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def served(tmp_path):
    """Small gzip IDX files served over HTTP on 127.0.0.1; yields (base_url, arrays, md5s)."""
    root = tmp_path / "www"
    arrays = _write_idx_set(root / "mnist", gz=(True, True, True, True), seed=5)
    md5s = {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in (root / "mnist").iterdir()}
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", arrays, md5s
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_download_verifies_and_loads(tmp_path, monkeypatch, served):
    base, arrays, md5s = served
    monkeypatch.setitem(mnist_module.MD5, "mnist", md5s)
    # The first mirror answers 404 for every file; the loader must fall through to the second.
    monkeypatch.setitem(mnist_module.MIRRORS, "mnist", [f"{base}/nowhere/", f"{base}/mnist/"])
    dest = tmp_path / "downloaded"
    with pytest.raises(FileNotFoundError):
        bd.load("mnist", path=dest)
    data = bd.load("mnist", path=dest, download=True)
    _check_idx_dataset(data, arrays, "mnist")
    assert sorted(p.name for p in dest.iterdir()) == sorted(md5s)
    for name, digest in md5s.items():
        assert hashlib.md5((dest / name).read_bytes()).hexdigest() == digest
    _check_idx_dataset(bd.load("mnist", path=dest), arrays, "mnist")  # now offline


def test_download_with_base_url_into_default_directory(tmp_path, monkeypatch, served):
    base, arrays, md5s = served
    monkeypatch.setitem(mnist_module.MD5, "fashion_mnist", md5s)
    data = bd.load("fashion_mnist", download=True, base_url=f"{base}/mnist")
    _check_idx_dataset(data, arrays, "fashion_mnist")
    assert sorted(p.name for p in bd.data_dir("fashion_mnist").iterdir()) == sorted(md5s)


def test_download_fetches_only_missing_files(tmp_path, monkeypatch, served):
    base, arrays, md5s = served
    monkeypatch.setitem(mnist_module.MD5, "mnist", md5s)
    monkeypatch.setitem(mnist_module.MIRRORS, "mnist", [f"{base}/mnist/"])
    dest = tmp_path / "partial"
    dest.mkdir()
    bd.write_idx(dest / "train-labels-idx1-ubyte", arrays["train-labels-idx1-ubyte"])
    bd.load("mnist", path=dest, download=True)
    assert not (dest / "train-labels-idx1-ubyte.gz").exists()
    assert len(list(dest.iterdir())) == 4


def test_download_checksum_mismatch_leaves_no_file(tmp_path, monkeypatch, served):
    base, _, md5s = served
    wrong = dict(md5s, **{"t10k-images-idx3-ubyte.gz": "0" * 32})
    monkeypatch.setitem(mnist_module.MD5, "mnist", wrong)
    monkeypatch.setitem(mnist_module.MIRRORS, "mnist", [f"{base}/mnist/"])
    dest = tmp_path / "dest"
    with pytest.raises(bd.ChecksumError) as info:
        bd.load("mnist", path=dest, download=True)
    message = str(info.value)
    assert "t10k-images-idx3-ubyte.gz" in message
    assert "0" * 32 in message and md5s["t10k-images-idx3-ubyte.gz"] in message
    names = sorted(p.name for p in dest.iterdir())
    assert "t10k-images-idx3-ubyte.gz" not in names
    assert all(not n.startswith(".") for n in names)  # no temporary file left behind
    assert names == ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]  # fetched before it


def test_download_unreachable_mirror(tmp_path, monkeypatch, served):
    base, _, md5s = served
    monkeypatch.setitem(mnist_module.MD5, "mnist", md5s)
    with pytest.raises(OSError, match="could not download train-images-idx3-ubyte.gz"):
        bd.load("mnist", path=tmp_path / "d", download=True, base_url=[f"{base}/nowhere", "http://127.0.0.1:9"])
    assert list((tmp_path / "d").iterdir()) == []


# --------------------------------------------------------------------------- synthetic


@pytest.mark.parametrize("kind, off", [("bipolar", -1.0), ("binary", 0.0)])
@pytest.mark.parametrize("coding_level", [0.5, 0.1])
def test_random_patterns(kind, off, coding_level):
    patterns = bd.random_patterns(200, 500, kind=kind, coding_level=coding_level, seed=2)
    assert patterns.shape == (200, 500) and patterns.dtype == np.float32
    assert set(np.unique(patterns)) == {off, 1.0}
    assert abs((patterns == 1).mean() - coding_level) < 0.01
    np.testing.assert_array_equal(patterns, bd.random_patterns(200, 500, kind=kind, coding_level=coding_level, seed=2))
    assert not np.array_equal(patterns, bd.random_patterns(200, 500, kind=kind, coding_level=coding_level, seed=3))
    assert bd.random_patterns(3, 4, kind=kind, dtype=np.float64).dtype == np.float64


def test_bars_are_unions_of_bars():
    size, n = 6, 400
    x, which = bd.bars(n, size=size, seed=0)
    assert x.shape == (n, size * size) and x.dtype == np.float32
    assert which.shape == (n, 2 * size) and which.dtype == bool
    assert set(np.unique(x)) <= {0.0, 1.0}
    images = x.reshape(n, size, size).astype(bool)
    for i in range(n):
        expected = np.zeros((size, size), bool)
        expected[which[i, :size], :] = True
        expected[:, which[i, size:]] = True
        np.testing.assert_array_equal(images[i], expected)
    assert abs(which.mean() - 1 / size) < 0.02  # default p = 1/size
    assert bd.bars(50, size=4, p=0.0)[0].sum() == 0
    assert bd.bars(50, size=4, p=1.0)[0].min() == 1


@pytest.mark.parametrize("rotate", [True, False])
def test_gaussian_has_the_requested_spectrum(rotate):
    spectrum = np.array([1.0, 6.0, 0.2, 3.0, 0.5])
    x, components = bd.gaussian(40_000, spectrum, seed=1, rotate=rotate, dtype=np.float64)
    assert x.shape == (40_000, 5) and components.shape == (5, 5)
    expected = np.sort(spectrum)[::-1]
    np.testing.assert_allclose(components @ components.T, np.eye(5), atol=1e-12)
    np.testing.assert_allclose(x.mean(axis=0), 0.0, atol=0.05)
    eigenvalues, eigenvectors = np.linalg.eigh(np.cov(x, rowvar=False))
    eigenvalues, eigenvectors = eigenvalues[::-1], eigenvectors[:, ::-1]
    np.testing.assert_allclose(eigenvalues, expected, rtol=0.05)
    overlap = np.abs(np.sum(components * eigenvectors.T, axis=1))
    assert overlap.min() > 0.98
    np.testing.assert_allclose((x @ components.T).var(axis=0), expected, rtol=0.05)
    if not rotate:
        np.testing.assert_array_equal(np.abs(components), np.eye(5)[np.argsort(-spectrum)])
    x32, c32 = bd.gaussian(10, spectrum, seed=1)
    assert x32.dtype == np.float32 and c32.dtype == np.float32


def test_gaussian_rotation_depends_on_seed():
    _, a = bd.gaussian(5, [3.0, 2.0, 1.0], seed=0)
    _, b = bd.gaussian(5, [3.0, 2.0, 1.0], seed=0)
    _, c = bd.gaussian(5, [3.0, 2.0, 1.0], seed=1)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(np.abs(a), np.abs(c))


def test_clusters():
    x, labels, centres = bd.clusters(301, 4, 3, spread=0.05, seed=0)
    assert x.shape == (301, 3) and x.dtype == np.float32 and centres.shape == (4, 3)
    assert labels.dtype == np.int64 and labels.min() == 0 and labels.max() == 3
    counts = np.bincount(labels)
    assert counts.max() - counts.min() <= 1
    assert centres.min() >= 0 and centres.max() <= 1
    distances = np.linalg.norm(x[:, None, :] - centres[None], axis=2)
    assert np.mean(distances.argmin(axis=1) == labels) > 0.95
    again = bd.clusters(301, 4, 3, spread=0.05, seed=0)
    np.testing.assert_array_equal(x, again[0])
    exact, exact_labels, exact_centres = bd.clusters(5, 2, 2, spread=0.0)
    np.testing.assert_array_equal(exact, exact_centres[exact_labels])


def test_generators_take_a_generator_and_leave_global_state_alone():
    state = np.random.get_state()[1].copy()
    rng = np.random.default_rng(0)
    first = bd.random_patterns(4, 5, seed=rng)
    second = bd.random_patterns(4, 5, seed=rng)
    assert not np.array_equal(first, second)
    bd.bars(3, seed=1)
    bd.gaussian(3, [1.0, 2.0], seed=1)
    bd.clusters(3, 2, 2, seed=1)
    np.testing.assert_array_equal(np.random.get_state()[1], state)


@pytest.mark.parametrize(
    "func, kwargs, error, name",
    [
        (bd.random_patterns, dict(n_patterns=0, n_units=5), ValueError, "n_patterns"),
        (bd.random_patterns, dict(n_patterns=3, n_units=-2), ValueError, "n_units"),
        (bd.random_patterns, dict(n_patterns=2.5, n_units=5), TypeError, "n_patterns"),
        (bd.random_patterns, dict(n_patterns=3, n_units=5, coding_level=0.0), ValueError, "coding_level"),
        (bd.random_patterns, dict(n_patterns=3, n_units=5, coding_level=1.2), ValueError, "coding_level"),
        (bd.random_patterns, dict(n_patterns=3, n_units=5, kind="ternary"), ValueError, "kind"),
        (bd.random_patterns, dict(n_patterns=3, n_units=5, dtype=np.int8), TypeError, "dtype"),
        (bd.random_patterns, dict(n_patterns=3, n_units=5, seed=-1), ValueError, "seed"),
        (bd.bars, dict(n_samples=0), ValueError, "n_samples"),
        (bd.bars, dict(n_samples=3, size=0), ValueError, "size"),
        (bd.bars, dict(n_samples=3, p=1.5), ValueError, "p must"),
        (bd.gaussian, dict(n_samples=0, spectrum=[1.0]), ValueError, "n_samples"),
        (bd.gaussian, dict(n_samples=3, spectrum=[1.0, -0.5]), ValueError, "spectrum"),
        (bd.gaussian, dict(n_samples=3, spectrum=[[1.0, 2.0]]), ValueError, "spectrum"),
        (bd.gaussian, dict(n_samples=3, spectrum=[]), ValueError, "spectrum"),
        (bd.gaussian, dict(n_samples=3, spectrum=[1.0, np.inf]), ValueError, "spectrum"),
        (bd.clusters, dict(n_samples=3, n_clusters=0, n_features=2), ValueError, "n_clusters"),
        (bd.clusters, dict(n_samples=3, n_clusters=2, n_features=0), ValueError, "n_features"),
        (bd.clusters, dict(n_samples=3, n_clusters=2, n_features=2, spread=-0.1), ValueError, "spread"),
    ],
)
def test_generator_bad_arguments(func, kwargs, error, name):
    with pytest.raises(error, match=name) as info:
        func(**kwargs)
    message = str(info.value)
    assert "got" in message  # names the value received
