"""What every layer shares and nothing below depends on: settings, process metrics, time zone, lock ids, app keys."""
