"""Output folders checked before any compute."""

import threading

from muonscope.app.output_paths import check_output_file, check_writable


def test_commands_checking_one_folder_at_once_do_not_refuse_each_other(tmp_path):
    """Several shots started together into one folder: each one's writability check stands alone."""
    refusals: list[Exception] = []

    def check_many() -> None:
        for n in range(300):
            try:
                check_output_file(tmp_path / f"picture{n}.png")
            except Exception as exc:  # any refusal is the failure counted
                refusals.append(exc)

    threads = [threading.Thread(target=check_many) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert refusals == []
    assert list(tmp_path.iterdir()) == []  # the probes are gone


def test_a_check_leaves_the_folder_as_it_was(tmp_path):
    (tmp_path / "kept.txt").write_text("x")
    check_writable(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["kept.txt"]
