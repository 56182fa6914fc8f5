"""Write an MNIST-like data set, made from the bundled 8x8 digits, as the four MNIST IDX files.

**This is not MNIST.** It is a stand-in of MNIST's size and format (28x28 uint8 images, 60000
training and 10000 test samples by default, the four standard IDX files), for tuning and
testing settings at 784 inputs on a machine that cannot download MNIST. Its images are the 1797
UCI digits of ``bl.datasets.load("digits")`` seen again and again under small random
distortions, so it is easier than MNIST and much less varied (1347 distinct training digits);
accuracies on it say nothing about MNIST. What carries over is the input size and scale: 784
pixels in [0, 1], most of them background, a digit in a 20x20 box in the middle -- what the
learning rates of the rules depend on.

Each sample is made from one digit:

1. the 8x8 image (pixels in [0, 1]) is upsampled to 20x20, bilinear
   (``scipy.ndimage.zoom(order=1)``), and placed in the middle of a 28x28 frame (as MNIST's
   digits are normalised to a 20x20 box in a 28x28 frame);
2. the frame is rotated by a random angle in ``[-max_rotation, max_rotation]`` degrees, scaled
   by a random factor in ``[1 - max_scale, 1 + max_scale]`` about its centre and shifted by a
   random offset in ``[-max_shift, max_shift]`` pixels along each axis, in one bilinear
   ``scipy.ndimage.affine_transform``;
3. Gaussian pixel noise of standard deviation ``noise`` is added, the pixels clipped to [0, 1]
   and stored as ``round(255 x)`` (uint8).

Training samples are drawn from the digits' training split (1347 images), test samples from its
test split (450 images): no test digit is seen in training, even distorted. Each split's digits
are drawn in shuffled passes (every digit about equally often). Everything is drawn from
``--seed``: the same arguments write the same bytes.

Usage::

    python experiments/tools/make_mnist_like.py data/mnist_like                 # 60000 / 10000
    python experiments/tools/make_mnist_like.py OUT --n-train 10000 --n-test 2000 --seed 1
    python experiments/tools/make_mnist_like.py OUT --gzip                      # *.gz files

then ``bl.datasets.load("mnist", path=OUT)`` reads it, and the learning study learns it with
``--set mnist_path=OUT``. Takes about 10 s for 70000 samples.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from scipy import ndimage

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if os.path.isfile(os.path.join(_ROOT, "brainlearn", "__init__.py")):
    sys.path.insert(0, _ROOT)  # in a checkout, use its brainlearn rather than an installed one

import brainlearn as bl  # noqa: E402

SIZE = 28  # the frame, as MNIST's
BOX = 20  # the digit's box, as MNIST's
FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
         "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


def framed(images8) -> np.ndarray:
    """The 8x8 images (n, 64) upsampled to 20x20 (bilinear) in the middle of 28x28 frames."""
    images8 = np.asarray(images8, dtype=np.float64).reshape(-1, 8, 8)
    out = np.zeros((len(images8), SIZE, SIZE))
    lo = (SIZE - BOX) // 2
    for k, img in enumerate(images8):
        big = ndimage.zoom(img, BOX / 8, order=1, mode="nearest", grid_mode=True)
        out[k, lo:lo + BOX, lo:lo + BOX] = np.clip(big, 0.0, 1.0)
    return out


def distort(frame, rng, max_shift, max_rotation, max_scale) -> np.ndarray:
    """One random rotation, scaling and shift of a 28x28 frame about its centre (bilinear)."""
    angle = np.deg2rad(rng.uniform(-max_rotation, max_rotation))
    scale = rng.uniform(1.0 - max_scale, 1.0 + max_scale)
    shift = rng.uniform(-max_shift, max_shift, size=2)
    c, s = np.cos(angle), np.sin(angle)
    # affine_transform maps an output coordinate o to the input coordinate M o + offset; the
    # image is rotated by +angle and scaled by `scale` about the centre, then shifted
    M = np.array([[c, s], [-s, c]]) / scale
    centre = np.full(2, (SIZE - 1) / 2.0)
    offset = centre - M @ (centre + shift)
    return ndimage.affine_transform(frame, M, offset=offset, order=1, mode="constant", cval=0.0)


def make_split(images8, labels, n, rng, noise, max_shift, max_rotation, max_scale):
    """``n`` samples (uint8 images (n, 28, 28), uint8 labels (n,)) from the given digits."""
    frames = framed(images8)
    passes = -(-n // len(frames))
    source = np.concatenate([rng.permutation(len(frames)) for _ in range(passes)])[:n]
    x = np.empty((n, SIZE, SIZE))
    for k, idx in enumerate(source):
        x[k] = distort(frames[idx], rng, max_shift, max_rotation, max_scale)
    if noise > 0:
        x += rng.normal(0.0, noise, size=x.shape)
    x = np.rint(np.clip(x, 0.0, 1.0) * 255.0).astype(np.uint8)
    return x, np.asarray(labels, dtype=np.uint8)[source]


def make(out_dir, n_train=60000, n_test=10000, seed=0, noise=0.05, max_shift=2.0,
         max_rotation=10.0, max_scale=0.1, compress=False) -> dict:
    """Write the four IDX files into ``out_dir`` (created if needed); returns their paths."""
    digits = bl.datasets.load("digits")
    out = Path(out_dir).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for split, n, x8, y in (("train", n_train, digits.x_train, digits.y_train),
                            ("test", n_test, digits.x_test, digits.y_test)):
        rng = np.random.default_rng([seed, 0 if split == "train" else 1])
        images, labels = make_split(x8, y, n, rng, noise, max_shift, max_rotation, max_scale)
        suffix = ".gz" if compress else ""
        for name, array in zip(FILES[split], (images, labels)):
            written[name] = bl.datasets.write_idx(out / (name + suffix), array)
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python experiments/tools/make_mnist_like.py",
        description="Write an MNIST-like stand-in (28x28 uint8 IDX files) made from the bundled "
                    "8x8 digits: for settings at 784 inputs, not MNIST.")
    parser.add_argument("out_dir", help="folder for the four IDX files (created if needed)")
    parser.add_argument("--n-train", type=int, default=60000, help="training samples (60000)")
    parser.add_argument("--n-test", type=int, default=10000, help="test samples (10000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (0)")
    parser.add_argument("--noise", type=float, default=0.05,
                        help="standard deviation of the Gaussian pixel noise, pixels in [0, 1] "
                             "(0.05)")
    parser.add_argument("--max-shift", type=float, default=2.0,
                        help="largest shift along each axis, pixels (2)")
    parser.add_argument("--max-rotation", type=float, default=10.0,
                        help="largest rotation, degrees (10)")
    parser.add_argument("--max-scale", type=float, default=0.1,
                        help="largest relative change of size (0.1: 0.9 to 1.1)")
    parser.add_argument("--gzip", action="store_true", help="write gzip-compressed *.gz files")
    args = parser.parse_args(argv)
    for name in ("n_train", "n_test"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    for name in ("noise", "max_shift", "max_rotation"):
        if getattr(args, name) < 0:
            parser.error(f"--{name.replace('_', '-')} must be >= 0")
    if not 0 <= args.max_scale < 1:
        parser.error("--max-scale must be in [0, 1)")
    t0 = time.perf_counter()
    written = make(args.out_dir, args.n_train, args.n_test, args.seed, args.noise,
                   args.max_shift, args.max_rotation, args.max_scale, args.gzip)
    data = bl.datasets.load("mnist", path=args.out_dir)  # check that the loader reads it
    print(f"wrote {len(written)} IDX files to {args.out_dir} in {time.perf_counter() - t0:.1f} s: "
          f"{data.x_train.shape[0]} training and {data.x_test.shape[0]} test images of "
          f"{data.image_shape}, mean pixel {data.x_train.mean():.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
