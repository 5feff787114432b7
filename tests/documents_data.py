"""Real files made in the tests: Word (.docx written by python-docx), text and scanned PDFs (fpdf2 with a CJK font),
scans (Pillow), text in UTF-8 and GB18030, and bad ones: cut short, encrypted, a zip bomb, a name that lies."""
from __future__ import annotations

import io
import zipfile
from functools import lru_cache

from simulator.documents import FONT, render_scan


def docx(pages: list[str]) -> bytes:
    from docx import Document
    from docx.enum.text import WD_BREAK

    d = Document()
    for i, page in enumerate(pages):
        for line in page.split("\n"):
            d.add_paragraph(line)
        if i < len(pages) - 1:
            d.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def text_pdf(pages: list[str]) -> bytes:
    return _text_pdf(tuple(pages))


@lru_cache(maxsize=None)  # loading the CJK font takes seconds
def _text_pdf(pages: tuple[str, ...]) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_font("wqy", "", FONT)
    pdf.set_font("wqy", size=11)
    for page in pages:
        pdf.add_page()
        pdf.multi_cell(0, 7, page)
    return bytes(pdf.output())


def scanned_pdf(images: list[bytes]) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    for im in images:
        pdf.add_page()
        pdf.image(io.BytesIO(im), x=0, y=0, w=210)
    return bytes(pdf.output())


def encrypted_pdf(plain: bytes) -> bytes:
    from pypdf import PdfReader, PdfWriter

    w = PdfWriter(clone_from=PdfReader(io.BytesIO(plain)))
    w.encrypt("secret", algorithm="RC4-128")
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


def zip_bomb(expanded: int) -> bytes:
    """A .docx whose document.xml inflates to `expanded` bytes (a few KB on disk)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        with z.open("word/document.xml", "w", force_zip64=True) as f:
            chunk = b" " * (1 << 20)
            for _ in range(expanded >> 20):
                f.write(chunk)
    return buf.getvalue()


def small_scan(text: str, seed: int = 0) -> bytes:
    """A small page (a few lines): quick to OCR."""
    return render_scan(text, seed=seed, width=900, font_px=34, tilt=0.8)
