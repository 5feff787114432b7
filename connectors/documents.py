"""Reading a document file as it is: what it is by its bytes (not its name), refused whole when corrupt, encrypted,
too large or expanding without bound, and its text per page; scanned pages are named for OCR, rendered on demand."""
from __future__ import annotations

import io
import os
import re
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from core.script import decode_text

KINDS = {".docx": "docx", ".pdf": "pdf", ".png": "image", ".jpg": "image", ".jpeg": "image", ".tif": "image",
         ".tiff": "image", ".txt": "txt", ".doc": "doc", ".wps": "doc"}
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .doc and .wps are OLE2 compound files
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
MIN_TEXT_CHARS = 10  # a PDF page with less text than this and an image on it is a scan


class Refused(ValueError):
    """A file refused whole, with the reason a person can act on."""


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 50 * 1024 ** 2
    max_expanded_bytes: int = 200 * 1024 ** 2  # a .docx's parts decompressed, all together
    max_pages: int = 5000
    max_pixels: int = 120_000_000  # an image (or a rendered page) larger than this is refused


@dataclass
class Read:
    kind: str
    pages: list[Optional[str]] = field(default_factory=list)  # the text of each page; None: a scan, for OCR

    @property
    def scans(self) -> list[int]:
        return [i for i, p in enumerate(self.pages) if p is None]


def sniff(data: bytes) -> str:
    """What the bytes are, whatever the name says."""
    if data.startswith(b"%PDF-") or b"%PDF-" in data[:1024]:
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        return "zip"
    if data.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*")):
        return "image"
    if data.startswith(OLE2):
        return "doc"
    return "txt" if b"\x00" not in data[:65536] else "binary"


_SHOWN = {"pdf": "a PDF", "zip": "a zip archive", "image": "an image", "doc": "an OLE2 (.doc/.wps) file",
          "txt": "text", "binary": "binary data"}


def kind_of(filename: str, data: bytes, limits: Limits) -> str:
    ext = Path(filename).suffix.lower()
    if ext not in KINDS:
        raise Refused(f"{filename}: {ext or 'no extension'} is not a kind the archive takes"
                      f" ({', '.join(sorted(KINDS))})")
    if len(data) > limits.max_bytes:
        raise Refused(f"{filename}: {len(data):,} bytes is over the limit of {limits.max_bytes:,}")
    if not data:
        raise Refused(f"{filename}: the file is empty")
    want, got = KINDS[ext], sniff(data)
    if {"docx": "zip"}.get(want, want) != got:
        raise Refused(f"{filename}: the content is not what the name says: a {ext} file, but its bytes are {_SHOWN[got]}")
    return want


def read(data: bytes, filename: str, limits: Limits = Limits()) -> Read:
    """Check the file whole and read its text per page; raises Refused."""
    kind = kind_of(filename, data, limits)
    reader = {"docx": _docx, "pdf": _pdf, "image": _image, "txt": _txt, "doc": _doc}[kind]
    pages = reader(data, limits)
    if len(pages) > limits.max_pages:
        raise Refused(f"{filename}: {len(pages):,} pages is over the limit of {limits.max_pages:,}")
    return Read(kind, pages)


def _txt(data: bytes, limits: Limits) -> list[Optional[str]]:
    text = decode_text(data)
    if text is None:
        raise Refused("the text is neither UTF-8 nor GB18030")
    return [p.strip("\n") for p in text.replace("\r\n", "\n").split("\f")]


def _docx(data: bytes, limits: Limits) -> list[Optional[str]]:
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
        infos = z.infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        raise Refused(f"a corrupt .docx (zip): {exc}") from None
    if sum(i.file_size for i in infos) > limits.max_expanded_bytes:
        raise Refused(f"the .docx expands to more than {limits.max_expanded_bytes:,} bytes (a zip bomb?)")
    if "word/document.xml" not in z.namelist():
        raise Refused("not a Word document: the zip has no word/document.xml")
    try:
        with z.open("word/document.xml") as f:  # the sizes a zip declares can lie: count what comes out
            xml = f.read(limits.max_expanded_bytes + 1)
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as exc:  # RuntimeError: encrypted member
        raise Refused(f"a corrupt or encrypted .docx: {exc}") from None
    if len(xml) > limits.max_expanded_bytes:
        raise Refused(f"the .docx expands to more than {limits.max_expanded_bytes:,} bytes (a zip bomb?)")
    return _docx_pages(xml)


def _docx_pages(xml: bytes) -> list[Optional[str]]:
    from defusedxml import ElementTree
    from defusedxml.common import DefusedXmlException

    try:
        root = ElementTree.fromstring(xml)
    except (ElementTree.ParseError, DefusedXmlException) as exc:
        raise Refused(f"a corrupt .docx: its document.xml does not parse ({exc})") from None
    pages, lines = [], []
    for p in root.iter(W + "p"):
        line = []
        for el in p.iter():
            if el.tag == W + "t":
                line.append(el.text or "")
            elif el.tag == W + "tab":
                line.append("\t")
            elif el.tag == W + "br" and el.get(W + "type") == "page":
                lines.append("".join(line))
                pages.append("\n".join(lines))
                lines, line = [], []
        lines.append("".join(line))
    pages.append("\n".join(lines))
    return [pg.strip("\n") for pg in pages] if any(pg.strip() for pg in pages) else [""]


def _pdf_reader(data: bytes):
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    if b"%%EOF" not in data[-2048:]:
        raise Refused("a corrupt PDF: it is cut short (no %%EOF at its end)")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise Refused("an encrypted PDF: save it without a password first")
        return reader, len(reader.pages)
    except Refused:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError) as exc:
        raise Refused(f"a corrupt PDF: {exc}") from None


def _pdf(data: bytes, limits: Limits) -> list[Optional[str]]:
    reader, n = _pdf_reader(data)
    if n == 0:
        raise Refused("a corrupt PDF: it has no pages")
    if n > limits.max_pages:
        raise Refused(f"{n:,} pages is over the limit of {limits.max_pages:,}")
    pages: list[Optional[str]] = []
    try:
        for page in reader.pages:
            text = (page.extract_text() or "").strip()
            scanned = len(re.sub(r"\s", "", text)) < MIN_TEXT_CHARS and _has_image(page)
            pages.append(None if scanned else text)
    except Refused:
        raise
    except Exception as exc:  # noqa: BLE001 - pypdf raises many kinds on a damaged page: each means a bad file
        raise Refused(f"a corrupt PDF: page {len(pages) + 1} cannot be read ({type(exc).__name__}: {exc})") from None
    return pages


def _has_image(page) -> bool:
    xobjects = (page.get("/Resources") or {}).get("/XObject") or {}
    return any(getattr(x.get_object(), "get", lambda k: None)("/Subtype") == "/Image" for x in xobjects.values())


def _image(data: bytes, limits: Limits) -> list[Optional[str]]:
    """A scan: one page a frame (a multi-page TIFF is a whole document)."""
    return [None] * getattr(_open_image(data, limits), "n_frames", 1)


def _open_image(data: bytes, limits: Limits):
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = limits.max_pixels
    try:
        im = Image.open(io.BytesIO(data))
        if im.width * im.height > limits.max_pixels:
            raise Refused(f"an image of {im.width}x{im.height} pixels is over the limit of {limits.max_pixels:,}")
        im.load()
        return im
    except Refused:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise Refused(f"a corrupt image: {exc}") from None


def converter() -> Optional[str]:
    """LibreOffice's headless converter, where installed."""
    for name in ("soffice", "libreoffice"):
        for d in os.environ.get("PATH", "/usr/bin").split(os.pathsep):
            if os.access(os.path.join(d, name), os.X_OK):
                return os.path.join(d, name)
    return None


def _doc(data: bytes, limits: Limits) -> list[Optional[str]]:
    office = converter()
    if office is None:
        raise Refused("an old binary Word/WPS file: install LibreOffice (apt-get install libreoffice-writer-nogui)"
                      " to take it, or save it as .docx")
    with tempfile.TemporaryDirectory(prefix="shenpi-doc-") as tmp:
        src = Path(tmp) / "in.doc"
        src.write_bytes(data)
        try:
            out = subprocess.run([office, "--headless", "--norestore", f"-env:UserInstallation=file://{tmp}/profile",
                                  "--convert-to", "docx:MS Word 2007 XML", "--outdir", tmp, str(src)],
                                 capture_output=True, timeout=120)
        except subprocess.TimeoutExpired:
            raise Refused("LibreOffice took more than 120 s to convert the file") from None
        converted = Path(tmp) / "in.docx"
        if out.returncode != 0 or not converted.exists():
            raise Refused(f"LibreOffice could not convert the file (corrupt?): {out.stderr.decode(errors='replace')[:200]}")
        return _docx(converted.read_bytes(), limits)


def page_image(data: bytes, kind: str, n: int, limits: Limits = Limits(), dpi: int = 200) -> bytes:
    """Page n (from 0) of a scan as an image for OCR."""
    if kind == "image":
        im = _open_image(data, limits)
        im.seek(min(n, getattr(im, "n_frames", 1) - 1))
        buf = io.BytesIO()
        im.convert("L").save(buf, "PNG")
        return buf.getvalue()
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(data)
        f.flush()
        out = subprocess.run(["pdftoppm", "-r", str(dpi), "-f", str(n + 1), "-l", str(n + 1), "-gray", "-png",
                              "-singlefile", f.name], capture_output=True, timeout=300)
    if out.returncode != 0 or not out.stdout:
        raise RuntimeError(f"pdftoppm could not render page {n + 1}: {out.stderr.decode(errors='replace')[:200]}")
    return out.stdout
