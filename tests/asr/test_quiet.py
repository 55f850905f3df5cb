"""quiet_logging silences only the thread that runs the model: the transmitter prints its progress from another."""

import sys
import threading

from host_pipeline.asr._quiet import quiet_logging


def test_quiet_block_in_one_thread_leaves_other_threads_prints_alone(capsys):
    inside, release = threading.Event(), threading.Event()

    def model_thread():
        with quiet_logging():
            print("progress bar of a third-party model")
            inside.set()
            release.wait(5)
            print("more of it")

    t = threading.Thread(target=model_thread)
    t.start()
    assert inside.wait(5)
    print("transmitter: [1] sent")  # while the other thread is inside its quiet block
    release.set()
    t.join(5)
    out = capsys.readouterr().out
    assert "transmitter: [1] sent" in out
    assert "third-party" not in out and "more of it" not in out


def test_nested_and_finished_blocks_restore_stdout():
    before = sys.stdout
    with quiet_logging():
        with quiet_logging():
            print("hidden")
        print("still hidden")
    assert sys.stdout is before
