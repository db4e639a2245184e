"""The live hub's hand-off with the pipeline thread: a tick encodes while the pipeline is
parked at a batch boundary, with the picture of that boundary; an idle pipeline is not
waited for. Ordering is checked, not durations."""

import threading
import time

import numpy as np

from picket.serve import LiveHub
from picket.serve.picture import Picture


def test_tick_encodes_while_the_pipeline_is_parked_at_a_batch_boundary():
    hub = LiveHub(tick_s=5.0)
    hub.pipeline_busy = lambda: True  # a pipeline in the middle of a batch
    order, out = [], {}
    fresh = Picture.empty()

    def ticker():
        out["parked"] = hub._wait_for_pipeline()
        out["picture"] = hub.current()
        order.append("encode")
        hub._release()

    th = threading.Thread(target=ticker)
    th.start()
    while not hub._want:  # the tick has asked for the next boundary
        time.sleep(0.001)
    parked = hub.at_batch_end(lambda: (order.append("push"), hub.set_picture(fresh)))
    order.append("resumed")
    th.join(timeout=10)
    assert parked and out["parked"] and out["picture"] is fresh
    assert order == ["push", "encode", "resumed"]
    # with no tick waiting, a batch end goes straight on and pushes nothing
    assert not hub.at_batch_end(lambda: order.append("pushed anyway"))
    assert order[-1] == "resumed"


def test_an_idle_pipeline_is_not_waited_for():
    hub = LiveHub(tick_s=5.0)
    assert hub.last_batch == -np.inf and not hub.pipeline_busy()
    assert hub._wait_for_pipeline() is False and hub._want == 0
    # a pipeline thread that ended a batch and now sleeps: its CPU clock stands still
    done = threading.Event()
    th = threading.Thread(target=lambda: (hub.at_batch_end(lambda: None), done.wait(10)))
    th.start()
    while hub.pipeline_thread is None:
        time.sleep(0.001)
    try:
        assert not hub.pipeline_busy(probe_s=0.02)
    finally:
        done.set()
        th.join()


def test_a_working_pipeline_thread_is_seen_busy():
    hub = LiveHub(tick_s=5.0)
    stop = threading.Event()

    def work():
        hub.at_batch_end(lambda: None)
        x = np.random.default_rng(0).random(200_000)
        while not stop.is_set():
            np.sort(x)  # CPU work, as a batch in progress

    th = threading.Thread(target=work)
    th.start()
    while hub.pipeline_thread is None:
        time.sleep(0.001)
    try:
        assert hub.pipeline_busy(probe_s=0.02)
    finally:
        stop.set()
        th.join()
