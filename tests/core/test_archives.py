"""Which archive a digest takes next (`bot.core.archives.pick_archive`): the newest new name, numbers
inside names ordered by value, old ones never dug out."""

from __future__ import annotations

from bot.core.archives import pick_archive


def test_pick_archive_takes_the_newest_new_name_and_never_digs_out_old_ones():
    assert pick_archive([], set()) == (None, [])
    assert pick_archive(["n/2025-11-02", "n/2025-11-01"], set()) == ("n/2025-11-02", ["n/2025-11-01"])
    names = ["n/2025-11-01", "n/2025-11-02", "n/2025-11-03", "n/2025-11-04"]
    assert pick_archive(names, {"n/2025-11-02"}) == ("n/2025-11-04", ["n/2025-11-03"])
    assert pick_archive(names, {"n/2025-11-04"}) == (None, [])
    # a never-digested archive older than the last digest is not "new"
    assert pick_archive(names, {"n/2025-11-01", "n/2025-11-04"}) == (None, [])


def test_pick_archive_orders_numbers_inside_names_by_value():
    # Plain string order puts "run-10" before "run-9": after run-9 the subscription went silent.
    assert pick_archive(["b/run-9", "b/run-10", "b/run-11"], {"b/run-9"}) == ("b/run-11", ["b/run-10"])
    assert pick_archive(["n/2025-11-9", "n/2025-11-10"], {"n/2025-11-9"}) == ("n/2025-11-10", [])
    assert pick_archive(["b/run-2", "b/run-10"], set()) == ("b/run-10", ["b/run-2"])
    assert pick_archive(["b/run-9", "b/run-10"], {"b/run-10"}) == (None, [])
