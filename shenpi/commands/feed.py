"""Feeding the stack: backfill from files and event logs, optionally waiting until every event is accounted for."""
from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Optional

import click

from core.settings import Settings
from shenpi.common import console, echo_json, settings
from shenpi.runtime import require


async def _publish(s: Settings, connector, wait: bool, label: str) -> dict:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from connectors.kafka import Publisher, ensure_topics

    import asyncpg

    await ensure_topics(s)
    pub = Publisher(s)
    await pub.start()
    receipts = await asyncpg.connect(s.database_url)  # what is sent is first recorded, for the reconciliation
    try:
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, transient=True) as progress:
            task = progress.add_task(label, total=getattr(connector, "expected", None))
            report = await connector.run(pub, on_progress=lambda n: progress.advance(task, n), receipts=receipts)
    finally:
        await receipts.close()
        await pub.stop()
    result = {"received": report.received, "accepted": report.accepted, "refused": report.refused,
              "refusal_examples": report.reasons[:5]}
    if wait:
        result.update(await _wait_processed(s, report.batch_ids, report.dl_keys))
    return result


async def _wait_processed(s: Settings, batch_ids: list[str], dl_keys: list[str], timeout: float = 600) -> dict:
    import asyncpg

    from streams.indicators.status import processed

    conn = await asyncpg.connect(s.database_url)
    try:
        deadline = time.monotonic() + timeout
        while True:
            nb, nd = await processed(conn, batch_ids, dl_keys)
            if (nb, nd) == (len(set(batch_ids)), len(set(dl_keys))):
                break
            if time.monotonic() > deadline:
                raise click.ClickException(f"only {nb}/{len(batch_ids)} batches and {nd}/{len(dl_keys)} dead letters "
                                           f"recorded after {timeout:.0f}s")
            await asyncio.sleep(0.1)
        row = await conn.fetchrow(
            "SELECT coalesce(sum(n_new), 0) AS new, coalesce(sum(n_duplicate), 0) AS dup,"
            " coalesce(sum(n_invalid), 0) AS inv FROM processed_batch WHERE batch_id = ANY($1::text[])", batch_ids)
        return {"new": row["new"], "duplicates": row["dup"], "invalid_in_stream": row["inv"]}
    finally:
        await conn.close()



@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--kind", type=click.Choice(["case-events", "list-changes"]), default="case-events")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "json", "csv"]), default=None)
@click.option("--wait", is_flag=True, help="Return when every event is counted or dead-lettered.")
@click.pass_context
def ingest(ctx: click.Context, file: Path, kind: str, fmt: Optional[str], wait: bool) -> None:
    """Backfill case events or list changes from a JSONL, JSON or CSV file."""
    from connectors.files import FileConnector

    s = settings(ctx)
    require(s, "kafka_bootstrap", "database_url")
    try:
        conn = FileConnector(file, "case_event" if kind == "case-events" else "list_change", fmt)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    echo_json(asyncio.run(_publish(s, conn, wait, f"ingest {file.name}")))


@click.command("import-xes")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--mapping", "mapping_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A mapping YAML (see connectors/mappings); default: the shipped one for this log.")
@click.option("--limit", type=int, default=None, help="Only the first N traces.")
@click.option("--wait", is_flag=True, help="Return when every event is counted or dead-lettered.")
@click.pass_context
def import_xes(ctx: click.Context, file: Path, mapping_path: Optional[Path], limit: Optional[int], wait: bool) -> None:
    """Turn an XES event log into case events (and the list entries its items need) and stream them in."""
    from connectors.xes import XesConnector, load_mapping, mapping_for

    s = settings(ctx)
    require(s, "kafka_bootstrap", "database_url")
    mapping = load_mapping(mapping_path) if mapping_path else mapping_for(file)
    echo_json(asyncio.run(_import_xes(s, XesConnector(file, mapping, limit), wait)))


async def _import_xes(s: Settings, conn, wait: bool) -> dict:
    listed = await _publish(s, conn.list_connector(), False, "list entries")
    events = await _publish(s, conn, wait, f"import {conn.path.name}")
    return {"list_changes": listed, "case_events": events}


COMMANDS = (ingest, import_xes)
