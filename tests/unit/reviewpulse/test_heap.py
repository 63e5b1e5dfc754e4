"""``reviewpulse.heap``: what start-up built leaves the collector's generations; what comes later does not."""

from __future__ import annotations

import gc

from reviewpulse.heap import freeze_startup_objects


def test_objects_alive_when_start_up_ends_are_frozen_and_later_ones_are_collected_as_before() -> None:
    built_at_start_up = [object()]  # a list: tracked by the collector
    try:
        freeze_startup_objects()
        assert gc.get_freeze_count() > 0
        assert not any(tracked is built_at_start_up for tracked in gc.get_objects())
        made_later = [object()]
        assert any(tracked is made_later for tracked in gc.get_objects())
    finally:
        gc.unfreeze()
