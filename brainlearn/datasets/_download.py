"""Checked, atomic downloads with the standard library only."""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from .._version import __version__

logger = logging.getLogger(__name__)

_CHUNK = 1 << 16
#: Seconds to wait for a server before trying the next mirror.
TIMEOUT = 60.0


class ChecksumError(OSError):
    """A downloaded file's MD5 checksum differs from the expected one."""


def md5_of(path: str | os.PathLike) -> str:
    """Hex MD5 digest of a file, read in chunks."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download(url: str, dest: Path, md5: str | None) -> Path:
    """Fetch ``url`` into ``dest``, verifying its MD5 when one is given.

    The body goes to a temporary file in ``dest``'s directory, is checked, and
    only then renamed to ``dest``; on any failure the temporary file is removed,
    so ``dest`` is either complete and verified or absent.

    Raises
    ------
    ChecksumError
        If the MD5 of the received bytes is not ``md5``.
    urllib.error.URLError, OSError
        If the server cannot be reached or answers with an error.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    request = urllib.request.Request(url, headers={"User-Agent": f"brainlearn/{__version__}"})
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        digest = hashlib.md5(usedforsecurity=False)
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            for chunk in iter(lambda: response.read(_CHUNK), b""):
                digest.update(chunk)
                out.write(chunk)
        got = digest.hexdigest()
        if md5 is not None and got != md5.lower():
            raise ChecksumError(
                f"checksum mismatch for {dest.name} downloaded from {url}: expected MD5 {md5.lower()}, got {got}"
            )
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return dest


def download_from_mirrors(mirrors: list[str], filename: str, dest: Path, md5: str | None) -> Path:
    """Try each base URL in turn until one yields a verified ``filename``.

    Raises
    ------
    ChecksumError
        If no mirror succeeded and at least one served a file with the wrong
        checksum.
    OSError
        If no mirror could be reached; the message lists every attempt.
    """
    if not mirrors:
        raise ValueError(f"no mirror to download {filename} from; give base_url or fill the mirror list")
    failures: list[tuple[str, Exception]] = []
    for base in mirrors:
        url = base.rstrip("/") + "/" + filename
        logger.info("downloading %s", url)
        try:
            return download(url, dest, md5)
        except (OSError, http.client.HTTPException) as exc:  # URLError and ChecksumError are OSErrors
            if isinstance(exc, urllib.error.HTTPError):
                exc.close()  # an HTTPError holds the open response; release the socket now
            logger.warning("failed to download %s: %s", url, exc)
            failures.append((url, exc))
    summary = "; ".join(f"{url}: {exc}" for url, exc in failures)
    checksum = [exc for _, exc in failures if isinstance(exc, ChecksumError)]
    if checksum:
        raise ChecksumError(f"{checksum[0]}" + (f" (all attempts: {summary})" if len(failures) > 1 else ""))
    raise OSError(f"could not download {filename} from any mirror: {summary}") from failures[-1][1]
