"""Feeding the stack: backfill from files and event logs, optionally waiting until every event is accounted for."""
from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Optional

import click

from core.settings import Settings
from shenpi.common import connect, console, echo_json, settings
from shenpi.runtime import require


def _progress():
    """The bar a feed shows while it reads: items so far (of how many, where known) and the time taken."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=True)


async def _publish_report(s: Settings, connector, label: str):
    """Send everything the connector reads, each chunk first recorded as an edge receipt; the run's report."""
    from connectors.kafka import Publisher, ensure_topics


    await ensure_topics(s)
    connector.identity_key = s.identity_secret()
    pub = Publisher(s)
    await pub.start()
    receipts = await connect(s.database_url)  # what is sent is first recorded, for the reconciliation
    try:
        with _progress() as progress:
            task = progress.add_task(label, total=getattr(connector, "expected", None))
            return await connector.run(pub, on_progress=lambda n: progress.advance(task, n), receipts=receipts)
    finally:
        await receipts.close()
        await pub.stop()


async def _publish(s: Settings, connector, wait: bool, label: str) -> dict:
    report = await _publish_report(s, connector, label)
    result = {"received": report.received, "accepted": report.accepted, "refused": report.refused,
              "refusal_examples": report.reasons[:5]}
    if report.unsent:
        result["unsent"] = report.unsent
    if wait:
        result.update(await _wait_processed(s, report.batch_ids + report.change_ids, report.dl_keys))
    return result


def gave_up(s: Settings, what: str) -> click.ClickException:
    return click.ClickException(
        f"gave up waiting after {s.wait_seconds:.0f}s (SHENPI_WAIT_SECONDS): {what}. What was acknowledged is kept in"
        " edge receipts: the API's relay sends list and staffing changes again once the broker is back; case events"
        " from a file are ingested again (a no-op for what was taken). `shenpi status` shows every stream.")


async def _wait_processed(s: Settings, batch_ids: list[str], dl_keys: list[str]) -> dict:
    """Until every batch (or list change) and dead letter is accounted for, or SHENPI_WAIT_SECONDS have passed."""

    from streams.indicators.status import processed

    conn = await connect(s.database_url)
    try:
        deadline = time.monotonic() + s.wait_seconds
        while True:
            nb, nd = await processed(conn, batch_ids, dl_keys)
            if (nb, nd) == (len(set(batch_ids)), len(set(dl_keys))):
                break
            if time.monotonic() > deadline:
                raise gave_up(s, f"{nb}/{len(set(batch_ids))} batches or changes and {nd}/{len(set(dl_keys))} dead"
                                 " letters accounted for")
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
@click.option("--bulk", is_flag=True, help="Case events straight into the database by several processes (no broker):"
                                          " a backfill at bulk speed; returns when all are counted.")
@click.option("--jobs", type=click.IntRange(1, 16), default=2, show_default=True, help="Processes for --bulk.")
@click.pass_context
def ingest(ctx: click.Context, file: Path, kind: str, fmt: Optional[str], wait: bool, bulk: bool, jobs: int) -> None:
    """Backfill case events or list changes from a JSONL, JSON or CSV file."""
    from connectors.files import FileConnector

    s = settings(ctx)
    try:
        conn = FileConnector(file, "case_event" if kind == "case-events" else "list_change", fmt)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    if bulk:
        if kind != "case-events":
            raise click.BadParameter("--bulk is for case events (list changes are few: send them as usual)")
        require(s, "database_url")
        echo_json(asyncio.run(_bulk(s, conn, jobs, f"bulk {file.name}")))
        return
    require(s, "kafka_bootstrap", "database_url")
    echo_json(asyncio.run(_publish(s, conn, wait, f"ingest {file.name}")))


async def _bulk(s: Settings, connector, jobs: int, label: str) -> dict:
    """Chunks of the file recorded as edge receipts, then written by `jobs` processes through the write path."""

    from connectors import edge
    from connectors.grouping import by_case
    from connectors.kafka import Delivery
    from connectors.parsing import Refusal, scrubbed_line
    from core import memory
    from schemas import DeadLetter
    from streams.cases.bulk import BulkWriter, split
    from streams.deadletters.store import insert_dead_letters

    receipts = await connect(s.database_url)
    key = s.identity_secret()
    writer = BulkWriter(s.database_url, jobs)
    memory.for_throughput()
    fp, received, accepted, refused = connector.fingerprint(), 0, 0, 0
    reasons: list[str] = []
    try:
        with _progress() as progress:
            task = progress.add_task(label, total=None)
            chunk: list = []
            n = 0

            async def flush() -> None:
                nonlocal n, received, accepted, refused, chunk
                request_id = f"{fp}-{n}"
                chunk = [scrubbed_line(x, key) for x in chunk]
                raws = [(raw, text) for _, raw, text in chunk if not isinstance(raw, Refusal)]
                letters = [DeadLetter(dl_key=f"bulk:{request_id}#{i}", stage="edge", kind="case_event", source="bulk",
                                      reason=raw.reason, payload=raw.raw) for i, raw, _ in chunk
                           if isinstance(raw, Refusal)]
                parts = split(raws, jobs, f"bulk:{request_id}")
                d = Delivery("bulk", "case_event", request_id, dl_keys=[x.dl_key for x in letters],
                             batch_ids=[b for part in parts for b, _ in part],
                             batch_sizes=[len(evs) for part in parts for _, evs in part])
                if await edge.record(receipts, d, len(chunk), keep_records=False):
                    await insert_dead_letters(receipts, letters)
                    await edge.mark_relayed(receipts, [request_id])
                await writer.put(parts, lambda k: progress.advance(task, k))
                received, accepted, refused = received + len(chunk), accepted + len(raws), refused + len(letters)
                reasons.extend(x.reason for x in letters[:5 - len(reasons)] if len(reasons) < 5)
                n += 1

            last = None
            for item in by_case(connector.texts()):  # a case's events in one chunk: evaluated once
                case = item[1].get("case_id") if isinstance(item[1], dict) else None
                if len(chunk) >= 50_000 and case != last:
                    await flush()
                    chunk = []
                chunk.append(item)
                last = case
            if chunk:
                await flush()
            totals = await writer.close(accepted, lambda k: progress.advance(task, k))
        # one write per case leaves few dead rows, but a large load still leaves the planner's statistics behind
        await receipts.execute("VACUUM (ANALYZE) case_state, case_event, indicator_daily, violation")
    finally:
        await receipts.close()
    return {"received": received, "accepted": accepted, "refused": refused, "refusal_examples": reasons,
            "new": totals["new"], "duplicates": totals["duplicates"], "invalid_in_stream": totals["invalid"]}


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
