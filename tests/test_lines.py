from deploy_tui.remote.lines import LineSplitter


def test_lines_cut_anywhere_come_out_whole_and_in_order() -> None:
    data = "".join(f"line {i}\n" for i in range(1000)).encode()
    splitter = LineSplitter()
    out: list[str] = []
    for start in range(0, len(data), 7):
        out += splitter.feed(data[start : start + 7]).lines
    out += splitter.close()
    assert out == [f"line {i}" for i in range(1000)]


def test_a_utf8_character_split_between_chunks_is_kept() -> None:
    data = "naïve ☃\n".encode()
    splitter = LineSplitter()
    lines = [line for byte in data for line in splitter.feed(bytes([byte])).lines]
    assert lines == ["naïve ☃"]


def test_carriage_returns_become_updates_then_the_final_line() -> None:
    splitter = LineSplitter()
    first = splitter.feed(b"Downloading 10%\r")
    assert first.lines == []
    assert first.update == "Downloading 10%"
    second = splitter.feed(b"Downloading 60%\rDownl")
    assert second.update == "Downl"
    third = splitter.feed(b"oading 100%\n")
    assert third.lines == ["Downloading 100%"]
    assert third.update is None


def test_crlf_lines_lose_the_carriage_return() -> None:
    assert LineSplitter().feed(b"windows\r\nstyle\r\n").lines == ["windows", "style"]


def test_an_unchanged_tail_is_not_reported_again() -> None:
    splitter = LineSplitter()
    assert splitter.feed(b"50%\r").update == "50%"
    assert splitter.feed(b"").update is None


def test_last_line_without_newline_is_flushed_at_close() -> None:
    splitter = LineSplitter()
    assert splitter.feed(b"no newline").lines == []
    assert splitter.close() == ["no newline"]
    assert splitter.close() == []


def test_invalid_utf8_is_replaced_not_fatal() -> None:
    assert LineSplitter().feed(b"bad \xff byte\n").lines == ["bad \ufffd byte"]
