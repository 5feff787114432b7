"""What every agent of the worker shares: settings, the database, the topics it writes to."""
from __future__ import annotations

from dataclasses import dataclass

import faust

from shenpi.settings import Settings
from streams.db import Database


@dataclass
class WorkerContext:
    settings: Settings
    db: Database
    app: faust.App

    def raw_topic(self, name: str) -> faust.TopicT:
        return self.app.topic(name, key_type=bytes, value_type=bytes, key_serializer="raw",
                              value_serializer="raw", partitions=self.settings.partitions)
