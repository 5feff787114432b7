"""Reading files as they are: each kind by its bytes, its text per page, scans named for OCR; bad files refused whole
with a reason (corrupt, encrypted, too large, a zip bomb, a name that lies, an unknown kind)."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from connectors.documents import Limits, Refused, page_image, read
from tests.documents_data import docx, encrypted_pdf, scanned_pdf, small_scan, text_pdf, zip_bomb

PAGES = ["濰編〔2019〕12號\n濰坊市教育局職能配置、內設機構和人員編制規定", "第二條 主要職責是：\n（一）負責教師資格認定工作。"]


def test_docx_pages_split_at_page_breaks():
    got = read(docx(PAGES), "三定.docx")
    assert got.kind == "docx" and got.pages == PAGES and got.scans == []


def test_text_pdf_pages_and_a_scanned_pdf_named_for_ocr():
    got = read(text_pdf(PAGES), "a.pdf")
    assert got.kind == "pdf" and [p.replace("\n", "") for p in got.pages] == [p.replace("\n", "") for p in PAGES]
    scan = scanned_pdf([small_scan("第一条 根据方案制定本规定。")])
    got = read(scan, "scan.pdf")
    assert got.pages == [None] and got.scans == [0]
    image = page_image(scan, "pdf", 0)
    assert image.startswith(b"\x89PNG")


def test_images_and_text_in_either_encoding():
    from PIL import Image
    import io

    assert read(small_scan("一行"), "p.png").pages == [None]
    frames = [Image.open(io.BytesIO(small_scan(f"第{i}页"))) for i in (1, 2)]
    buf = io.BytesIO()
    frames[0].save(buf, "TIFF", save_all=True, append_images=frames[1:])
    assert read(buf.getvalue(), "two.tif").pages == [None, None]
    assert page_image(buf.getvalue(), "image", 1) != page_image(buf.getvalue(), "image", 0)
    text = "濰編〔2019〕12號\f第二頁"
    assert read(text.encode("gb18030"), "t.txt").pages == ["濰編〔2019〕12號", "第二頁"]
    assert read(("\ufeff" + text).encode("utf-8"), "t.txt").pages == ["濰編〔2019〕12號", "第二頁"]


@pytest.mark.parametrize("name,make,reason", [
    ("cut.pdf", lambda: text_pdf(PAGES)[:-300], "cut short"),
    ("locked.pdf", lambda: encrypted_pdf(text_pdf(PAGES)), "encrypted PDF"),
    ("scan.pdf", lambda: small_scan("一行"), "is not what the name says"),
    ("a.docx", lambda: text_pdf(PAGES), "is not what the name says"),
    ("a.exe", lambda: b"MZ\x90\x00", "not a kind the archive takes"),
    ("empty.txt", lambda: b"", "empty"),
    ("latin.txt", lambda: "caf\xe9".encode("latin-1") + b"\xff\xfe\x81", "neither UTF-8 nor GB18030"),
    ("broken.png", lambda: small_scan("一行")[:200], "corrupt image"),
    ("garbage.pdf", lambda: b"%PDF-1.4\n" + b"x" * 500 + b"\n%%EOF", "corrupt PDF"),
])
def test_bad_files_are_refused_with_the_reason(name, make, reason):
    with pytest.raises(Refused, match=reason):
        read(make(), name)


def test_size_limits_are_settings():
    data = text_pdf(PAGES)
    with pytest.raises(Refused, match="over the limit"):
        read(data, "a.pdf", Limits(max_bytes=len(data) - 1))
    with pytest.raises(Refused, match="zip bomb"):
        read(zip_bomb(3 << 20), "b.docx", Limits(max_expanded_bytes=2 << 20))


@pytest.mark.slow
def test_old_word_files_through_libreoffice(tmp_path):
    office = shutil.which("soffice")
    assert office, "LibreOffice is missing: infra/local/setup.sh installs libreoffice-writer-nogui"
    src = tmp_path / "old.docx"
    src.write_bytes(docx(PAGES))
    subprocess.run([office, "--headless", f"-env:UserInstallation=file://{tmp_path}/p", "--convert-to", "doc",
                    "--outdir", str(tmp_path), str(src)], check=True, capture_output=True, timeout=120)
    got = read((tmp_path / "old.doc").read_bytes(), "old.doc")
    assert got.kind == "doc" and "".join(got.pages).replace("\n", "") == "".join(PAGES).replace("\n", "")
