"""Pacemaker: exponential backoff, reset on progress, view-sync threshold, future-view bound."""

from __future__ import annotations

from sequencer.pacemaker import ManualClock, Pacemaker, PacemakerConfig

CFG = PacemakerConfig(base_timeout_ms=100, backoff_factor=2.0, max_timeout_ms=1_000, view_sync_after=2, max_future_views=50)


def test_first_view_gets_the_base_timeout():
    clock = ManualClock(10)
    pm = Pacemaker(CFG, clock)
    assert (pm.view, pm.deadline_ms) == (1, 110)
    assert not pm.expired()
    clock.advance(100)
    assert pm.expired()


def test_each_view_without_a_qc_doubles_the_timeout_up_to_the_cap():
    clock = ManualClock(0)
    pm = Pacemaker(CFG, clock)
    durations = []
    for view in range(2, 8):
        pm.advance(view, high_qc_view=0)
        durations.append(pm.deadline_ms - clock.now_ms())
    assert durations == [200, 400, 800, 1_000, 1_000, 1_000]


def test_a_qc_resets_the_backoff():
    clock = ManualClock(0)
    pm = Pacemaker(CFG, clock)
    pm.advance(5, high_qc_view=0)
    assert pm.timeout_ms() == 1_000
    pm.advance(6, high_qc_view=5)
    assert pm.timeout_ms() == 100 and pm.consecutive_timeouts == 0


def test_repeated_local_timeouts_in_a_stuck_view_back_off_the_rebroadcast():
    clock = ManualClock(0)
    pm = Pacemaker(CFG, clock)
    deadlines = []
    for _ in range(4):
        clock.t_ms = pm.deadline_ms
        pm.on_local_timeout()
        deadlines.append(pm.deadline_ms - clock.t_ms)
    assert deadlines == [200, 400, 800, 1_000]


def test_view_sync_starts_after_the_configured_consecutive_timeouts():
    pm = Pacemaker(CFG, ManualClock(0))
    assert not pm.in_view_sync()
    pm.advance(2, high_qc_view=0)
    assert not pm.in_view_sync()
    pm.advance(3, high_qc_view=0)
    assert pm.in_view_sync()
    pm.advance(4, high_qc_view=3)
    assert not pm.in_view_sync()


def test_views_never_go_backwards():
    pm = Pacemaker(CFG, ManualClock(0), start_view=10)
    assert not pm.advance(9, 8) and not pm.advance(10, 9)
    assert pm.view == 10


def test_views_far_ahead_are_flagged_as_spam():
    pm = Pacemaker(CFG, ManualClock(0), start_view=10)
    assert not pm.is_future(60) and pm.is_future(61)


def test_restart_resumes_with_the_backoff_of_its_certificates():
    pm = Pacemaker(CFG, ManualClock(0), start_view=7, high_qc_view=4)
    assert pm.consecutive_timeouts == 2 and pm.timeout_ms() == 400
