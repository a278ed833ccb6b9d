"""The forked worker's process handle (neurospice.sim.early.ForkedWorker) behaves as the parts
of subprocess.Popen that a Worker uses: poll, wait (with its timeout), kill, returncode."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from neurospice.sim.early import ForkedWorker


def _fork(seconds: float, status: int) -> ForkedWorker:
    r_in, w_in = os.pipe()
    r_err, w_err = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child only sleeps (no import after the fork)
        time.sleep(seconds)
        os._exit(status)
    os.close(r_in)
    os.close(w_err)
    return ForkedWorker(pid, w_in, r_err)


def _close(proc: ForkedWorker) -> None:
    proc.stdin.close()
    proc.stderr.close()


def test_poll_and_wait_report_the_exit_status() -> None:
    proc = _fork(0.2, 3)
    assert proc.poll() is None and proc.returncode is None
    with pytest.raises(subprocess.TimeoutExpired):
        proc.wait(timeout=0.02)
    assert proc.wait(timeout=10) == 3
    assert proc.poll() == 3 and proc.returncode == 3
    _close(proc)


def test_kill_ends_it_with_sigkill_and_is_harmless_once_it_ended() -> None:
    proc = _fork(30, 0)
    proc.kill()
    assert proc.wait() == -9
    proc.kill()  # reaped already: no signal to a recycled pid, no error
    assert proc.returncode == -9
    _close(proc)
