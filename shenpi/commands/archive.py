"""`shenpi org archive`: documents in as they are (checked whole, kept by SHA-256, read by the workers), shown, listed,
searched in either script, given back byte for byte, and the reading queue."""
from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Optional

import click

from shenpi.commands.evaluate import AS, _caller
from shenpi.commands.org import org_group
from shenpi.common import echo_json, settings, with_db

FORMAT = click.option("--format", "fmt", type=click.Choice(["json"]), default="json")


@org_group.group("archive")
def archive_group() -> None:
    """The 三定 digital archive (數字檔案館): documents, their text, search."""


def _scope_of(as_user: Optional[str]):
    async def scope(conn) -> str:
        return (await _caller(conn, as_user)).scope
    return scope


@archive_group.command("add")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--doc-no", default=None, help="The 文號, overriding what is read from the text.")
@click.option("--unit", default=None, help="The unit's code, overriding the unit matched by name.")
@click.option("--type", "doc_type", default=None, help="三定规定, 机构编制审批文件, 调整通知 or 其他 (either script).")
@click.option("--wait", is_flag=True, help="Return when the workers have read every document (OCR included).")
@click.option("--timeout", type=click.FloatRange(1), default=1800.0, show_default=True, help="With --wait.")
@AS
@FORMAT
@click.pass_context
def archive_add(ctx, files, doc_no, unit, doc_type, wait, timeout, as_user, fmt) -> None:
    """Check each file whole and keep it; a bad file is refused with its reason and nothing of it is stored."""
    from connectors.documents import Refused, read
    from schemas.staffing import DOC_TYPES
    from core.script import to_simplified
    from streams.archive import documents

    if doc_type is not None and to_simplified(doc_type) not in DOC_TYPES:
        raise click.BadParameter(f"{doc_type!r} is not one of {', '.join(DOC_TYPES)}", param_hint="--type")
    s = settings(ctx)
    given = {"doc_no": doc_no, "unit_code": unit, "doc_type": doc_type and to_simplified(doc_type)}

    async def work(conn) -> dict:
        who = await _caller(conn, as_user)
        out, refused = [], []
        for f in files:
            data = f.read_bytes()
            try:
                got = await asyncio.to_thread(read, data, f.name, documents.limits(s))
            except Refused as exc:
                refused.append({"file": str(f), "status": "refused", "reason": str(exc)})
                continue
            out.append(await documents.add(conn, data, f.name, got, uploaded_by=who.name, given=given,
                                           region_code=who.scope or None))
        if wait and out:
            out = await _wait(conn, [d["document_id"] for d in out], timeout)
        return {"documents": out, **({"refused": refused} if refused else {})}

    result = with_db(ctx, work)
    echo_json(result)
    if result.get("refused"):
        for r in result["refused"]:
            click.echo(f"refused: {r['reason']}", err=True)
        ctx.exit(1)


async def _wait(conn, ids: list[int], timeout: float) -> list[dict]:
    from streams.archive.documents import COLUMNS, brief

    deadline = time.monotonic() + timeout
    while True:
        rows = await conn.fetch(f"SELECT {COLUMNS} FROM archive_document WHERE document_id = ANY($1::bigint[])"
                                " ORDER BY array_position($1::bigint[], document_id)", ids)
        if all(r["status"] in ("ready", "failed") for r in rows):
            return [brief(r) for r in rows]
        if time.monotonic() > deadline:
            raise click.ClickException(f"not read within {timeout:.0f} s (is a worker running? `shenpi org archive"
                                       " status` shows the queue)")
        await asyncio.sleep(0.2)


@archive_group.command("show")
@click.argument("document_id", type=int)
@AS
@FORMAT
@click.pass_context
def archive_show(ctx, document_id: int, as_user, fmt) -> None:
    """The document: its fields (with the text each came from), its pages, whether OCR read them and how sure."""
    from streams.archive.documents import get

    async def work(conn):
        return await get(conn, document_id, await _scope_of(as_user)(conn))

    doc = with_db(ctx, work)
    if doc is None:
        raise click.ClickException(f"no document {document_id} (in your regions)")
    echo_json(doc)


@archive_group.command("search")
@click.argument("text")
@click.option("--unit", default=None)
@click.option("--type", "doc_type", default=None)
@click.option("--region", default=None)
@click.option("--from", "y0", type=click.IntRange(1900, 2200), default=None, help="From this year (issued).")
@click.option("--to", "y1", type=click.IntRange(1900, 2200), default=None, help="To this year, inclusive.")
@click.option("--limit", type=click.IntRange(1, 500), default=20)
@click.option("--offset", type=click.IntRange(0), default=0)
@AS
@FORMAT
@click.pass_context
def archive_search(ctx, text, unit, doc_type, region, y0, y1, limit, offset, as_user, fmt) -> None:
    """Full text in either script; "quoted phrases"; ranked; each hit with its page and a marked snippet."""
    from streams.archive.search import search

    async def work(conn):
        return await search(conn, text, await _scope_of(as_user)(conn), unit, doc_type, (y0, y1), region, limit,
                            offset)

    echo_json(with_db(ctx, work))


@archive_group.command("list")
@click.option("--unit", default=None)
@click.option("--limit", type=click.IntRange(1, 10000), default=200)
@AS
@FORMAT
@click.pass_context
def archive_list(ctx, unit, limit, as_user, fmt) -> None:
    """The documents, newest first (a unit's with --unit)."""
    from streams.archive.documents import list_documents

    async def work(conn):
        return {"documents": await list_documents(conn, await _scope_of(as_user)(conn), unit, limit)}

    echo_json(with_db(ctx, work))


@archive_group.command("get")
@click.argument("document_id", type=int)
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False, path_type=Path))
@AS
@click.pass_context
def archive_get(ctx, document_id: int, output: Path, as_user) -> None:
    """The original file, byte for byte (checked against its SHA-256)."""
    from streams.archive.documents import Corrupted, original

    async def work(conn):
        return await original(conn, document_id, await _scope_of(as_user)(conn))

    try:
        got = with_db(ctx, work)
    except Corrupted as exc:
        raise click.ClickException(str(exc)) from None
    if got is None:
        raise click.ClickException(f"no document {document_id} (in your regions)")
    output.write_bytes(got[1])
    echo_json({"document_id": document_id, "filename": got[0], "bytes": len(got[1]), "output": str(output)})


@archive_group.command("status")
@FORMAT
@click.pass_context
def archive_status(ctx, fmt) -> None:
    """The reading queue: documents waiting, being read (OCR pages done of all), read, failed and why."""
    from streams.archive.documents import queue_status

    echo_json(with_db(ctx, queue_status))


COMMANDS = ()
